//! The `known_clients` table: clients known to have logged into an address, until a date.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "known_clients")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub until: DateTimeUtc,
}

debug_keys_only!(until);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
