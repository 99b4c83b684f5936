//! The `consumption_rollups` table: consumption summed per spender, UTC day or month, kind,
//! data type and provider.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consumption_rollups")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// The nil id for a consumption without a spender.
    #[sea_orm(primary_key, auto_increment = false)]
    pub spender_id: Uuid,
    /// `day` or `month`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub unit: String,
    /// The first second of the UTC day or month, in Unix seconds.
    #[sea_orm(primary_key, auto_increment = false)]
    pub start: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub data_type: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub provider: String,
    pub amount: i64,
}

debug_keys_only!(org_id, unit, start);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
