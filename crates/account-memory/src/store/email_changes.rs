//! Email-change flows in memory.

use account_core::domain::email_change::EmailChange;
use account_core::ids::MemberId;
use account_core::ports::{EmailChangeRepo, StoreError};
use async_trait::async_trait;

use super::MemTx;

#[async_trait]
impl EmailChangeRepo for MemTx {
    async fn get(&mut self, member: MemberId) -> Result<Option<EmailChange>, StoreError> {
        Ok(self.s().email_changes.get(&member).cloned())
    }
    async fn put(&mut self, flow: &EmailChange) -> Result<(), StoreError> {
        let s = self.w("email_changes.put")?;
        s.email_changes.insert(flow.member_id, flow.clone());
        Ok(())
    }
    async fn delete(&mut self, member: MemberId) -> Result<(), StoreError> {
        let s = self.w("email_changes.delete")?;
        s.email_changes.remove(&member);
        Ok(())
    }
}
