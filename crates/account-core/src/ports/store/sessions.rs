//! Sessions (impersonations included) and API keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::session::{ApiKey, Session};
use crate::ids::{ApiKeyId, MemberId, SessionId};

/// Sessions, impersonation sessions included.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SessionRepo: Send {
    /// Adds one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn insert(&mut self, session: &Session) -> Result<(), StoreError>;
    /// Reads one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, id: SessionId) -> Result<Option<Session>, StoreError>;
    /// Records activity.
    ///
    /// # Errors
    /// Driver failures only (a missing session is not an error).
    async fn touch(&mut self, id: SessionId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Ends one, and every impersonation session hanging on it.
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete(&mut self, id: SessionId) -> Result<(), StoreError>;
    /// Ends every session acting as `member` except `keep`, and every impersonation session
    /// hanging on the ended ones; returns how many sessions acting as `member` ended.
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete_for_member(
        &mut self,
        member: MemberId,
        keep: Option<SessionId>,
    ) -> Result<u64, StoreError>;
    /// Every session acting as `member`, oldest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list_for_member(&mut self, member: MemberId) -> Result<Vec<Session>, StoreError>;
    /// The impersonation sessions hanging on an admin's session.
    ///
    /// # Errors
    /// Driver failures only.
    async fn children(&mut self, admin_session: SessionId) -> Result<Vec<Session>, StoreError>;
    /// Deletes sessions whose absolute end is at or before `now` (and the impersonation
    /// sessions hanging on them); returns how many.
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete_expired(&mut self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// API keys.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ApiKeyRepo: Send {
    /// Adds one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn insert(&mut self, key: &ApiKey) -> Result<(), StoreError>;
    /// Reads one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError>;
    /// A member's keys, oldest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list_for_member(&mut self, member: MemberId) -> Result<Vec<ApiKey>, StoreError>;
    /// Records use.
    ///
    /// # Errors
    /// Driver failures only (a missing key is not an error).
    async fn touch(&mut self, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Removes one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn delete(&mut self, id: ApiKeyId) -> Result<(), StoreError>;
    /// Removes all of a member's keys; returns how many.
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete_for_member(&mut self, member: MemberId) -> Result<u64, StoreError>;
}
