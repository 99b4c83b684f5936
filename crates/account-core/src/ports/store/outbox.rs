//! The mail outbox: enqueue, lease due mails, record delivery or failure.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::mail::OutboxMail;
use crate::ids::MailId;

/// The mail outbox.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait OutboxRepo: Send {
    /// Adds a mail request.
    ///
    /// # Errors
    /// Driver failures only.
    async fn enqueue(&mut self, mail: &OutboxMail) -> Result<(), StoreError>;
    /// Takes up to `limit` unsent mails due at `now` and leases them until `lease_until` (their
    /// `next_attempt_at` becomes it), so that other workers skip them meanwhile. Must not hand
    /// one mail to two concurrent callers (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
    ///
    /// # Errors
    /// Driver failures only.
    async fn claim_due(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, StoreError>;
    /// Records delivery and forgets the sealed content.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn mark_sent(&mut self, id: MailId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Records a failed attempt and when to try again.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn reschedule(
        &mut self,
        id: MailId,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Mails not yet sent, oldest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn pending(&mut self, limit: u32) -> Result<Vec<OutboxMail>, StoreError>;
}
