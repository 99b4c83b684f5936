//! Contact addresses, the audit log, the mail outbox, the products catalogue, scheduled
//! digests and idempotency records.

use sea_orm_migration::prelude::*;

use super::{
    AuditEntries, Contacts, Digests, IdempotencyRecords, Members, Organisations, Outbox, Products,
    foreign_key, index,
};

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
                    .table(Contacts::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Contacts::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Contacts::OrgId).uuid().not_null())
                    .col(ColumnDef::new(Contacts::Email).text().not_null())
                    .col(ColumnDef::new(Contacts::EmailKey).text().not_null())
                    .col(ColumnDef::new(Contacts::VerifiedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Contacts::RoleBilling).boolean().not_null())
                    .col(ColumnDef::new(Contacts::RoleTech).boolean().not_null())
                    .col(ColumnDef::new(Contacts::RoleDpo).boolean().not_null())
                    .col(ColumnDef::new(Contacts::CodeDigest).blob().null())
                    .col(ColumnDef::new(Contacts::CodeSentAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Contacts::CodeExpiresAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Contacts::CodeWrongTries).integer().null())
                    .col(ColumnDef::new(Contacts::CodeSends).integer().null())
                    .col(ColumnDef::new(Contacts::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(&mut foreign_key(
                        "fk_contacts_org",
                        (Contacts::Table, Contacts::OrgId),
                        (Organisations::Table, Organisations::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // One address per organisation, case-insensitively.
        manager
            .create_index(
                index(
                    "ux_contacts_org_email",
                    Contacts::Table,
                    &[Contacts::OrgId, Contacts::EmailKey],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        // An organisation's addresses, oldest first.
        manager
            .create_index(index(
                "ix_contacts_org_created",
                Contacts::Table,
                &[Contacts::OrgId, Contacts::CreatedAt, Contacts::Id],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEntries::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(AuditEntries::Id).uuid().not_null().primary_key())
                    // NULL for catalogue changes, which belong to no organisation.
                    .col(ColumnDef::new(AuditEntries::OrgId).uuid().null())
                    .col(ColumnDef::new(AuditEntries::At).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(AuditEntries::ActorKind).text().not_null())
                    .col(ColumnDef::new(AuditEntries::ActorMemberId).uuid().null())
                    .col(ColumnDef::new(AuditEntries::ActingAs).uuid().null())
                    .col(ColumnDef::new(AuditEntries::Action).text().not_null())
                    .col(ColumnDef::new(AuditEntries::Target).text().not_null())
                    .col(ColumnDef::new(AuditEntries::Detail).text().not_null())
                    .to_owned(),
            )
            .await?;
        // An organisation's log, newest first.
        manager
            .create_index(index(
                "ix_audit_org_at",
                AuditEntries::Table,
                &[AuditEntries::OrgId, AuditEntries::At, AuditEntries::Id],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Outbox::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Outbox::Kind).text().not_null())
                    // The sealed message; emptied once sent.
                    .col(ColumnDef::new(Outbox::Sealed).blob().not_null())
                    .col(ColumnDef::new(Outbox::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Outbox::Attempts).big_integer().not_null())
                    .col(
                        ColumnDef::new(Outbox::NextAttemptAt).timestamp_with_time_zone().not_null(),
                    )
                    .col(ColumnDef::new(Outbox::LastError).text().null())
                    .col(ColumnDef::new(Outbox::SentAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        // Unsent mails by due time (delivery workers claim them).
        manager
            .create_index(
                index("ix_outbox_due", Outbox::Table, &[Outbox::NextAttemptAt, Outbox::CreatedAt])
                    .and_where(Expr::col(Outbox::SentAt).is_null())
                    .to_owned(),
            )
            .await?;
        // Unsent mails, oldest first (operators' view).
        manager
            .create_index(
                index("ix_outbox_pending", Outbox::Table, &[Outbox::CreatedAt, Outbox::Id])
                    .and_where(Expr::col(Outbox::SentAt).is_null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Products::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Products::Name).text().not_null())
                    // `ProductName::key()`, computed in Rust.
                    .col(ColumnDef::new(Products::NameKey).text().not_null())
                    .col(ColumnDef::new(Products::Active).boolean().not_null())
                    .col(ColumnDef::new(Products::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ux_products_name_key", Products::Table, &[Products::NameKey])
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Digests::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Digests::MemberId).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Digests::DueAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Digests::Timezone).text().not_null())
                    .foreign_key(&mut foreign_key(
                        "fk_digests_member",
                        (Digests::Table, Digests::MemberId),
                        (Members::Table, Members::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // Digests due, earliest first.
        manager
            .create_index(index(
                "ix_digests_due",
                Digests::Table,
                &[Digests::DueAt, Digests::MemberId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyRecords::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(IdempotencyRecords::Scope).text().not_null())
                    .col(ColumnDef::new(IdempotencyRecords::ClientKey).text().not_null())
                    .col(ColumnDef::new(IdempotencyRecords::Fingerprint).text().not_null())
                    .col(ColumnDef::new(IdempotencyRecords::ResponseStatus).integer().null())
                    .col(ColumnDef::new(IdempotencyRecords::ResponseBody).text().null())
                    .col(
                        ColumnDef::new(IdempotencyRecords::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(IdempotencyRecords::Scope)
                            .col(IdempotencyRecords::ClientKey),
                    )
                    .to_owned(),
            )
            .await?;
        // Purging old records.
        manager
            .create_index(index(
                "ix_idempotency_created",
                IdempotencyRecords::Table,
                &[IdempotencyRecords::CreatedAt],
            ))
            .await?;
        Ok(())
    }
}
