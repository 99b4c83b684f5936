//! [`KeptSessions`]: a decorator around a SQLite [`SeaStore`] that keeps what authentication
//! read for a session (the session, its member, their organisation) for as long as the
//! database's change stamp says nothing committed since, so that a busy client's requests do
//! not read the same rows again. The core's authentication is read, pure checks, touch; this
//! is where the read may be served from memory.
//!
//! An entry is the store's answer to one read, stored under the stamp read *before* the lookup
//! unit that read it was opened: the read saw at least the state that stamp names, so while
//! the stamp reads the same, reading again would give the same answer. Any commit anywhere, in
//! any process on the same database, changes the stamp and so retires every entry at once: a
//! revoked session or a disabled member is refused on the next request (rules 3, 18). Every
//! check (token secret, lifetimes, member status, impersonation) still runs in the core on
//! each request, on what is kept. Only existing sessions are kept, and session ids carry 62
//! random bits, so entries cannot be made up to crowd real ones out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use account_core::domain::member::Member;
use account_core::domain::organisation::Organisation;
use account_core::domain::session::{ApiKey, Session};
use account_core::ids::{ApiKeyId, MemberId, SessionId};
use account_core::ports::{
    Activity, ApiKeyRepo, AuditRepo, CatalogueRepo, ContactRepo, CreditRepo, DigestRepo,
    EmailChangeRepo, IdempotencyRepo, LimitRepo, MemberRepo, OrganisationRepo, OutboxRepo,
    SessionRepo, Store, StoreError, Tx,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::store::SeaStore;
use crate::wal_index::ChangeStamp;

/// Most sessions kept (each entry is the session, member and organisation rows with their
/// text); past this, entries from older stamps go first, then any.
pub(crate) const CAPACITY: usize = 1024;

/// The store's answer for one session: the session, and its member and their organisation if
/// they exist (an erased member or a missing organisation is kept as `None`, as read).
#[derive(Clone)]
struct SessionRead {
    session: Session,
    member: Option<Member>,
    organisation: Option<Organisation>,
}

/// Values by session id, each under the change stamp it was read at.
pub(crate) struct Kept<V> {
    entries: Mutex<HashMap<SessionId, (ChangeStamp, V)>>,
}

impl<V> Default for Kept<V> {
    fn default() -> Self {
        Self { entries: Mutex::new(HashMap::new()) }
    }
}

impl<V> std::fmt::Debug for Kept<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept").field("len", &self.len()).finish()
    }
}

impl<V> Kept<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, (ChangeStamp, V)>> {
        // An entry is replaced whole, so a panic elsewhere cannot leave one half-written.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value kept for `id`, if it was read under `stamp`.
    pub fn get(&self, id: SessionId, stamp: ChangeStamp) -> Option<V>
    where
        V: Clone,
    {
        self.lock().get(&id).filter(|(at, _)| *at == stamp).map(|(_, value)| value.clone())
    }

    /// Keeps `value`, read in a unit opened after the store's stamp read `stamp`. At
    /// [`CAPACITY`], entries under other stamps go first, then an arbitrary one.
    pub fn put(&self, id: SessionId, stamp: ChangeStamp, value: V) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY && !entries.contains_key(&id) {
            entries.retain(|_, (at, _)| *at == stamp);
            if entries.len() >= CAPACITY
                && let Some(victim) = entries.keys().next().copied()
            {
                entries.remove(&victim);
            }
        }
        entries.insert(id, (stamp, value));
    }

    /// How many values are kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

/// The store ports of a SQLite [`SeaStore`] on a file, with session reads kept while its
/// change stamp holds (see the module documentation). Everything but a lookup unit's session
/// reads goes to the store as it is.
pub struct KeptSessions {
    inner: SeaStore,
    reads: Arc<Kept<SessionRead>>,
}

impl std::fmt::Debug for KeptSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeptSessions").field("kept", &self.reads.len()).finish_non_exhaustive()
    }
}

impl KeptSessions {
    /// Keeps session reads over `store` when it stamps its commits (SQLite on a file);
    /// otherwise gives `store` back, to be used as it is (PostgreSQL reads every time).
    ///
    /// # Errors
    /// `store` itself, when it cannot stamp its commits.
    pub fn wrap(store: SeaStore) -> Result<Self, SeaStore> {
        if store.stamps_commits() {
            Ok(Self { inner: store, reads: Arc::default() })
        } else {
            Err(store)
        }
    }

    /// The store underneath.
    #[must_use]
    pub fn store(&self) -> &SeaStore {
        &self.inner
    }

    /// How many sessions are kept now.
    #[must_use]
    pub fn kept(&self) -> usize {
        self.reads.len()
    }
}

#[async_trait]
impl Store for KeptSessions {
    async fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.inner.write().await
    }

    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.inner.read().await
    }

    async fn lookup(&self) -> Result<Box<dyn Tx>, StoreError> {
        // Read before the unit opens: what it reads afterwards is at least this recent.
        let stamp = self.inner.change_stamp();
        let inner = self.inner.lookup().await?;
        Ok(Box::new(KeptLookup { inner, stamp, reads: Arc::clone(&self.reads) }))
    }

    async fn record_activity(
        &self,
        used: &[Activity],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.record_activity(used, at).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}

