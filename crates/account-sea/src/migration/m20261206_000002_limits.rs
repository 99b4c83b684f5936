//! Abuse limits in the database (rule 24): `limits` keeps one instant per budget key (the
//! GCRA state of `account_core::domain::limits`), `known_clients` the clients known to have
//! logged into an address. Both are shared by every server process; rows whose instant has
//! passed carry no information and are purged.

use sea_orm_migration::prelude::*;

use super::{KnownClients, Limits, index};

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
                    .table(Limits::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Limits::Key).text().not_null().primary_key())
                    .col(ColumnDef::new(Limits::State).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_limits_state", Limits::Table, &[Limits::State])).await?;
        manager
            .create_table(
                Table::create()
                    .table(KnownClients::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(KnownClients::Key).text().not_null().primary_key())
                    .col(ColumnDef::new(KnownClients::Until).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_known_clients_until",
                KnownClients::Table,
                &[KnownClients::Until],
            ))
            .await?;
        Ok(())
    }
}
