//! Consumption summed per UTC day and per UTC month (`consumption_rollups`), so that a usage
//! report over a long period reads a few summed rows instead of every consumption. Filled from
//! the ledger's existing consumptions here; kept up to date by each new consumption, in its
//! own unit (`CreditRepo::append`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use super::{ConsumptionRollups, Organisations, foreign_key, index};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Sums the ledger's consumptions into the roll-ups, with the same keys as the store writes:
/// the spender (the nil id for none), and the start of the UTC day or month in Unix seconds.
fn backfill(backend: DbBackend) -> String {
    let (day, month, nil) = match backend {
        DbBackend::Postgres => (
            "(floor(extract(epoch FROM at) / 86400) * 86400)::bigint",
            "extract(epoch FROM date_trunc('month', at AT TIME ZONE 'UTC'))::bigint",
            "'00000000-0000-0000-0000-000000000000'::uuid",
        ),
        _ => (
            "(CAST(strftime('%s', at) AS INTEGER) / 86400) * 86400",
            "CAST(strftime('%s', at, 'start of month') AS INTEGER)",
            "X'00000000000000000000000000000000'",
        ),
    };
    [("day", day), ("month", month)]
        .iter()
        .map(|(unit, start)| {
            format!(
                "INSERT INTO consumption_rollups \
                 (org_id, spender_id, unit, start, kind, data_type, provider, amount) \
                 SELECT org_id, COALESCE(spender_id, {nil}), '{unit}', {start}, kind, data_type, \
                 provider, SUM(amount) FROM ledger_entries \
                 WHERE entry_type = 'consume' AND data_type IS NOT NULL AND provider IS NOT NULL \
                 GROUP BY org_id, COALESCE(spender_id, {nil}), {start}, kind, data_type, provider"
            )
        })
        .collect::<Vec<_>>()
        .join(";\n")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ConsumptionRollups as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(R::OrgId).uuid().not_null())
                    // The spender, or the nil id for a consumption with none.
                    .col(ColumnDef::new(R::SpenderId).uuid().not_null())
                    // `day` or `month`.
                    .col(ColumnDef::new(R::Unit).text().not_null())
                    // The UTC day's or month's first second, in Unix seconds.
                    .col(ColumnDef::new(R::Start).big_integer().not_null())
                    .col(ColumnDef::new(R::Kind).text().not_null())
                    .col(ColumnDef::new(R::DataType).text().not_null())
                    .col(ColumnDef::new(R::Provider).text().not_null())
                    .col(ColumnDef::new(R::Amount).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(R::OrgId)
                            .col(R::SpenderId)
                            .col(R::Unit)
                            .col(R::Start)
                            .col(R::Kind)
                            .col(R::DataType)
                            .col(R::Provider),
                    )
                    .foreign_key(&mut foreign_key(
                        "fk_consumption_rollups_org",
                        (R::Table, R::OrgId),
                        (Organisations::Table, Organisations::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // A team's report: every spender of the organisation over a range.
        manager
            .create_index(index(
                "ix_consumption_rollups_org",
                R::Table,
                &[R::OrgId, R::Unit, R::Start],
            ))
            .await?;
        let db = manager.get_connection();
        for statement in backfill(manager.get_database_backend()).split(";\n") {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
