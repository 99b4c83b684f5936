//! Credit pools (one per organisation and kind), members' allocations, and the append-only
//! ledger. Amounts are `BIGINT`.

use sea_orm_migration::prelude::*;

use super::{Allocations, CreditPools, LedgerEntries, Members, Organisations, foreign_key, index};

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
                    .table(CreditPools::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(CreditPools::OrgId).uuid().not_null())
                    .col(ColumnDef::new(CreditPools::Kind).text().not_null())
                    .col(ColumnDef::new(CreditPools::Total).big_integer().not_null())
                    .col(ColumnDef::new(CreditPools::Allocated).big_integer().not_null())
                    .col(ColumnDef::new(CreditPools::SpentFromPool).big_integer().not_null())
                    .primary_key(Index::create().col(CreditPools::OrgId).col(CreditPools::Kind))
                    .foreign_key(&mut foreign_key(
                        "fk_credit_pools_org",
                        (CreditPools::Table, CreditPools::OrgId),
                        (Organisations::Table, Organisations::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Allocations::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Allocations::MemberId).uuid().not_null())
                    .col(ColumnDef::new(Allocations::Kind).text().not_null())
                    .col(ColumnDef::new(Allocations::OrgId).uuid().not_null())
                    .col(ColumnDef::new(Allocations::Allocated).big_integer().not_null())
                    .col(ColumnDef::new(Allocations::Used).big_integer().not_null())
                    .primary_key(Index::create().col(Allocations::MemberId).col(Allocations::Kind))
                    .foreign_key(&mut foreign_key(
                        "fk_allocations_member",
                        (Allocations::Table, Allocations::MemberId),
                        (Members::Table, Members::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // Every allocation of an organisation (team page).
        manager
            .create_index(index("ix_allocations_org", Allocations::Table, &[Allocations::OrgId]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LedgerEntries::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(LedgerEntries::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(LedgerEntries::OrgId).uuid().not_null())
                    .col(ColumnDef::new(LedgerEntries::Kind).text().not_null())
                    .col(ColumnDef::new(LedgerEntries::EntryType).text().not_null())
                    .col(ColumnDef::new(LedgerEntries::Amount).big_integer().not_null())
                    .col(ColumnDef::new(LedgerEntries::MemberId).uuid().null())
                    .col(ColumnDef::new(LedgerEntries::ActorKind).text().not_null())
                    .col(ColumnDef::new(LedgerEntries::ActorMemberId).uuid().null())
                    .col(ColumnDef::new(LedgerEntries::ActingAs).uuid().null())
                    // `member_id`, or the acting member for pool-level entries: who spent.
                    .col(ColumnDef::new(LedgerEntries::SpenderId).uuid().null())
                    .col(ColumnDef::new(LedgerEntries::At).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(LedgerEntries::Reason).text().null())
                    .col(ColumnDef::new(LedgerEntries::DataType).text().null())
                    .col(ColumnDef::new(LedgerEntries::Provider).text().null())
                    // Set for consumptions only; NULLs never collide in the unique index.
                    .col(ColumnDef::new(LedgerEntries::EventId).text().null())
                    .foreign_key(&mut foreign_key(
                        "fk_ledger_entries_org",
                        (LedgerEntries::Table, LedgerEntries::OrgId),
                        (Organisations::Table, Organisations::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // The organisation's ledger, oldest first, and consumption over a period.
        manager
            .create_index(index(
                "ix_ledger_org_at",
                LedgerEntries::Table,
                &[LedgerEntries::OrgId, LedgerEntries::At, LedgerEntries::Id],
            ))
            .await?;
        // One member's ledger, oldest first.
        manager
            .create_index(index(
                "ix_ledger_member_at",
                LedgerEntries::Table,
                &[LedgerEntries::MemberId, LedgerEntries::At, LedgerEntries::Id],
            ))
            .await?;
        // One spender's consumption over a period (usage reports).
        manager
            .create_index(index(
                "ix_ledger_spender_at",
                LedgerEntries::Table,
                &[LedgerEntries::SpenderId, LedgerEntries::At],
            ))
            .await?;
        // Idempotent consumption: one event id per organisation.
        manager
            .create_index(
                index(
                    "ux_ledger_org_event",
                    LedgerEntries::Table,
                    &[LedgerEntries::OrgId, LedgerEntries::EventId],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        Ok(())
    }
}
