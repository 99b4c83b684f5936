//! The `email_changes` table: at most one flow per member.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "email_changes")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: Uuid,
    pub id: Uuid,
    pub stage: String,
    pub new_email: Option<String>,
    pub code_digest: Option<Vec<u8>>,
    pub code_sent_at: Option<DateTimeUtc>,
    pub code_expires_at: Option<DateTimeUtc>,
    pub code_wrong_tries: Option<i32>,
    pub code_sends: Option<i32>,
    pub started_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

debug_keys_only!(member_id, id, stage);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