/// A lookup unit whose session reads are served from, or kept in, [`KeptSessions`].
struct KeptLookup {
    inner: Box<dyn Tx>,
    stamp: Option<ChangeStamp>,
    reads: Arc<Kept<SessionRead>>,
}

#[async_trait]
impl Tx for KeptLookup {
    fn organisations(&mut self) -> &mut dyn OrganisationRepo {
        self.inner.organisations()
    }
    fn members(&mut self) -> &mut dyn MemberRepo {
        self.inner.members()
    }
    fn credits(&mut self) -> &mut dyn CreditRepo {
        self.inner.credits()
    }
    fn contacts(&mut self) -> &mut dyn ContactRepo {
        self.inner.contacts()
    }
    fn sessions(&mut self) -> &mut dyn SessionRepo {
        self.inner.sessions()
    }
    fn api_keys(&mut self) -> &mut dyn ApiKeyRepo {
        self.inner.api_keys()
    }
    fn email_changes(&mut self) -> &mut dyn EmailChangeRepo {
        self.inner.email_changes()
    }
    fn audit(&mut self) -> &mut dyn AuditRepo {
        self.inner.audit()
    }
    fn outbox(&mut self) -> &mut dyn OutboxRepo {
        self.inner.outbox()
    }
    fn catalogue(&mut self) -> &mut dyn CatalogueRepo {
        self.inner.catalogue()
    }
    fn digests(&mut self) -> &mut dyn DigestRepo {
        self.inner.digests()
    }
    fn idempotency(&mut self) -> &mut dyn IdempotencyRepo {
        self.inner.idempotency()
    }
    fn limits(&mut self) -> &mut dyn LimitRepo {
        self.inner.limits()
    }

    async fn session_and_member(
        &mut self,
        id: SessionId,
    ) -> Result<Option<(Session, Option<Member>)>, StoreError> {
        // Read (and kept) with the organisation, so that one entry serves every request.
        let read = self.session_member_and_organisation(id).await?;
        Ok(read.map(|(session, member, _)| (session, member)))
    }

    async fn session_member_and_organisation(
        &mut self,
        id: SessionId,
    ) -> Result<Option<(Session, Option<Member>, Option<Organisation>)>, StoreError> {
        if let Some(kept) = self.stamp.and_then(|stamp| self.reads.get(id, stamp)) {
            return Ok(Some((kept.session, kept.member, kept.organisation)));
        }
        let read = self.inner.session_member_and_organisation(id).await?;
        if let (Some(stamp), Some((session, member, organisation))) = (self.stamp, &read) {
            let kept = SessionRead {
                session: session.clone(),
                member: member.clone(),
                organisation: organisation.clone(),
            };
            self.reads.put(id, stamp, kept);
        }
        Ok(read)
    }

    async fn api_key_and_member(
        &mut self,
        id: ApiKeyId,
    ) -> Result<Option<(ApiKey, Option<Member>)>, StoreError> {
        self.inner.api_key_and_member(id).await
    }

    async fn member_and_organisation(
        &mut self,
        id: MemberId,
    ) -> Result<Option<(Member, Option<Organisation>)>, StoreError> {
        self.inner.member_and_organisation(id).await
    }

    async fn members_by_id(&mut self, ids: &[MemberId]) -> Result<Vec<Member>, StoreError> {
        self.inner.members_by_id(ids).await
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.inner.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> SessionId {
        SessionId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn a_value_is_served_only_under_the_stamp_it_was_read_at() {
        let kept = Kept::default();
        let (old, new) = (ChangeStamp::test(1), ChangeStamp::test(2));
        kept.put(id(1), old, "read at 1");
        assert_eq!(kept.get(id(1), old), Some("read at 1"));
        assert_eq!(kept.get(id(1), new), None);
        assert_eq!(kept.get(id(2), old), None);
        kept.put(id(1), new, "read at 2");
        assert_eq!(kept.get(id(1), new), Some("read at 2"));
        assert_eq!(kept.get(id(1), old), None);
    }

    #[test]
    fn it_never_holds_more_than_its_capacity_and_drops_older_stamps_first() {
        let kept = Kept::default();
        let (old, new) = (ChangeStamp::test(1), ChangeStamp::test(2));
        let n = u128::try_from(CAPACITY).unwrap();
        for i in 0..n - 1 {
            kept.put(id(i), old, i);
        }
        kept.put(id(n), new, n);
        assert_eq!(kept.len(), CAPACITY);
        // Full: the next one retires every entry read under an older stamp.
        kept.put(id(n + 1), new, n + 1);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept.get(id(n), new), Some(n));
        for i in 0..2 * n {
            kept.put(id(10_000 + i), new, i);
            assert!(kept.len() <= CAPACITY);
        }
        assert_eq!(kept.len(), CAPACITY);
        // Replacing a kept id (the last one put) needs no room.
        let last = id(10_000 + 2 * n - 1);
        let before: Vec<SessionId> = kept.lock().keys().copied().collect();
        kept.put(last, new, 7);
        assert_eq!(kept.get(last, new), Some(7));
        let after: Vec<SessionId> = kept.lock().keys().copied().collect();
        assert_eq!(before.len(), after.len());
        assert!(before.iter().all(|k| after.contains(k)), "nothing was dropped");
    }
}
