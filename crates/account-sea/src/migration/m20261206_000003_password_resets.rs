//! Password resets (rule 22): a member's pending reset is the digest of the mailed token and
//! when it expires, two nullable columns of `members` like the invitation's, so that the reset
//! is checked and used under the member's row lock and erasing the member erases it.

use sea_orm_migration::prelude::*;

use super::Members;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    .add_column_if_not_exists(ColumnDef::new(Members::ResetDigest).blob().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    .add_column_if_not_exists(
                        ColumnDef::new(Members::ResetExpiresAt).timestamp_with_time_zone().null(),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
