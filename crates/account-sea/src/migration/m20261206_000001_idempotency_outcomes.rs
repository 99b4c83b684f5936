//! Idempotency records hold the use case's outcome (`outcome`, JSON) instead of an HTTP
//! response: the record is now written in the use case's own unit, with its effect. Records
//! an older server left keep no outcome, so they cannot be replayed; they are refused as such
//! until the housekeeping forgets them, a day after their first use.

use sea_orm_migration::prelude::*;

use super::IdempotencyRecords;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One change per statement: SQLite alters one column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(IdempotencyRecords::Table)
                    .add_column(ColumnDef::new(IdempotencyRecords::Outcome).text().null())
                    .to_owned(),
            )
            .await?;
        for column in [IdempotencyRecords::ResponseStatus, IdempotencyRecords::ResponseBody] {
            manager
                .alter_table(
                    Table::alter().table(IdempotencyRecords::Table).drop_column(column).to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
