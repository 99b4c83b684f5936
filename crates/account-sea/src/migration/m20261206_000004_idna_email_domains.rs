//! Email domains in IDNA ASCII form: `EmailAddress::parse` now keeps `ada@bücher.example` as
//! `ada@xn--bcher-kva.example`, so rows written before it (a domain typed in another script)
//! get their `email` and `email_key` rewritten the same way, in `members` and `contacts`.
//! Otherwise a log-in typed either way would look for the new key and miss the old row, and
//! the unique indexes would let the other spelling in beside it.
//!
//! Only rows whose address has a non-ASCII character can change, and only those are read. A
//! row whose new key another row already holds (two accounts, or two contacts of one
//! organisation, that only the spelling of the domain told apart) is left as it was and
//! logged by id, for support to merge: the migration cannot choose which of the two to keep.

use account_core::domain::email::EmailAddress;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use super::{Contacts, Members};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// SQL true for a `column` holding a character beyond ASCII (more bytes than characters).
fn non_ascii(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("octet_length({column}) <> char_length({column})"),
        _ => format!("length(CAST({column} AS BLOB)) <> length({column})"),
    }
}

/// `(id, owner scope, email)` of the rows of `table` whose email is not ASCII.
async fn rows(
    db: &SchemaManagerConnection<'_>,
    table: &str,
    scope: &str,
) -> Result<Vec<(Uuid, Uuid, String)>, DbErr> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT id, {scope} AS scope, email FROM {table} WHERE email IS NOT NULL AND {}",
        non_ascii(backend, "email")
    );
    let found = db.query_all_raw(Statement::from_string(backend, sql)).await?;
    found
        .iter()
        .map(|row| {
            Ok((
                row.try_get::<Uuid>("", "id")?,
                row.try_get::<Uuid>("", "scope")?,
                row.try_get::<String>("", "email")?,
            ))
        })
        .collect()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // Members: the login email is unique across the whole database.
        for (id, _, email) in rows(db, "members", "org_id").await? {
            let Ok(address) = EmailAddress::parse(&email) else { continue };
            if address.as_str() == email {
                continue;
            }
            let taken = Query::select()
                .column(Members::Id)
                .from(Members::Table)
                .and_where(Expr::col(Members::EmailKey).eq(address.key()))
                .and_where(Expr::col(Members::Id).ne(id))
                .to_owned();
            if db.query_one(&taken).await?.is_some() {
                tracing::warn!(member = %id, "login email left unnormalised: another member holds the same address");
                continue;
            }
            let update = Query::update()
                .table(Members::Table)
                .value(Members::Email, address.as_str())
                .value(Members::EmailKey, address.key())
                .and_where(Expr::col(Members::Id).eq(id))
                .to_owned();
            db.execute(&update).await?;
        }
        // Contacts: unique per organisation.
        for (id, org, email) in rows(db, "contacts", "org_id").await? {
            let Ok(address) = EmailAddress::parse(&email) else { continue };
            if address.as_str() == email {
                continue;
            }
            let taken = Query::select()
                .column(Contacts::Id)
                .from(Contacts::Table)
                .and_where(Expr::col(Contacts::OrgId).eq(org))
                .and_where(Expr::col(Contacts::EmailKey).eq(address.key()))
                .and_where(Expr::col(Contacts::Id).ne(id))
                .to_owned();
            if db.query_one(&taken).await?.is_some() {
                tracing::warn!(contact = %id, "contact address left unnormalised: the organisation has the same address");
                continue;
            }
            let update = Query::update()
                .table(Contacts::Table)
                .value(Contacts::Email, address.as_str())
                .value(Contacts::EmailKey, address.key())
                .and_where(Expr::col(Contacts::Id).eq(id))
                .to_owned();
            db.execute(&update).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use sea_orm_migration::sea_orm::{ConnectOptions, Database, DatabaseConnection};

    use super::*;
    use crate::migration::Migrator;

    async fn member(db: &DatabaseConnection, id: u128, email: &str) {
        let insert = Query::insert()
            .into_table(Members::Table)
            .columns([
                Members::Id,
                Members::OrgId,
                Members::Role,
                Members::Status,
                Members::Email,
                Members::EmailKey,
                Members::ProfileVersion,
                Members::NotifyLowCredits,
                Members::NotifyWeeklyDigest,
                Members::NotifyProductNews,
                Members::ExportFormat,
                Members::ExportIncludeEmails,
                Members::ExportIncludePhones,
                Members::Timezone,
                Members::Offerings,
                Members::CreatedAt,
            ])
            .values_panic([
                Uuid::from_u128(id).into(),
                Uuid::from_u128(1).into(),
                "sub_user".into(),
                "enabled".into(),
                email.into(),
                email.to_lowercase().into(),
                1i64.into(),
                true.into(),
                false.into(),
                false.into(),
                "csv".into(),
                true.into(),
                true.into(),
                "UTC".into(),
                "[]".into(),
                DateTime::<Utc>::UNIX_EPOCH.into(),
            ])
            .to_owned();
        db.execute(&insert).await.unwrap();
    }

    async fn email_of(db: &DatabaseConnection, id: u128) -> (String, String) {
        let select = Query::select()
            .columns([Members::Email, Members::EmailKey])
            .from(Members::Table)
            .and_where(Expr::col(Members::Id).eq(Uuid::from_u128(id)))
            .to_owned();
        let row = db.query_one(&select).await.unwrap().unwrap();
        (row.try_get("", "email").unwrap(), row.try_get("", "email_key").unwrap())
    }

    #[tokio::test]
    async fn unicode_domains_of_old_rows_are_rewritten_unless_the_address_is_taken() {
        let db =
            Database::connect(ConnectOptions::new("sqlite::memory:").max_connections(1).to_owned())
                .await
                .unwrap();
        // Up to the one before this migration, then this one alone: later ones expect rows
        // this test does not write (an organisation for each member).
        let this = Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m20261206_000004_idna_email_domains")
            .unwrap();
        let steps = |n: usize| Some(<u32 as std::convert::TryFrom<usize>>::try_from(n).unwrap());
        Migrator::up(&db, steps(this)).await.unwrap();
        // Rows as earlier versions wrote them; no organisation row is needed for this.
        db.execute_unprepared("PRAGMA foreign_keys = OFF").await.unwrap();
        member(&db, 10, "Ada@Bücher.example").await;
        member(&db, 11, "bo@xn--mller-kva.example").await;
        member(&db, 12, "bo@müller.example").await;
        member(&db, 13, "plain@example.com").await;
        Migrator::up(&db, steps(1)).await.unwrap();

        let ada = email_of(&db, 10).await;
        assert_eq!(ada, ("Ada@xn--bcher-kva.example".into(), "ada@xn--bcher-kva.example".into()));
        // Member 12 is the same mailbox as member 11: left for support, not merged silently.
        assert_eq!(email_of(&db, 12).await.0, "bo@müller.example");
        assert_eq!(email_of(&db, 11).await.0, "bo@xn--mller-kva.example");
        assert_eq!(email_of(&db, 13).await.0, "plain@example.com");
    }
}
