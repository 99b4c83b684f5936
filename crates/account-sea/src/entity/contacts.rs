//! The `contacts` table: an organisation's contact addresses.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub email_key: String,
    pub verified_at: Option<DateTimeUtc>,
    pub role_billing: bool,
    pub role_tech: bool,
    pub role_dpo: bool,
    pub code_digest: Option<Vec<u8>>,
    pub code_sent_at: Option<DateTimeUtc>,
    pub code_expires_at: Option<DateTimeUtc>,
    pub code_wrong_tries: Option<i32>,
    pub code_sends: Option<i32>,
    pub created_at: DateTimeUtc,
}

debug_keys_only!(id, org_id);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
