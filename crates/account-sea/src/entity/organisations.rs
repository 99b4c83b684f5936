//! The `organisations` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisations")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub registration_number: String,
    /// The licences per plan, as JSON: `[{"plan": "Professional", "licences": 3}]`.
    pub seats: String,
    pub contact_person: Option<String>,
    pub postal_address: Option<String>,
    pub company_name: Option<String>,
    pub purchase_order_number: Option<String>,
    pub customer_info_version: i64,
    pub created_at: DateTimeUtc,
}

debug_keys_only!(id);

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
