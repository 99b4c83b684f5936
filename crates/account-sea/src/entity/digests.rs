//! The `digests` table: at most one scheduled digest per member.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "digests")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: Uuid,
    pub due_at: DateTimeUtc,
    pub timezone: String,
}

debug_keys_only!(member_id, due_at);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
