//! Abuse limits' state (rule 24): one instant per budget key (see `domain::limits`), and the
//! clients known to have logged into an address.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// Budgets' states and known clients, in the database, so that every process counts the
/// same attempts.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait LimitRepo: Send {
    /// Reads the state of each key and locks it until the unit ends, in ascending key order
    /// (the last level of the lock order), so that concurrent attempts on one key serialise
    /// and each sees the ones committed before it. Returns one state per key, in the order of
    /// `keys`, which the caller sorts and de-duplicates; a key never used, or forgotten,
    /// reads as `None`.
    ///
    /// # Errors
    /// Driver failures only.
    async fn lock(&mut self, keys: &[String]) -> Result<Vec<Option<DateTime<Utc>>>, StoreError>;
    /// Stores each key's state, all in one write (a unit takes or refunds every budget of an
    /// attempt at once); where a key is given twice, its last state.
    ///
    /// # Errors
    /// Driver failures only.
    async fn put(&mut self, states: &[(String, DateTime<Utc>)]) -> Result<(), StoreError>;
    /// Whether `key` names a client remembered until after `now`.
    ///
    /// # Errors
    /// Driver failures only.
    async fn known(&mut self, key: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Remembers a client until `until` (replacing an earlier date).
    ///
    /// # Errors
    /// Driver failures only.
    async fn remember(&mut self, key: &str, until: DateTime<Utc>) -> Result<(), StoreError>;
    /// Forgets states at or before `now` (a full budget needs no row) and clients remembered
    /// until then; returns how many rows went.
    ///
    /// # Errors
    /// Driver failures only.
    async fn purge(&mut self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}
