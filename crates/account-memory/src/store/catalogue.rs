//! The products catalogue in memory.

use account_core::domain::products::Product;
use account_core::ids::ProductId;
use account_core::ports::{CatalogueRepo, StoreError, UniqueKey};
use async_trait::async_trait;

use super::MemTx;

#[async_trait]
impl CatalogueRepo for MemTx {
    async fn list(&mut self) -> Result<Vec<Product>, StoreError> {
        let mut items: Vec<_> = self.s().products.values().cloned().collect();
        items.sort_by_key(|p| p.name.key());
        Ok(items)
    }
    async fn insert(&mut self, product: &Product) -> Result<(), StoreError> {
        let s = self.w("catalogue.insert")?;
        if s.products.contains_key(&product.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        if s.products.values().any(|p| p.name.key() == product.name.key()) {
            return Err(StoreError::Conflict(UniqueKey::ProductName));
        }
        s.products.insert(product.id, product.clone());
        Ok(())
    }
    async fn update(&mut self, product: &Product) -> Result<(), StoreError> {
        let s = self.w("catalogue.update")?;
        if s.products.values().any(|p| p.id != product.id && p.name.key() == product.name.key()) {
            return Err(StoreError::Conflict(UniqueKey::ProductName));
        }
        let slot = s.products.get_mut(&product.id).ok_or(StoreError::NotFound)?;
        *slot = product.clone();
        Ok(())
    }
    async fn get(&mut self, id: ProductId) -> Result<Option<Product>, StoreError> {
        Ok(self.s().products.get(&id).cloned())
    }
}
