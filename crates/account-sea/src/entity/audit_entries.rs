//! The `audit_entries` table (append-only).

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_entries")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Option<Uuid>,
    pub at: DateTimeUtc,
    pub actor_kind: String,
    pub actor_member_id: Option<Uuid>,
    pub acting_as: Option<Uuid>,
    pub action: String,
    pub target: String,
    pub detail: String,
}

debug_keys_only!(id, action);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
