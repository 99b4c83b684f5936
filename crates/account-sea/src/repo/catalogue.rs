//! `CatalogueRepo` over the `products` table. Names are unique case-insensitively through the
//! `name_key` column (`ProductName::key()`).

use account_core::domain::products::{Product, ProductName};
use account_core::ids::ProductId;
use account_core::ports::{CatalogueRepo, StoreError};
use async_trait::async_trait;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{micros, parse};
use crate::entity::products::{ActiveModel, Column, Entity, Model};
use crate::error::db_err;
use crate::store::SeaTx;

fn row(p: &Product) -> ActiveModel {
    ActiveModel {
        id: Set(p.id.as_uuid()),
        name: Set(p.name.as_str().to_owned()),
        name_key: Set(p.name.key()),
        active: Set(p.active),
        created_at: Set(micros(p.created_at)),
    }
}

fn product(m: Model) -> Result<Product, StoreError> {
    Ok(Product {
        id: ProductId::from_uuid(m.id),
        name: parse("products.name", ProductName::from_stored(&m.name))?,
        active: m.active,
        created_at: m.created_at,
    })
}

#[async_trait]
impl CatalogueRepo for SeaTx {
    async fn list(&mut self) -> Result<Vec<Product>, StoreError> {
        let rows = Entity::find().all(&self.r()).await.map_err(db_err)?;
        let mut items = rows.into_iter().map(product).collect::<Result<Vec<_>, _>>()?;
        // Ordered here, not by the database, so that the order is by code point on both
        // backends (a PostgreSQL collation would order otherwise); the catalogue is small.
        items.sort_by_key(|p| p.name.key());
        Ok(items)
    }

    async fn insert(&mut self, p: &Product) -> Result<(), StoreError> {
        self.exec_guarded(Entity::insert(row(p))).await?;
        Ok(())
    }

    async fn update(&mut self, p: &Product) -> Result<(), StoreError> {
        let mut changes = row(p);
        changes.id = NotSet;
        let update = Entity::update_many().set(changes).filter(Column::Id.eq(p.id.as_uuid()));
        if self.exec_guarded(update).await? == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get(&mut self, id: ProductId) -> Result<Option<Product>, StoreError> {
        let found = Entity::find_by_id(id.as_uuid()).one(&self.r()).await.map_err(db_err)?;
        found.map(product).transpose()
    }
}
