//! What authentication read for a session, kept for as long as the store's change stamp says
//! nothing committed since, so that a busy client's requests do not read the same rows again.
//!
//! An entry is the store's answer to one read (the session, its member, their organisation),
//! stored under the stamp read *before* the unit that read it was opened: the read saw at least
//! the state that stamp names, so while the stamp reads the same, reading again would give the
//! same answer. Any commit anywhere changes the stamp and so retires every entry at once: a
//! revoked session or a disabled member is refused on the next request (rules 3, 18). Every
//! check (token secret, lifetimes, member status) still runs on each request on what is kept.
//!
//! Impersonation sessions are not kept (the caller does not offer them): their checks read
//! two more rows.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::domain::member::Member;
use crate::domain::organisation::Organisation;
use crate::domain::session::Session;
use crate::ids::SessionId;
use crate::ports::ChangeStamp;

/// Most sessions kept (each entry is the session, member and organisation rows with their
/// text); past this, entries from older stamps go first, then any.
pub(crate) const CAPACITY: usize = 1024;

/// The store's answer for one session: the session, and its member and their organisation if
/// they exist (an erased member or a missing organisation is kept as `None`, as read).
#[derive(Clone)]
pub(crate) struct SessionRead {
    pub session: Session,
    pub member: Option<Member>,
    pub organisation: Option<Organisation>,
}

/// Values by session id, each under the change stamp it was read at.
pub(crate) struct Kept<V> {
    entries: Mutex<HashMap<SessionId, (ChangeStamp, V)>>,
}

/// The reads authentication keeps.
pub(crate) type SessionReads = Kept<SessionRead>;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> SessionId {
        SessionId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn a_value_is_served_only_under_the_stamp_it_was_read_at() {
        let kept = Kept::default();
        let (old, new) = (ChangeStamp::new(1), ChangeStamp::new(2));
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
        let (old, new) = (ChangeStamp::new(1), ChangeStamp::new(2));
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
