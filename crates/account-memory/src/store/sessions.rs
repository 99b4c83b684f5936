//! Sessions (with their impersonations) and API keys in memory.

use std::collections::BTreeSet;

use account_core::domain::session::{ApiKey, Session};
use account_core::ids::{ApiKeyId, MemberId, SessionId};
use account_core::ports::{ApiKeyRepo, SessionRepo, StoreError, UniqueKey};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{MemTx, State};

fn remove_sessions(s: &mut State, doomed: &BTreeSet<SessionId>) {
    s.sessions.retain(|id, session| {
        !doomed.contains(id)
            && !session.impersonation.as_ref().is_some_and(|i| doomed.contains(&i.admin_session_id))
    });
}

#[async_trait]
impl SessionRepo for MemTx {
    async fn insert(&mut self, session: &Session) -> Result<(), StoreError> {
        let s = self.w("sessions.insert")?;
        if s.sessions.contains_key(&session.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        s.sessions.insert(session.id, session.clone());
        Ok(())
    }
    async fn get(&mut self, id: SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.s().sessions.get(&id).cloned())
    }
    async fn touch(&mut self, id: SessionId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let s = self.w("sessions.touch")?;
        if let Some(session) = s.sessions.get_mut(&id) {
            session.last_seen_at = session.last_seen_at.max(at);
        }
        Ok(())
    }
    async fn delete(&mut self, id: SessionId) -> Result<(), StoreError> {
        let s = self.w("sessions.delete")?;
        remove_sessions(s, &BTreeSet::from([id]));
        Ok(())
    }
    async fn delete_for_member(
        &mut self,
        member: MemberId,
        keep: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let s = self.w("sessions.delete_for_member")?;
        let doomed: BTreeSet<SessionId> = s
            .sessions
            .values()
            .filter(|x| x.member_id == member && Some(x.id) != keep)
            .map(|x| x.id)
            .collect();
        remove_sessions(s, &doomed);
        Ok(doomed.len() as u64)
    }
    async fn list_for_member(&mut self, member: MemberId) -> Result<Vec<Session>, StoreError> {
        let mut items: Vec<_> =
            self.s().sessions.values().filter(|x| x.member_id == member).cloned().collect();
        items.sort_by_key(|x| (x.created_at, x.id));
        Ok(items)
    }
    async fn children(&mut self, admin_session: SessionId) -> Result<Vec<Session>, StoreError> {
        Ok(self
            .s()
            .sessions
            .values()
            .filter(|x| {
                x.impersonation.as_ref().is_some_and(|i| i.admin_session_id == admin_session)
            })
            .cloned()
            .collect())
    }
    async fn delete_expired(&mut self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let s = self.w("sessions.delete_expired")?;
        let doomed: BTreeSet<SessionId> =
            s.sessions.values().filter(|x| x.expires_at <= now).map(|x| x.id).collect();
        let before = s.sessions.len();
        remove_sessions(s, &doomed);
        Ok((before - s.sessions.len()) as u64)
    }
}

#[async_trait]
impl ApiKeyRepo for MemTx {
    async fn insert(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        let s = self.w("api_keys.insert")?;
        if s.api_keys.contains_key(&key.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        s.api_keys.insert(key.id, key.clone());
        Ok(())
    }
    async fn get(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.s().api_keys.get(&id).cloned())
    }
    async fn list_for_member(&mut self, member: MemberId) -> Result<Vec<ApiKey>, StoreError> {
        let mut items: Vec<_> =
            self.s().api_keys.values().filter(|k| k.member_id == member).cloned().collect();
        items.sort_by_key(|k| (k.created_at, k.id));
        Ok(items)
    }
    async fn touch(&mut self, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let s = self.w("api_keys.touch")?;
        if let Some(key) = s.api_keys.get_mut(&id) {
            key.last_used_at = Some(key.last_used_at.map_or(at, |t| t.max(at)));
        }
        Ok(())
    }
    async fn delete(&mut self, id: ApiKeyId) -> Result<(), StoreError> {
        let s = self.w("api_keys.delete")?;
        s.api_keys.remove(&id).map(|_| ()).ok_or(StoreError::NotFound)
    }
    async fn delete_for_member(&mut self, member: MemberId) -> Result<u64, StoreError> {
        let s = self.w("api_keys.delete_for_member")?;
        let before = s.api_keys.len();
        s.api_keys.retain(|_, k| k.member_id != member);
        Ok((before - s.api_keys.len()) as u64)
    }
}
