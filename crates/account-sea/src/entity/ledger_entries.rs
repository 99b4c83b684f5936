//! The `ledger_entries` table (append-only).

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ledger_entries")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: String,
    pub entry_type: String,
    pub amount: i64,
    pub member_id: Option<Uuid>,
    pub actor_kind: String,
    pub actor_member_id: Option<Uuid>,
    pub acting_as: Option<Uuid>,
    pub spender_id: Option<Uuid>,
    pub at: DateTimeUtc,
    pub reason: Option<String>,
    pub data_type: Option<String>,
    pub provider: Option<String>,
    pub event_id: Option<String>,
}

debug_keys_only!(id, org_id, entry_type);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
