//! The `limits` table: one abuse budget's state per key.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "limits")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub state: DateTimeUtc,
}

debug_keys_only!(state);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
