//! The products catalogue, for support: list, add, rename and (de)activate entries.

use super::{Operator, OperatorError, OperatorService, validation};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::products::{Product, ProductName};
use crate::ids::ProductId;
use crate::ports::{StoreError, UniqueKey};

impl OperatorService<'_> {
    /// Every catalogue entry, active or not.
    ///
    /// # Errors
    /// Store failures.
    pub async fn products(&self, _op: &Operator) -> Result<Vec<Product>, OperatorError> {
        let mut tx = self.ctx.ports.store.read().await?;
        Ok(tx.catalogue().list().await?)
    }

    /// Adds a catalogue entry.
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn create_product(
        &self,
        _op: &Operator,
        name: &str,
    ) -> Result<Product, OperatorError> {
        let name = ProductName::parse(name).map_err(|e| validation("name", e))?;
        let mut tx = self.ctx.ports.store.write().await?;
        if tx.catalogue().list().await?.iter().any(|p| p.name.key() == name.key()) {
            return Err(OperatorError::ProductNameTaken);
        }
        let product =
            Product { id: self.ctx.new_id(), name, active: true, created_at: self.ctx.now() };
        match tx.catalogue().insert(&product).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueKey::ProductName)) => {
                return Err(OperatorError::ProductNameTaken);
            }
            Err(other) => return Err(other.into()),
        }
        self.audit(
            tx.as_mut(),
            None,
            AuditAction::ProductCreated,
            AuditTarget::Product(product.id),
            String::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(product)
    }

    /// Renames or (de)activates a catalogue entry.
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn update_product(
        &self,
        _op: &Operator,
        id: ProductId,
        name: Option<&str>,
        active: Option<bool>,
    ) -> Result<Product, OperatorError> {
        let name = name.map(ProductName::parse).transpose().map_err(|e| validation("name", e))?;
        let mut tx = self.ctx.ports.store.write().await?;
        let mut product = tx.catalogue().get(id).await?.ok_or(OperatorError::ProductNotFound)?;
        if let Some(name) = name {
            if tx.catalogue().list().await?.iter().any(|p| p.id != id && p.name.key() == name.key())
            {
                return Err(OperatorError::ProductNameTaken);
            }
            product.name = name;
        }
        if let Some(active) = active {
            product.active = active;
        }
        match tx.catalogue().update(&product).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueKey::ProductName)) => {
                return Err(OperatorError::ProductNameTaken);
            }
            Err(other) => return Err(other.into()),
        }
        self.audit(
            tx.as_mut(),
            None,
            AuditAction::ProductUpdated,
            AuditTarget::Product(id),
            format!("active={}", product.active),
        )
        .await?;
        tx.commit().await?;
        Ok(product)
    }
}
