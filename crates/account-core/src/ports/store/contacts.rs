//! Contact addresses of an organisation.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::contact::ContactAddress;
use crate::ids::{ContactId, OrganisationId};

/// Contact addresses.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ContactRepo: Send {
    /// Adds one.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with [`UniqueKey::ContactEmail`](super::UniqueKey::ContactEmail).
    async fn insert(&mut self, contact: &ContactAddress) -> Result<(), StoreError>;
    /// An organisation's addresses, oldest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list(&mut self, org: OrganisationId) -> Result<Vec<ContactAddress>, StoreError>;
    /// Replaces one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn update(&mut self, contact: &ContactAddress) -> Result<(), StoreError>;
    /// Removes one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn delete(&mut self, id: ContactId) -> Result<(), StoreError>;
}
