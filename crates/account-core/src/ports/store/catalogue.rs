//! The products catalogue.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::products::Product;
use crate::ids::ProductId;

/// The products catalogue.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait CatalogueRepo: Send {
    /// Every entry, active or not, by name.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list(&mut self) -> Result<Vec<Product>, StoreError>;
    /// Adds one.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with [`UniqueKey::ProductName`](super::UniqueKey::ProductName).
    async fn insert(&mut self, product: &Product) -> Result<(), StoreError>;
    /// Replaces one.
    ///
    /// # Errors [`StoreError::NotFound`]; [`StoreError::Conflict`] with
    /// [`UniqueKey::ProductName`](super::UniqueKey::ProductName).
    async fn update(&mut self, product: &Product) -> Result<(), StoreError>;
    /// Reads one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, id: ProductId) -> Result<Option<Product>, StoreError>;
}
