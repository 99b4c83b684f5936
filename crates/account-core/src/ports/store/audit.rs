//! The append-only audit log.

use async_trait::async_trait;

use super::{Page, StoreError};
use crate::domain::audit::{AuditCursor, AuditEntry};
use crate::ids::OrganisationId;

/// The audit log (append-only).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AuditRepo: Send {
    /// Appends an entry.
    ///
    /// # Errors
    /// Driver failures only.
    async fn append(&mut self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// A page of an organisation's log, newest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list(
        &mut self,
        org: OrganisationId,
        page: Page<AuditCursor>,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
