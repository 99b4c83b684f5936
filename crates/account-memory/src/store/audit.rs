//! The audit log in memory.

use account_core::domain::audit::{AuditCursor, AuditEntry};
use account_core::ids::OrganisationId;
use account_core::ports::{AuditRepo, Page, StoreError, UniqueKey};
use async_trait::async_trait;

use super::{MemTx, page};

#[async_trait]
impl AuditRepo for MemTx {
    async fn append(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        let s = self.w("audit.append")?;
        if s.audit.iter().any(|e| e.id == entry.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        s.audit.push(entry.clone());
        Ok(())
    }
    async fn list(
        &mut self,
        org: OrganisationId,
        p: Page<AuditCursor>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut items: Vec<_> =
            self.s().audit.iter().filter(|e| e.org_id == Some(org)).cloned().collect();
        items.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
        Ok(page(items.into_iter(), p, |e, c| (e.at, e.id) < (c.at, c.id)))
    }
}
