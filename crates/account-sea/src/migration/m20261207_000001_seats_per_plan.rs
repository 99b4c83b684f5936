//! Licences per plan (rule 23): `organisations.plan` and `organisations.licences` become
//! `organisations.seats`, a JSON list of plans with their licences, and each member gets the
//! `plan` of their seat. An existing organisation's one plan holds all its licences, and every
//! member of it, enabled or disabled, is on that plan: nothing an organisation could do before
//! is refused after.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use super::{Members, Organisations};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Organisations::Table)
                    .add_column_if_not_exists(
                        ColumnDef::new(Organisations::Seats).text().not_null().default("[]"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Members::Table)
                    .add_column_if_not_exists(
                        ColumnDef::new(Members::Plan).text().not_null().default(""),
                    )
                    .to_owned(),
            )
            .await?;
        let one_plan = match db.get_database_backend() {
            DbBackend::Postgres => {
                "json_build_array(json_build_object('plan', plan, 'licences', licences))::text"
            }
            _ => "json_array(json_object('plan', plan, 'licences', licences))",
        };
        db.execute_unprepared(&format!("UPDATE organisations SET seats = {one_plan}")).await?;
        db.execute_unprepared(
            "UPDATE members SET plan = \
             (SELECT o.plan FROM organisations o WHERE o.id = members.org_id)",
        )
        .await?;
        // SQLite drops one column per statement too.
        db.execute_unprepared("ALTER TABLE organisations DROP COLUMN plan").await?;
        db.execute_unprepared("ALTER TABLE organisations DROP COLUMN licences").await?;
        Ok(())
    }
}
