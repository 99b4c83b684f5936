//! Scheduled weekly digests, at most one per member.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::digest::ScheduledDigest;
use crate::ids::MemberId;

/// Scheduled digests, at most one per member.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait DigestRepo: Send {
    /// The member's scheduled digest.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, member: MemberId) -> Result<Option<ScheduledDigest>, StoreError>;
    /// Creates or replaces the member's schedule.
    ///
    /// # Errors
    /// Driver failures only.
    async fn put(&mut self, digest: &ScheduledDigest) -> Result<(), StoreError>;
    /// Removes the member's schedule, if any.
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete(&mut self, member: MemberId) -> Result<(), StoreError>;
    /// Up to `limit` digests due at `now`, earliest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn due(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ScheduledDigest>, StoreError>;
}
