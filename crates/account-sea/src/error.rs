//! Driver errors translated into the domain's [`StoreError`]: unique violations become
//! [`StoreError::Conflict`] naming the rule (found from the constraint name on PostgreSQL and
//! from the column list or index name on SQLite); connection trouble becomes
//! [`StoreError::Unavailable`]; rows that do not map back become [`StoreError::Corrupt`].

use account_core::ports::{StoreError, UniqueKey};
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// How each uniqueness rule shows in a driver's message: the PostgreSQL constraint name, the
/// SQLite column list (SQLite names the columns of a plain index, not the index), and the key.
const UNIQUE_RULES: &[(&str, &str, UniqueKey)] = &[
    ("ux_members_username", "members.username", UniqueKey::Username),
    ("ux_members_email_key", "members.email_key", UniqueKey::LoginEmail),
    ("ux_contacts_org_email", "contacts.org_id, contacts.email_key", UniqueKey::ContactEmail),
    (
        "ux_ledger_org_event",
        "ledger_entries.org_id, ledger_entries.event_id",
        UniqueKey::ConsumptionEvent,
    ),
    ("ux_products_name_key", "products.name_key", UniqueKey::ProductName),
    (
        "idempotency_records_pkey",
        "idempotency_records.scope, idempotency_records.client_key",
        UniqueKey::IdempotencyKey,
    ),
    ("credit_pools_pkey", "credit_pools.org_id, credit_pools.kind", UniqueKey::PrimaryKey),
    ("allocations_pkey", "allocations.member_id, allocations.kind", UniqueKey::PrimaryKey),
    ("email_changes_pkey", "email_changes.member_id", UniqueKey::PrimaryKey),
    ("digests_pkey", "digests.member_id", UniqueKey::PrimaryKey),
];

/// The uniqueness rule a driver's unique-violation message names, if we know it.
///
/// PostgreSQL: `duplicate key value violates unique constraint "ux_members_username"`.
/// SQLite: `UNIQUE constraint failed: members.username` (or `index 'name'` for an expression
/// index).
pub(crate) fn unique_key_of(message: &str) -> Option<UniqueKey> {
    let (pg_name, sqlite_cols) = if let Some(rest) = message.split_once("unique constraint \"") {
        (rest.1.split('"').next(), None)
    } else if let Some((_, rest)) = message.split_once("UNIQUE constraint failed: ") {
        let rest = rest.trim();
        match rest.strip_prefix("index '") {
            Some(name) => (name.split('\'').next(), None),
            None => (None, Some(rest)),
        }
    } else {
        (None, None)
    };
    if let Some(name) = pg_name {
        if let Some((_, _, key)) = UNIQUE_RULES.iter().find(|(n, _, _)| *n == name) {
            return Some(*key);
        }
        // Every other table's primary key is `<table>_pkey` (PostgreSQL's default name).
        return name.ends_with("_pkey").then_some(UniqueKey::PrimaryKey);
    }
    let cols = sqlite_cols?;
    if let Some((_, _, key)) = UNIQUE_RULES.iter().find(|(_, c, _)| *c == cols) {
        return Some(*key);
    }
    // Every other table's primary key is its `id` column.
    let (_, column) = cols.split_once('.')?;
    (column == "id").then_some(UniqueKey::PrimaryKey)
}

/// True when the error says the database cannot be reached or is too busy to answer now.
fn is_unavailable(err: &DbErr) -> bool {
    let runtime = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(r) | DbErr::Query(r) => r,
        _ => return false,
    };
    let RuntimeErr::SqlxError(sqlx) = runtime else { return false };
    match sqlx.as_ref() {
        sea_orm::sqlx::Error::Io(_)
        | sea_orm::sqlx::Error::Tls(_)
        | sea_orm::sqlx::Error::PoolTimedOut
        | sea_orm::sqlx::Error::PoolClosed
        | sea_orm::sqlx::Error::WorkerCrashed => true,
        sea_orm::sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // SQLite: SQLITE_BUSY (5) and SQLITE_LOCKED (6) with their extended codes.
            // PostgreSQL: class 08 (connection exception), 53300 (too many connections),
            // 57P01..57P03 (server shutting down or starting).
            matches!(code.as_ref(), "5" | "6" | "261" | "262" | "517" | "773")
                || code.starts_with("08")
                || matches!(code.as_ref(), "53300" | "57P01" | "57P02" | "57P03")
        }
        _ => false,
    }
}

/// Translates a driver error.
pub(crate) fn db_err(err: DbErr) -> StoreError {
    if let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
        if let Some(key) = unique_key_of(&message) {
            return StoreError::Conflict(key);
        }
        tracing::warn!(%message, "unique violation of an unknown constraint");
        return StoreError::Other(Box::new(err));
    }
    if is_unavailable(&err) {
        return StoreError::Unavailable(Box::new(err));
    }
    match err {
        DbErr::Type(_) | DbErr::TryIntoErr { .. } => StoreError::Corrupt(err.to_string()),
        // Only queued updates raise it (`SeaTx::write_later`): the row was not there.
        DbErr::RecordNotUpdated => StoreError::NotFound,
        other => StoreError::Other(Box::new(other)),
    }
}

/// A stored value that does not map back to the domain: names the column, not the value
/// (which may be personal data).
pub(crate) fn corrupt(column: &str) -> StoreError {
    StoreError::Corrupt(format!("{column} holds a value that is not valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_constraint_names_map_to_their_rule() {
        let cases = [
            ("ux_members_username", Some(UniqueKey::Username)),
            ("ux_members_email_key", Some(UniqueKey::LoginEmail)),
            ("ux_contacts_org_email", Some(UniqueKey::ContactEmail)),
            ("ux_ledger_org_event", Some(UniqueKey::ConsumptionEvent)),
            ("ux_products_name_key", Some(UniqueKey::ProductName)),
            ("idempotency_records_pkey", Some(UniqueKey::IdempotencyKey)),
            ("members_pkey", Some(UniqueKey::PrimaryKey)),
            ("credit_pools_pkey", Some(UniqueKey::PrimaryKey)),
            ("some_other_index", None),
        ];
        for (name, key) in cases {
            let msg = format!("duplicate key value violates unique constraint \"{name}\"");
            assert_eq!(unique_key_of(&msg), key, "{name}");
        }
    }

    #[test]
    fn sqlite_column_lists_map_to_their_rule() {
        let cases = [
            ("members.username", Some(UniqueKey::Username)),
            ("members.email_key", Some(UniqueKey::LoginEmail)),
            ("contacts.org_id, contacts.email_key", Some(UniqueKey::ContactEmail)),
            ("ledger_entries.org_id, ledger_entries.event_id", Some(UniqueKey::ConsumptionEvent)),
            ("products.name_key", Some(UniqueKey::ProductName)),
            (
                "idempotency_records.scope, idempotency_records.client_key",
                Some(UniqueKey::IdempotencyKey),
            ),
            ("members.id", Some(UniqueKey::PrimaryKey)),
            ("credit_pools.org_id, credit_pools.kind", Some(UniqueKey::PrimaryKey)),
            ("members.first_name", None),
        ];
        for (cols, key) in cases {
            let msg = format!("UNIQUE constraint failed: {cols}");
            assert_eq!(unique_key_of(&msg), key, "{cols}");
        }
        assert_eq!(
            unique_key_of("UNIQUE constraint failed: index 'members_pkey'"),
            Some(UniqueKey::PrimaryKey)
        );
        assert_eq!(unique_key_of("something else entirely"), None);
    }
}
