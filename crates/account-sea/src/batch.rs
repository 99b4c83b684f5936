//! [`SessionReads`]: authentication's session reads on PostgreSQL, coalesced. Lookups of
//! sessions that wait at the same moment share one statement (`… WHERE sessions.id IN (…)`),
//! so a busy server sends PostgreSQL a few statements for many requests instead of one each.
//!
//! **Every read is fresh.** A lookup joins a queue; a reader takes the whole queue and only
//! then sends its statement. The statement therefore starts after every lookup it answers
//! was asked, and a PostgreSQL statement outside a transaction reads what was committed when
//! it started: a session revoked, a member disabled or an organisation changed by a commit
//! that finished before a request arrived, in any process, is seen by that request (rules 3,
//! 18). Nothing is kept between statements; a lookup never joins a statement already sent.
//!
//! At most [`READERS`] statements are in flight; while they all are, lookups queue, and the
//! next free reader takes up to [`MOST`] of them at once. An idle server therefore reads each
//! session at once, in a statement of its own. Readers are tasks of their own, so a request
//! that goes away (a client that disconnects) cannot cancel a statement others wait on; its
//! answer is dropped.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use account_core::domain::member::Member;
use account_core::domain::organisation::Organisation;
use account_core::domain::session::Session;
use account_core::ids::SessionId;
use account_core::ports::StoreError;
use sea_orm::DatabaseConnection;
use tokio::sync::oneshot;

use crate::repo::sessions::read_sessions;

/// A session, its member (if not erased) and their organisation, as one lookup reads them.
pub(crate) type SessionRead = (Session, Option<Member>, Option<Organisation>);

/// Most statements in flight at once.
pub(crate) const READERS: usize = 4;

/// Most sessions one statement reads. Statements are padded to a power of two (1, 2, 4, …
/// [`MOST`] ids) by repeating the last id, so that a connection prepares at most seven
/// shapes of it.
pub(crate) const MOST: usize = 64;

struct Waiter {
    id: SessionId,
    reply: oneshot::Sender<Result<Option<SessionRead>, StoreError>>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiter>,
    readers: usize,
}

/// Coalesced session reads over one pool (see the module documentation).
pub(crate) struct SessionReads {
    db: DatabaseConnection,
    queue: Mutex<Queue>,
    lookups: AtomicU64,
    statements: AtomicU64,
}

impl std::fmt::Debug for SessionReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (lookups, statements) = self.counts();
        f.debug_struct("SessionReads")
            .field("lookups", &lookups)
            .field("statements", &statements)
            .finish_non_exhaustive()
    }
}

impl SessionReads {
    pub(crate) fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            queue: Mutex::default(),
            lookups: AtomicU64::new(0),
            statements: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // The queue is changed by pushes and whole drains only: a panic cannot leave it
        // half-changed.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lookups answered and statements sent so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.lookups.load(Ordering::Relaxed), self.statements.load(Ordering::Relaxed))
    }

    /// The session `id` with its member and their organisation, read by a statement sent
    /// after this call began.
    pub(crate) async fn read(
        self: &Arc<Self>,
        id: SessionId,
    ) -> Result<Option<SessionRead>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let start_reader = {
            let mut queue = self.lock();
            queue.waiting.push(Waiter { id, reply });
            let start = queue.readers < READERS;
            queue.readers += usize::from(start);
            start
        };
        if start_reader {
            let reads = Arc::clone(self);
            tokio::spawn(async move { reads.serve().await });
        }
        answer.await.map_err(|_| StoreError::Other("the session read was abandoned".into()))?
    }

    #[cfg(test)]
    fn readers(&self) -> usize {
        self.lock().readers
    }

    /// A reader: sends one statement per drain of the queue until it finds the queue empty,
    /// and leaves in the same look, so that a lookup that saw every reader busy is always
    /// taken by one of them.
    async fn serve(self: Arc<Self>) {
        let mut leaving = Leaving { reads: Arc::clone(&self), done: false };
        loop {
            let batch: Vec<Waiter> = {
                let mut queue = self.lock();
                if queue.waiting.is_empty() {
                    queue.readers -= 1;
                    leaving.done = true;
                    return;
                }
                let n = queue.waiting.len().min(MOST);
                queue.waiting.drain(..n).collect()
            };
            self.answer(batch).await;
        }
    }

    /// Reads the sessions of `batch` in one statement and answers each waiter.
    async fn answer(&self, batch: Vec<Waiter>) {
        let mut ids: Vec<SessionId> = batch.iter().map(|w| w.id).collect();
        ids.sort_unstable_by_key(|id| id.as_uuid());
        ids.dedup();
        self.statements.fetch_add(1, Ordering::Relaxed);
        self.lookups.fetch_add(batch.len() as u64, Ordering::Relaxed);
        match read_sessions(&self.db, &padded(ids)).await {
            Ok(found) => {
                for waiter in batch {
                    let answer = match found.get(&waiter.id) {
                        Some(Ok(read)) => Ok(Some(read.clone())),
                        Some(Err(e)) => Err(again(e)),
                        None => Ok(None),
                    };
                    let _ = waiter.reply.send(answer);
                }
            }
            Err(e) => {
                for waiter in batch {
                    let _ = waiter.reply.send(Err(again(&e)));
                }
            }
        }
    }
}

