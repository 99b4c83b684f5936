//! Sessions (impersonation sessions hang on an admin's session), API keys and email-change
//! flows. Secrets are stored as keyed digests (32 bytes), never in clear.

use sea_orm_migration::prelude::*;

use super::{ApiKeys, EmailChanges, Members, Sessions, foreign_key, index};

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
                    .table(Sessions::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Sessions::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Sessions::MemberId).uuid().not_null())
                    .col(ColumnDef::new(Sessions::OrgId).uuid().not_null())
                    .col(ColumnDef::new(Sessions::SecretDigest).blob().not_null())
                    .col(ColumnDef::new(Sessions::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Sessions::LastSeenAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Sessions::ExpiresAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Sessions::Client).text().null())
                    .col(ColumnDef::new(Sessions::ImpAdminId).uuid().null())
                    .col(ColumnDef::new(Sessions::ImpAdminSessionId).uuid().null())
                    .col(ColumnDef::new(Sessions::ImpReason).text().null())
                    .foreign_key(&mut foreign_key(
                        "fk_sessions_member",
                        (Sessions::Table, Sessions::MemberId),
                        (Members::Table, Members::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // A member's sessions, oldest first; ending them all.
        manager
            .create_index(index(
                "ix_sessions_member",
                Sessions::Table,
                &[Sessions::MemberId, Sessions::CreatedAt],
            ))
            .await?;
        // Impersonation sessions hanging on an admin's session (cascading ends).
        manager
            .create_index(index(
                "ix_sessions_parent",
                Sessions::Table,
                &[Sessions::ImpAdminSessionId],
            ))
            .await?;
        // Sweeping expired sessions.
        manager
            .create_index(index("ix_sessions_expires", Sessions::Table, &[Sessions::ExpiresAt]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(ApiKeys::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(ApiKeys::MemberId).uuid().not_null())
                    .col(ColumnDef::new(ApiKeys::OrgId).uuid().not_null())
                    .col(ColumnDef::new(ApiKeys::Label).text().null())
                    .col(ColumnDef::new(ApiKeys::Prefix).text().not_null())
                    .col(ColumnDef::new(ApiKeys::SecretDigest).blob().not_null())
                    .col(ColumnDef::new(ApiKeys::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(ApiKeys::LastUsedAt).timestamp_with_time_zone().null())
                    .foreign_key(&mut foreign_key(
                        "fk_api_keys_member",
                        (ApiKeys::Table, ApiKeys::MemberId),
                        (Members::Table, Members::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // A member's keys, oldest first.
        manager
            .create_index(index(
                "ix_api_keys_member",
                ApiKeys::Table,
                &[ApiKeys::MemberId, ApiKeys::CreatedAt],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EmailChanges::Table)
                    .if_not_exists()
                    // At most one flow per member.
                    .col(ColumnDef::new(EmailChanges::MemberId).uuid().not_null().primary_key())
                    .col(ColumnDef::new(EmailChanges::Id).uuid().not_null())
                    .col(ColumnDef::new(EmailChanges::Stage).text().not_null())
                    .col(ColumnDef::new(EmailChanges::NewEmail).text().null())
                    .col(ColumnDef::new(EmailChanges::CodeDigest).blob().null())
                    .col(ColumnDef::new(EmailChanges::CodeSentAt).timestamp_with_time_zone().null())
                    .col(
                        ColumnDef::new(EmailChanges::CodeExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(EmailChanges::CodeWrongTries).integer().null())
                    .col(ColumnDef::new(EmailChanges::CodeSends).integer().null())
                    .col(
                        ColumnDef::new(EmailChanges::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(EmailChanges::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(&mut foreign_key(
                        "fk_email_changes_member",
                        (EmailChanges::Table, EmailChanges::MemberId),
                        (Members::Table, Members::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
