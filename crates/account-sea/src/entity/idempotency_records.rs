//! The `idempotency_records` table: Idempotency-Key records of the use cases.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_records")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_key: String,
    pub fingerprint: String,
    /// The use case's outcome, as JSON; absent only in records an older server left.
    pub outcome: Option<String>,
    pub created_at: DateTimeUtc,
}

debug_keys_only!(scope, created_at);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
