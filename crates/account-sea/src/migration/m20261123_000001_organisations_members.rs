//! Organisations and members. Members are never deleted: erasing one (rule 11) blanks its
//! personal data and sets `erased_at`, so the ledger and the audit log keep a valid id. The
//! unique columns (`username`, `email_key`) are set to NULL on erasure, and NULLs never collide,
//! so a new member may take the erased member's email or username.

use sea_orm_migration::prelude::*;

use super::{Members, Organisations, foreign_key, index};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organisations::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Organisations::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Organisations::Name).text().not_null())
                    .col(ColumnDef::new(Organisations::RegistrationNumber).text().not_null())
                    .col(ColumnDef::new(Organisations::Plan).text().not_null())
                    .col(ColumnDef::new(Organisations::Licences).big_integer().not_null())
                    .col(ColumnDef::new(Organisations::ContactPerson).text().null())
                    .col(ColumnDef::new(Organisations::PostalAddress).text().null())
                    .col(ColumnDef::new(Organisations::CompanyName).text().null())
                    .col(ColumnDef::new(Organisations::PurchaseOrderNumber).text().null())
                    .col(
                        ColumnDef::new(Organisations::CustomerInfoVersion).big_integer().not_null(),
                    )
                    .col(
                        ColumnDef::new(Organisations::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Members::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Members::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Members::OrgId).uuid().not_null())
                    .col(ColumnDef::new(Members::Role).text().not_null())
                    .col(ColumnDef::new(Members::Status).text().not_null())
                    // NULL once erased.
                    .col(ColumnDef::new(Members::Username).text().null())
                    .col(ColumnDef::new(Members::Email).text().null())
                    // `EmailAddress::key()` (Unicode lower case), computed in Rust: SQLite's
                    // `lower()` folds ASCII only, so an expression index would disagree.
                    .col(ColumnDef::new(Members::EmailKey).text().null())
                    .col(ColumnDef::new(Members::PasswordHash).text().null())
                    .col(ColumnDef::new(Members::InvitationDigest).blob().null())
                    .col(
                        ColumnDef::new(Members::InvitationExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Members::FirstName).text().null())
                    .col(ColumnDef::new(Members::LastName).text().null())
                    .col(ColumnDef::new(Members::Phone).text().null())
                    .col(ColumnDef::new(Members::Company).text().null())
                    .col(ColumnDef::new(Members::JobTitle).text().null())
                    .col(ColumnDef::new(Members::Linkedin).text().null())
                    .col(ColumnDef::new(Members::ProfileVersion).big_integer().not_null())
                    .col(ColumnDef::new(Members::NotifyLowCredits).boolean().not_null())
                    .col(ColumnDef::new(Members::NotifyWeeklyDigest).boolean().not_null())
                    .col(ColumnDef::new(Members::NotifyProductNews).boolean().not_null())
                    .col(ColumnDef::new(Members::ExportFormat).text().not_null())
                    .col(ColumnDef::new(Members::ExportIncludeEmails).boolean().not_null())
                    .col(ColumnDef::new(Members::ExportIncludePhones).boolean().not_null())
                    .col(ColumnDef::new(Members::Timezone).text().not_null())
                    // JSON array of {"product": uuid} | {"custom": name}.
                    .col(ColumnDef::new(Members::Offerings).text().not_null())
                    .col(ColumnDef::new(Members::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Members::ErasedAt).timestamp_with_time_zone().null())
                    .foreign_key(&mut foreign_key(
                        "fk_members_org",
                        (Members::Table, Members::OrgId),
                        (Organisations::Table, Organisations::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        // Team lists (by id) and counts, per organisation.
        manager
            .create_index(index(
                "ix_members_org_id",
                Members::Table,
                &[Members::OrgId, Members::Id],
            ))
            .await?;
        manager
            .create_index(
                index("ux_members_username", Members::Table, &[Members::Username])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ux_members_email_key", Members::Table, &[Members::EmailKey])
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
