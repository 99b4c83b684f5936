//! Email-change flows, at most one per member.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::email_change::EmailChange;
use crate::ids::MemberId;

/// Email-change flows, at most one per member.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait EmailChangeRepo: Send {
    /// The member's flow, if any.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, member: MemberId) -> Result<Option<EmailChange>, StoreError>;
    /// Creates or replaces the member's flow.
    ///
    /// # Errors
    /// Driver failures only.
    async fn put(&mut self, flow: &EmailChange) -> Result<(), StoreError>;
    /// Removes the member's flow, if any.
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete(&mut self, member: MemberId) -> Result<(), StoreError>;
}
