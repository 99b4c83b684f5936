//! The `members` table. An erased member keeps its row (`erased_at` set, personal data NULL).

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "members")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub role: String,
    pub status: String,
    pub plan: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub password_hash: Option<String>,
    pub invitation_digest: Option<Vec<u8>>,
    pub invitation_expires_at: Option<DateTimeUtc>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub linkedin: Option<String>,
    pub profile_version: i64,
    pub notify_low_credits: bool,
    pub notify_weekly_digest: bool,
    pub notify_product_news: bool,
    pub export_format: String,
    pub export_include_emails: bool,
    pub export_include_phones: bool,
    pub timezone: String,
    pub offerings: String,
    pub created_at: DateTimeUtc,
    pub erased_at: Option<DateTimeUtc>,
    pub reset_digest: Option<Vec<u8>>,
    pub reset_expires_at: Option<DateTimeUtc>,
}

debug_keys_only!(id, org_id);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {
    /// The member's organisation: `GET /me` reads both in one join.
    #[sea_orm(
        belongs_to = "super::organisations::Entity",
        from = "Column::OrgId",
        to = "super::organisations::Column::Id"
    )]
    Organisation,
}

impl Related<super::organisations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organisation.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