/// Counts a reader out if it ends by a panic (its waiters' senders drop with it, so they get
/// an error rather than wait for ever), and starts another for whoever still waits.
struct Leaving {
    reads: Arc<SessionReads>,
    done: bool,
}

impl Drop for Leaving {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut queue = self.reads.lock();
        if queue.waiting.is_empty() {
            queue.readers -= 1;
        } else {
            drop(queue);
            let reads = Arc::clone(&self.reads);
            tokio::spawn(async move { reads.serve().await });
        }
    }
}

/// `ids` padded to the next power of two by repeating the last one.
fn padded(mut ids: Vec<SessionId>) -> Vec<SessionId> {
    if let Some(&last) = ids.last() {
        ids.resize(ids.len().next_power_of_two(), last);
    }
    ids
}

/// The same failure again, for each waiter of a statement: sources are reduced to their text.
fn again(e: &StoreError) -> StoreError {
    match e {
        StoreError::Conflict(key) => StoreError::Conflict(*key),
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Corrupt(what) => StoreError::Corrupt(what.clone()),
        StoreError::Unavailable(source) => StoreError::Unavailable(source.to_string().into()),
        StoreError::Other(source) => StoreError::Other(source.to_string().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> SessionId {
        SessionId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn statements_are_padded_to_a_power_of_two_with_the_last_id() {
        assert_eq!(padded(vec![]), vec![]);
        assert_eq!(padded(vec![id(1)]), vec![id(1)]);
        assert_eq!(padded(vec![id(1), id(2), id(3)]), vec![id(1), id(2), id(3), id(3)]);
        let many: Vec<SessionId> = (0..33).map(id).collect();
        let padded = padded(many.clone());
        assert_eq!(padded.len(), 64);
        assert_eq!(padded[..33], many[..]);
        assert!(padded[33..].iter().all(|&p| p == id(32)));
    }

    /// A reader that cannot reach the database answers every waiter with the failure, and
    /// every reader leaves: the next lookup starts one again.
    #[tokio::test]
    async fn a_failed_statement_fails_its_lookups_and_leaves_no_reader_behind() {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        db.clone().close().await.unwrap();
        let reads = Arc::new(SessionReads::new(db));
        let lookups: Vec<_> = (0..100)
            .map(|n| {
                let reads = Arc::clone(&reads);
                tokio::spawn(async move { reads.read(id(n)).await })
            })
            .collect();
        for lookup in lookups {
            assert!(lookup.await.unwrap().is_err());
        }
        // A reader leaves after it has answered: give the last one a moment.
        let start = std::time::Instant::now();
        while reads.readers() > 0 && start.elapsed() < std::time::Duration::from_secs(5) {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert_eq!(reads.readers(), 0);
        assert_eq!(reads.counts().0, 100);
        assert!(reads.read(id(1)).await.is_err(), "a later lookup is answered too");
    }
}
