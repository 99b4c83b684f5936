//! Idempotency-Key records in memory.

use account_core::domain::idempotency::Outcome;
use account_core::ports::{IdempotencyRecord, IdempotencyRepo, StoreError, UniqueKey};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemTx;

#[async_trait]
impl IdempotencyRepo for MemTx {
    async fn get(
        &mut self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(self.s().idempotency.get(&(scope.to_owned(), key.to_owned())).cloned())
    }
    async fn insert(&mut self, record: &IdempotencyRecord) -> Result<(), StoreError> {
        let s = self.w("idempotency.insert")?;
        let k = (record.scope.clone(), record.key.clone());
        if s.idempotency.contains_key(&k) {
            return Err(StoreError::Conflict(UniqueKey::IdempotencyKey));
        }
        s.idempotency.insert(k, record.clone());
        Ok(())
    }
    async fn complete(
        &mut self,
        scope: &str,
        key: &str,
        outcome: &Outcome,
    ) -> Result<(), StoreError> {
        let s = self.w("idempotency.complete")?;
        let record = s
            .idempotency
            .get_mut(&(scope.to_owned(), key.to_owned()))
            .ok_or(StoreError::NotFound)?;
        record.outcome = Some(outcome.clone());
        Ok(())
    }
    async fn delete(&mut self, scope: &str, key: &str) -> Result<(), StoreError> {
        let s = self.w("idempotency.delete")?;
        s.idempotency.remove(&(scope.to_owned(), key.to_owned()));
        Ok(())
    }
    async fn purge(&mut self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let s = self.w("idempotency.purge")?;
        let n = s.idempotency.len();
        s.idempotency.retain(|_, r| r.created_at >= before);
        Ok((n - s.idempotency.len()) as u64)
    }
}
