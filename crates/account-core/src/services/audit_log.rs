//! Reading the audit log (rule 21): an admin reads their own organisation's, nobody reads
//! another's.

use super::common::acting_admin;
use super::profile::AccessError;
use super::{Actor, Context};
use crate::domain::audit::{AuditCursor, AuditEntry};
use crate::ports::Page;

/// Most entries one page holds.
pub const MAX_PAGE: u32 = 200;

/// The audit log.
#[derive(Debug)]
pub struct AuditService<'a> {
    ctx: &'a Context,
}

impl<'a> AuditService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// A page of the caller's organisation's log, newest first (admins).
    ///
    /// # Errors
    /// [`AccessError`].
    pub async fn list(
        &self,
        actor: &Actor,
        page: Page<AuditCursor>,
    ) -> Result<Vec<AuditEntry>, AccessError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let admin = acting_admin(tx.as_mut(), actor).await?;
        let page = Page { after: page.after, limit: page.limit.clamp(1, MAX_PAGE) };
        Ok(tx.audit().list(admin.org_id, page).await?)
    }
}
