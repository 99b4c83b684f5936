//! Organisations: insert, read, lock, update, list.

use async_trait::async_trait;

use super::{Page, StoreError};
use crate::domain::organisation::Organisation;
use crate::ids::OrganisationId;

/// Organisations.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait OrganisationRepo: Send {
    /// Adds an organisation.
    ///
    /// # Errors [`StoreError::Conflict`] with
    /// [`UniqueKey::PrimaryKey`](super::UniqueKey::PrimaryKey) if the id exists.
    async fn insert(&mut self, org: &Organisation) -> Result<(), StoreError>;
    /// Reads one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, id: OrganisationId) -> Result<Option<Organisation>, StoreError>;
    /// Reads one and locks it until the unit ends: every change to membership, licences or
    /// contacts of the organisation locks it first, so those changes serialise.
    ///
    /// # Errors
    /// Driver failures only.
    async fn lock(&mut self, id: OrganisationId) -> Result<Option<Organisation>, StoreError>;
    /// Replaces one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if it does not exist.
    async fn update(&mut self, org: &Organisation) -> Result<(), StoreError>;
    /// Lists organisations by id.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list(&mut self, page: Page<OrganisationId>) -> Result<Vec<Organisation>, StoreError>;
}
