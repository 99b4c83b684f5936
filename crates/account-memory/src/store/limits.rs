//! Abuse limits' state in memory.

use account_core::ports::{LimitRepo, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::MemTx;

#[async_trait]
impl LimitRepo for MemTx {
    async fn lock(&mut self, keys: &[String]) -> Result<Vec<Option<DateTime<Utc>>>, StoreError> {
        // Write units are serialised whole: reading is locking.
        Ok(keys.iter().map(|k| self.s().limits.get(k).copied()).collect())
    }
    async fn put(&mut self, states: &[(String, DateTime<Utc>)]) -> Result<(), StoreError> {
        let limits = &mut self.w("limits.put")?.limits;
        for (key, state) in states {
            limits.insert(key.clone(), *state);
        }
        Ok(())
    }
    async fn known(&mut self, key: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(self.s().known_clients.get(key).is_some_and(|until| *until > now))
    }
    async fn remember(&mut self, key: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        self.w("limits.remember")?.known_clients.insert(key.to_owned(), until);
        Ok(())
    }
    async fn purge(&mut self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let s = self.w("limits.purge")?;
        let before = s.limits.len() + s.known_clients.len();
        s.limits.retain(|_, state| *state > now);
        s.known_clients.retain(|_, until| *until > now);
        Ok((before - s.limits.len() - s.known_clients.len()) as u64)
    }
}
