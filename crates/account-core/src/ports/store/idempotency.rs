//! Idempotency-Key records: reserved, completed and replayed inside a use case's unit.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::idempotency::Outcome;

/// What an idempotency key recorded: who and what it is scoped to, the request's
/// fingerprint, and what the use case did. The record is inserted first in the use case's
/// unit and completed with the outcome in the same unit, so a committed record always holds
/// its outcome (`None` only in records an older server left).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Who and what the key is scoped to, such as `member:<id>:allocate`.
    pub scope: String,
    /// The client's key.
    pub key: String,
    /// A keyed digest of the request, to refuse the same key for another request.
    pub fingerprint: String,
    /// What the use case did.
    pub outcome: Option<Outcome>,
    /// When the key was first used.
    pub created_at: DateTime<Utc>,
}

/// Idempotency records.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait IdempotencyRepo: Send {
    /// Reads a record.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(
        &mut self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Reserves a key: the first statement of a use case's unit, so that it is also the first lock
    /// the unit takes. While another unit holds an uncommitted record of the same scope and key,
    /// this waits for that unit to end (PostgreSQL's unique index does; the other stores serialise
    /// write units whole), then reserves the key or reports it taken. A refused insert leaves the
    /// unit usable.
    ///
    /// # Errors [`StoreError::Conflict`] with
    /// [`UniqueKey::IdempotencyKey`](super::UniqueKey::IdempotencyKey) if it is taken.
    async fn insert(&mut self, record: &IdempotencyRecord) -> Result<(), StoreError>;
    /// Records the outcome of a key reserved in this unit.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn complete(
        &mut self,
        scope: &str,
        key: &str,
        outcome: &Outcome,
    ) -> Result<(), StoreError>;
    /// Forgets a key (one past its retention, before it is reserved again).
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete(&mut self, scope: &str, key: &str) -> Result<(), StoreError>;
    /// Forgets records older than `before`; returns how many.
    ///
    /// # Errors
    /// Driver failures only.
    async fn purge(&mut self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
