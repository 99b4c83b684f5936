//! Scheduled digests in memory.

use account_core::domain::digest::ScheduledDigest;
use account_core::ids::MemberId;
use account_core::ports::{DigestRepo, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemTx;

#[async_trait]
impl DigestRepo for MemTx {
    async fn get(&mut self, member: MemberId) -> Result<Option<ScheduledDigest>, StoreError> {
        Ok(self.s().digests.get(&member).copied())
    }
    async fn put(&mut self, digest: &ScheduledDigest) -> Result<(), StoreError> {
        let s = self.w("digests.put")?;
        s.digests.insert(digest.member_id, *digest);
        Ok(())
    }
    async fn delete(&mut self, member: MemberId) -> Result<(), StoreError> {
        let s = self.w("digests.delete")?;
        s.digests.remove(&member);
        Ok(())
    }
    async fn due(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ScheduledDigest>, StoreError> {
        let mut items: Vec<_> =
            self.s().digests.values().filter(|d| d.due_at <= now).copied().collect();
        items.sort_by_key(|d| (d.due_at, d.member_id));
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(items)
    }
}
