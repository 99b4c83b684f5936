//! Checks that concern only the sea-orm store: migrations, durability across a restart,
//! connection configuration, error translation, and what erasure leaves at rest.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use account_core::domain::credits::CreditKind;
use account_core::domain::member::{Member, MemberStatus};
use account_core::domain::organisation::{Licences, Organisation, PlanCount, Seats};
use account_core::domain::session::Session;
use account_core::domain::text::PlanName;
use account_core::ids::SessionId;
use account_core::ports::{Activity, LedgerFilter, Page, Store, StoreError};
use account_sea::{KeptSessions, Migrator, SeaOptions, SeaStore};
use account_store_tests::fixtures::{
    at, consume, full_member, grant, mail, member, organisation, pools, product,
    seed_org_with_admin, session,
};
use account_store_tests::{BoxFuture, Case};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use sea_orm_migration::MigratorTrait;

use crate::support::SeaFactory;

type F = Arc<SeaFactory>;

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        vec![$(Case { name: concat!("sea::", stringify!($name)), run: |f| -> BoxFuture { Box::pin($name(f)) } }),*]
    };
}

/// The checks for `backend` (`"sqlite"` or `"postgres"`).
pub fn sea_cases(backend: &str) -> Vec<Case<SeaFactory>> {
    let mut cases = cases![
        migrations_from_empty_to_latest_and_again_is_a_no_op,
        concurrent_starts_migrate_once,
        data_survives_close_and_reopen,
        corrupt_rows_are_reported_as_corrupt,
        names_an_earlier_version_stored_with_invisible_characters_read_back_without_them,
        unreachable_or_closed_database_is_unavailable,
        erasure_leaves_no_personal_data_at_rest,
        rollup_migration_sums_the_existing_ledger,
        idempotency_records_of_an_older_server_migrate_unreplayable,
        an_organisation_of_one_plan_migrates_to_that_plan_holding_all_its_licences,
        activity_is_written_once_a_minute_per_process,
    ];
    match backend {
        "sqlite" => cases.extend(cases![
            sqlite_connections_are_configured,
            sqlite_queries_use_indexes,
            sqlite_change_stamps_come_from_a_file_database_only,
            kept_sessions_serve_reads_until_any_pool_commits,
            kept_sessions_see_every_commit_of_another_process_at_once,
        ]),
        _ => cases.extend(cases![
            foreign_key_checks_do_not_wait_for_an_organisation_lock,
            a_unit_cancelled_while_it_begins_leaves_no_transaction_open,
            coalesced_session_reads_answer_each_lookup_as_its_own_read,
            coalesced_session_reads_see_every_commit_made_before_them,
        ]),
    }
    #[cfg(target_os = "linux")]
    if backend == "sqlite" {
        cases.extend(cases![reading_the_stamp_keeps_sqlites_locks]);
    }
    cases
}

const MIGRATIONS: [&str; 10] = [
    "m20261123_000001_organisations_members",
    "m20261123_000002_credits",
    "m20261123_000003_sessions_keys",
    "m20261123_000004_contacts_audit_mail",
    "m20261123_000005_consumption_rollups",
    "m20261206_000001_idempotency_outcomes",
    "m20261206_000002_limits",
    "m20261206_000003_password_resets",
    "m20261206_000004_idna_email_domains",
    "m20261207_000001_seats_per_plan",
];

const TABLES: [&str; 18] = [
    "allocations",
    "api_keys",
    "audit_entries",
    "consumption_rollups",
    "contacts",
    "credit_pools",
    "digests",
    "email_changes",
    "idempotency_records",
    "known_clients",
    "ledger_entries",
    "limits",
    "members",
    "organisations",
    "outbox",
    "products",
    "seaql_migrations",
    "sessions",
];

const INDEXES: [&str; 23] = [
    "ix_allocations_org",
    "ix_api_keys_member",
    "ix_audit_org_at",
    "ix_consumption_rollups_org",
    "ix_contacts_org_created",
    "ix_digests_due",
    "ix_idempotency_created",
    "ix_known_clients_until",
    "ix_ledger_member_at",
    "ix_ledger_org_at",
    "ix_ledger_spender_at",
    "ix_limits_state",
    "ix_members_org_id",
    "ix_outbox_due",
    "ix_outbox_pending",
    "ix_sessions_expires",
    "ix_sessions_member",
    "ix_sessions_parent",
    "ux_contacts_org_email",
    "ux_ledger_org_event",
    "ux_members_email_key",
    "ux_members_username",
    "ux_products_name_key",
];

fn sql(backend: DbBackend, sqlite: &str, postgres: &str) -> Statement {
    Statement::from_string(backend, if backend == DbBackend::Postgres { postgres } else { sqlite })
}

/// Tables and named indexes, as `table:name` and `index:name`.
async fn schema(store: &SeaStore) -> BTreeSet<String> {
    let db = store.connection();
    let rows = db
        .query_all_raw(sql(
            db.get_database_backend(),
            "SELECT type AS kind, name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%'",
            "SELECT 'table' AS kind, tablename AS name FROM pg_tables WHERE schemaname = 'public' \
             UNION ALL SELECT 'index', indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            format!(
                "{}:{}",
                r.try_get::<String>("", "kind").unwrap(),
                r.try_get::<String>("", "name").unwrap()
            )
        })
        .collect()
}

fn expected_schema() -> BTreeSet<String> {
    TABLES
        .iter()
        .map(|t| format!("table:{t}"))
        .chain(INDEXES.iter().map(|i| format!("index:{i}")))
        .collect()
}

async fn migrations_from_empty_to_latest_and_again_is_a_no_op(f: F) {
    let url = f.empty_database().await;
    let store = f.connect(&url).await;
    assert_eq!(store.applied_migrations().await.unwrap(), MIGRATIONS);
    let pending = Migrator::get_pending_migrations(store.connection()).await.unwrap();
    assert!(pending.is_empty());
    let after_first = schema(&store).await;
    assert_eq!(after_first, expected_schema());
    // Again, explicitly and through a second start: nothing changes.
    store.migrate().await.unwrap();
    let again = f.connect(&url).await;
    assert_eq!(again.applied_migrations().await.unwrap(), MIGRATIONS);
    assert_eq!(schema(&again).await, after_first);
    let recorded = store
        .connection()
        .query_one_raw(Statement::from_string(
            store.connection().get_database_backend(),
            "SELECT COUNT(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recorded.try_get::<i64>("", "n").unwrap(), i64::try_from(MIGRATIONS.len()).unwrap());
}

/// The roll-up migration sums the consumptions already in the ledger: dropped and migrated
/// again, the table gives the same usage totals as the roll-ups written one consumption at a
/// time.
async fn rollup_migration_sums_the_existing_ledger(f: F) {
    use chrono::{Duration, TimeZone, Utc};
    let url = f.empty_database().await;
    let store = f.connect(&url).await;
    let org = organisation(1);
    let admin = member(org.id, 10);
    let start = Utc.with_ymd_and_hms(2026, 1, 28, 0, 0, 0).unwrap();
    {
        let store: Arc<dyn account_core::ports::Store> = Arc::new(store.clone());
        let mut tx = store.write().await.unwrap();
        tx.organisations().insert(&org).await.unwrap();
        tx.members().insert(&admin).await.unwrap();
        for n in 0..40_i64 {
            // Every 19 hours and some microseconds, so days, months and odd times all occur.
            let when = start + Duration::hours(19 * n) + Duration::microseconds(123_457 * n);
            let event = format!("e{n}");
            let entry = consume(
                u128::try_from(n).unwrap() + 1,
                org.id,
                admin.id,
                None,
                &event,
                n + 1,
                when,
            );
            tx.credits().append(&entry).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let month = |m| Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).unwrap();
    let series = [
        vec![start, month(2), month(3)],
        (0..5).map(|w| start + Duration::days(7 * w) - Duration::minutes(90)).collect(),
    ];
    let totals = |store: SeaStore| {
        let series = series.clone();
        async move {
            let store: Arc<dyn account_core::ports::Store> = Arc::new(store);
            let mut tx = store.read().await.unwrap();
            let mut all = Vec::new();
            for bounds in &series {
                all.push(tx.credits().consumption_totals(org.id, None, bounds).await.unwrap());
            }
            all
        }
    };
    let written = totals(store.clone()).await;
    assert!(written.iter().all(|t| !t.is_empty()));
    let db = store.connection();
    db.execute_unprepared(
        "DROP TABLE consumption_rollups; \
         DELETE FROM seaql_migrations WHERE version = 'm20261123_000005_consumption_rollups'",
    )
    .await
    .unwrap();
    store.close().await.unwrap();
    let again = f.connect(&url).await;
    assert_eq!(again.applied_migrations().await.unwrap(), MIGRATIONS);
    assert_eq!(totals(again).await, written);
}

/// A record the previous schema held (an HTTP status and body, no outcome) survives the
/// migration without an outcome, so the use cases refuse its key as unreplayable instead of
/// running the request a second time.
async fn idempotency_records_of_an_older_server_migrate_unreplayable(f: F) {
    let url = f.empty_database().await;
    let store = f.connect(&url).await;
    let db = store.connection();
    // Back to the previous schema, with one completed record in it.
    for sql in [
        "ALTER TABLE idempotency_records DROP COLUMN outcome",
        "ALTER TABLE idempotency_records ADD COLUMN response_status INTEGER",
        "ALTER TABLE idempotency_records ADD COLUMN response_body TEXT",
        "INSERT INTO idempotency_records \
         (scope, client_key, fingerprint, response_status, response_body, created_at) \
         VALUES ('member:1:addMember', 'old-key', 'f0', 201, '{}', '2026-01-05T09:00:00+00:00')",
        "DELETE FROM seaql_migrations WHERE version = 'm20261206_000001_idempotency_outcomes'",
    ] {
        db.execute_unprepared(sql).await.unwrap();
    }
    store.close().await.unwrap();
    let again = f.connect(&url).await;
    assert_eq!(again.applied_migrations().await.unwrap(), MIGRATIONS);
    assert_eq!(schema(&again).await, expected_schema());
    let store: Arc<dyn Store> = Arc::new(again);
    let mut tx = store.read().await.unwrap();
    let legacy = tx.idempotency().get("member:1:addMember", "old-key").await.unwrap().unwrap();
    assert_eq!((legacy.fingerprint.as_str(), legacy.outcome), ("f0", None));
}

/// Rule 23's migration: an organisation of the schema before plans per seat (one plan, one
/// licence count) comes out with that plan holding all its licences, and each of its members,
/// enabled or disabled, on it; nothing it could do before is refused after.
async fn an_organisation_of_one_plan_migrates_to_that_plan_holding_all_its_licences(f: F) {
    let url = f.empty_database().await;
    let store = f.connect(&url).await;
    let org = organisation(1);
    let (admin, sub) = (member(org.id, 10), member(org.id, 11));
    let disabled = Member { status: MemberStatus::Disabled, ..member(org.id, 12) };
    {
        let store: Arc<dyn Store> = Arc::new(store.clone());
        let mut tx = store.write().await.unwrap();
        tx.organisations().insert(&org).await.unwrap();
        for m in [&admin, &sub, &disabled] {
            tx.members().insert(m).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    // Back to the previous schema: the organisation's one plan and licence count.
    let db = store.connection();
    for sql in [
        "ALTER TABLE organisations ADD COLUMN plan TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE organisations ADD COLUMN licences BIGINT NOT NULL DEFAULT 0",
        "UPDATE organisations SET plan = 'Enterprise \"EU\"', licences = 12",
        "ALTER TABLE organisations DROP COLUMN seats",
        "ALTER TABLE members DROP COLUMN plan",
        "DELETE FROM seaql_migrations WHERE version = 'm20261207_000001_seats_per_plan'",
    ] {
        db.execute_unprepared(sql).await.unwrap();
    }
    store.close().await.unwrap();
    let again = f.connect(&url).await;
    assert_eq!(again.applied_migrations().await.unwrap(), MIGRATIONS);
    assert_eq!(schema(&again).await, expected_schema());
    let store: Arc<dyn Store> = Arc::new(again);
    let mut tx = store.read().await.unwrap();
    let enterprise = PlanName::parse("Enterprise \"EU\"").unwrap();
    let migrated = tx.organisations().get(org.id).await.unwrap().unwrap();
    assert_eq!(migrated.seats, Seats::single(enterprise.clone(), Licences::new(12).unwrap()));
    assert_eq!(Organisation { seats: org.seats.clone(), ..migrated }, org);
    for m in [admin.id, sub.id, disabled.id] {
        assert_eq!(tx.members().get(m).await.unwrap().unwrap().plan, enterprise);
    }
    let counts = tx.members().counts(org.id).await.unwrap();
    assert_eq!(
        counts.plans,
        [PlanCount { plan: enterprise, enabled: 2, disabled: 1 }],
        "every member is on the one plan"
    );
}

/// `record_activity`: of the requests that find a session due together, one writes; within
/// the minute the process writes no more, another process (its own claims) does.
async fn activity_is_written_once_a_minute_per_process(f: F) {
    let url = f.empty_database().await;
    let store: Arc<dyn Store> = Arc::new(f.connect(&url).await);
    let other: Arc<dyn Store> = Arc::new(f.connect(&url).await);
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let s = session(1, admin.id, org.id, at(0));
    let mut tx = store.write().await.unwrap();
    tx.sessions().insert(&s).await.unwrap();
    tx.commit().await.unwrap();
    let used = [Activity::Session(s.id)];
    let last_seen = || {
        let store = store.clone();
        async move {
            let mut tx = store.read().await.unwrap();
            tx.sessions().get(s.id).await.unwrap().unwrap().last_seen_at
        }
    };
    // Eight at once, as eight requests of a busy client: one writes.
    let writes: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.record_activity(&used, at(60 + i)).await })
        })
        .collect();
    for w in writes {
        w.await.unwrap().unwrap();
    }
    let first = last_seen().await;
    assert!((at(60)..=at(67)).contains(&first), "{first}");
    store.record_activity(&used, first + chrono::Duration::seconds(30)).await.unwrap();
    assert_eq!(last_seen().await, first, "claimed for a minute: not written again");
    other.record_activity(&used, first + chrono::Duration::seconds(31)).await.unwrap();
    assert_eq!(last_seen().await, first + chrono::Duration::seconds(31), "another process writes");
    let later = first + chrono::Duration::seconds(61);
    store.record_activity(&used, later).await.unwrap();
    assert_eq!(last_seen().await, later);
}

async fn concurrent_starts_migrate_once(f: F) {
    let url = f.empty_database().await;
    let options = SeaOptions::default();
    let (a, b, c) = tokio::join!(
        SeaStore::connect(&url, &options),
        SeaStore::connect(&url, &options),
        SeaStore::connect(&url, &options)
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    for store in [&a, &b, &c] {
        assert_eq!(store.applied_migrations().await.unwrap(), MIGRATIONS);
    }
    assert_eq!(schema(&a).await, expected_schema());
    for store in [a, b, c] {
        store.close().await.unwrap();
    }
}

async fn data_survives_close_and_reopen(f: F) {
    let url = f.empty_database().await;
    let org = organisation(1);
    let admin = full_member(org.id, 10, product(1, "Leads").id);
    let entry = grant(1, org.id, CreditKind::Export, 500, at(1));
    let sealed = mail(1, at(1), at(1));
    {
        let store = SeaStore::connect(&url, &SeaOptions::default()).await.unwrap();
        let store: Arc<dyn account_core::ports::Store> = Arc::new(store.clone());
        let mut tx = store.write().await.unwrap();
        tx.organisations().insert(&org).await.unwrap();
        for p in pools(org.id) {
            tx.credits().insert_pool(&p).await.unwrap();
        }
        tx.members().insert(&admin).await.unwrap();
        tx.sessions().insert(&session(1, admin.id, org.id, at(2))).await.unwrap();
        tx.credits().append(&entry).await.unwrap();
        tx.outbox().enqueue(&sealed).await.unwrap();
        tx.commit().await.unwrap();
    }
    // Every pool handle above is gone; open, read, close, then a brand-new pool reads it all.
    let first = SeaStore::connect(&url, &SeaOptions::default()).await.unwrap();
    first.close().await.unwrap();
    let reopened = f.connect(&url).await;
    let store: Arc<dyn account_core::ports::Store> = Arc::new(reopened);
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.organisations().get(org.id).await.unwrap(), Some(org.clone()));
    assert_eq!(tx.members().get(admin.id).await.unwrap(), Some(admin.clone()));
    assert_eq!(
        tx.sessions().get(session(1, admin.id, org.id, at(2)).id).await.unwrap(),
        Some(session(1, admin.id, org.id, at(2)))
    );
    assert_eq!(
        tx.credits()
            .ledger(org.id, LedgerFilter::default(), Page { after: None, limit: 10 })
            .await
            .unwrap(),
        [entry]
    );
    assert_eq!(tx.outbox().pending(10).await.unwrap(), [sealed]);
}

async fn corrupt_rows_are_reported_as_corrupt(f: F) {
    let url = f.empty_database().await;
    let sea = f.connect(&url).await;
    let store: Arc<dyn account_core::ports::Store> = Arc::new(sea.clone());
    let org = organisation(1);
    let m = member(org.id, 10);
    let mut tx = store.write().await.unwrap();
    tx.organisations().insert(&org).await.unwrap();
    tx.members().insert(&m).await.unwrap();
    tx.commit().await.unwrap();
    let db = sea.connection();
    db.execute_unprepared("UPDATE members SET role = 'wizard'").await.unwrap();
    let mut tx = store.read().await.unwrap();
    let got = tx.members().get(m.id).await;
    assert!(
        matches!(&got, Err(StoreError::Corrupt(msg)) if msg.contains("members.role")),
        "{got:?}"
    );
    drop(tx);
    db.execute_unprepared("UPDATE members SET role = 'sub_user', timezone = 'Mars/Olympus'")
        .await
        .unwrap();
    let mut tx = store.read().await.unwrap();
    assert!(matches!(tx.members().get(m.id).await, Err(StoreError::Corrupt(_))));
    drop(tx);
    for seats in [
        r#"[{"plan": "Pro", "licences": -1}]"#,
        r#"[{"plan": "Pro", "licences": 2}, {"plan": "pro", "licences": 1}]"#,
        "[]",
        "not json",
    ] {
        db.execute_unprepared(&format!("UPDATE organisations SET seats = '{seats}'"))
            .await
            .unwrap();
        let mut tx = store.read().await.unwrap();
        let got = tx.organisations().get(org.id).await;
        assert!(
            matches!(&got, Err(StoreError::Corrupt(msg)) if msg.contains("organisations.seats")),
            "{seats}: {got:?}"
        );
    }
    db.execute_unprepared(
        "UPDATE organisations SET seats = '[{\"plan\": \"Pro\", \"licences\": 2}]'",
    )
    .await
    .unwrap();
    db.execute_unprepared("UPDATE members SET timezone = 'UTC', plan = ''").await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert!(
        matches!(tx.members().get(m.id).await, Err(StoreError::Corrupt(msg)) if msg.contains("members.plan"))
    );
}

/// Earlier versions accepted right-to-left overrides and zero-width characters in names; such
/// a row must stay readable (not `Corrupt`, which would fail every request touching the
/// member) and show without them.
async fn names_an_earlier_version_stored_with_invisible_characters_read_back_without_them(f: F) {
    let url = f.empty_database().await;
    let sea = f.connect(&url).await;
    let store: Arc<dyn account_core::ports::Store> = Arc::new(sea.clone());
    let org = organisation(1);
    let m = member(org.id, 10);
    let mut tx = store.write().await.unwrap();
    tx.organisations().insert(&org).await.unwrap();
    tx.members().insert(&m).await.unwrap();
    tx.commit().await.unwrap();
    let db = sea.connection();
    db.execute_unprepared(
        "UPDATE members SET first_name = 'Ada\u{202E}nimdA', job_title = 'Bo\u{200B}ss\u{2028}'",
    )
    .await
    .unwrap();
    db.execute_unprepared("UPDATE organisations SET name = '\u{2067}Acme\u{2069}'").await.unwrap();
    let mut tx = store.read().await.unwrap();
    let got = tx.members().get(m.id).await.unwrap().unwrap();
    assert_eq!(got.profile.first_name.as_str(), "AdanimdA");
    assert_eq!(got.profile.job_title.map(|t| t.as_str().to_owned()).as_deref(), Some("Boss"));
    let org = tx.organisations().get(org.id).await.unwrap().unwrap();
    assert_eq!(org.name.as_str(), "Acme");
}

async fn unreachable_or_closed_database_is_unavailable(f: F) {
    let unreachable = match f.backend() {
        "sqlite" => "sqlite:///nonexistent-directory/for/sure/accounts.db".to_owned(),
        _ => "postgres://postgres@127.0.0.1:1/nothing".to_owned(),
    };
    let options = SeaOptions { acquire_timeout: Duration::from_secs(1), ..SeaOptions::default() };
    let err = SeaStore::connect(&unreachable, &options).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = SeaStore::connect("mysql://localhost/x", &options).await.unwrap_err();
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");

    let url = f.empty_database().await;
    let sea = SeaStore::connect(&url, &options).await.unwrap();
    let store: Arc<dyn account_core::ports::Store> = Arc::new(sea.clone());
    store.ping().await.unwrap();
    sea.close().await.unwrap();
    assert!(matches!(store.ping().await, Err(StoreError::Unavailable(_))));
    assert!(matches!(store.write().await.map(|_| ()), Err(StoreError::Unavailable(_))));
    assert!(matches!(store.read().await.map(|_| ()), Err(StoreError::Unavailable(_))));
}

async fn erasure_leaves_no_personal_data_at_rest(f: F) {
    let url = f.empty_database().await;
    let sea = f.connect(&url).await;
    let store: Arc<dyn account_core::ports::Store> = Arc::new(sea.clone());
    let org = organisation(1);
    let m = full_member(org.id, 10, product(1, "Leads").id);
    let mut tx = store.write().await.unwrap();
    tx.organisations().insert(&org).await.unwrap();
    tx.members().insert(&m).await.unwrap();
    tx.sessions().insert(&session(1, m.id, org.id, at(1))).await.unwrap();
    tx.members().erase(m.id, account_store_tests::fixtures::t0()).await.unwrap();
    tx.commit().await.unwrap();
    let db = sea.connection();
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(sql(
            backend,
            "SELECT username, email, email_key, password_hash, invitation_digest, reset_digest, first_name, last_name, phone, \
             company, job_title, linkedin, offerings, timezone, erased_at IS NOT NULL AS erased FROM members",
            "SELECT username, email, email_key, password_hash, invitation_digest, reset_digest, first_name, last_name, phone, \
             company, job_title, linkedin, offerings, timezone, erased_at IS NOT NULL AS erased FROM members",
        ))
        .await
        .unwrap()
        .unwrap();
    for col in [
        "username",
        "email",
        "email_key",
        "password_hash",
        "first_name",
        "last_name",
        "phone",
        "company",
        "job_title",
        "linkedin",
    ] {
        assert_eq!(
            row.try_get::<Option<String>>("", col).unwrap(),
            None,
            "{col} kept after erasure"
        );
    }
    assert_eq!(row.try_get::<Option<Vec<u8>>>("", "invitation_digest").unwrap(), None);
    assert_eq!(row.try_get::<Option<Vec<u8>>>("", "reset_digest").unwrap(), None, "reset kept");
    assert_eq!(row.try_get::<String>("", "offerings").unwrap(), "[]");
    assert_eq!(row.try_get::<String>("", "timezone").unwrap(), "UTC");
    assert!(row.try_get::<bool>("", "erased").unwrap());
    // Secrets are stored as 32-byte digests.
    let digest_len = db
        .query_one_raw(sql(
            backend,
            "SELECT length(secret_digest) AS n FROM sessions",
            "SELECT octet_length(secret_digest) AS n FROM sessions",
        ))
        .await
        .unwrap()
        .unwrap();
    let n: i64 = digest_len
        .try_get::<i64>("", "n")
        .or_else(|_| digest_len.try_get::<i32>("", "n").map(i64::from))
        .unwrap();
    assert_eq!(n, 32);
}

async fn sqlite_connections_are_configured(f: F) {
    let url = f.empty_database().await;
    let store = f.connect(&url).await;
    let db = store.connection();
    // Three transactions hold three distinct pooled connections; each must be configured.
    let txns = [db.begin().await.unwrap(), db.begin().await.unwrap(), db.begin().await.unwrap()];
    for txn in &txns {
        let mut seen = Vec::new();
        for pragma in ["journal_mode", "foreign_keys", "busy_timeout", "synchronous", "cache_size"]
        {
            let row = txn
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    format!("PRAGMA {pragma}"),
                ))
                .await
                .unwrap()
                .unwrap();
            let value = row
                .try_get_by_index::<String>(0)
                .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                .unwrap();
            seen.push(format!("{pragma}={value}"));
        }
        assert_eq!(
            seen,
            [
                "journal_mode=wal",
                "foreign_keys=1",
                "busy_timeout=5000",
                "synchronous=1",
                // Negative: KiB, not pages (SeaOptions::sqlite_cache_kib's default).
                "cache_size=-512"
            ]
        );
    }
    // The page cache follows the options.
    let options = SeaOptions { sqlite_cache_kib: 4096, ..SeaOptions::default() };
    let larger = SeaStore::connect(&url, &options).await.unwrap();
    let row = larger
        .connection()
        .query_one_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA cache_size"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), -4096);
    larger.close().await.unwrap();
    // The workspace builds the bundled SQLite with the planner stability guarantee
    // (.cargo/config.toml); without it every read re-prepares its statement.
    assert_eq!(
        store.sqlite_plans_are_stable().await.unwrap(),
        Some(true),
        "SQLite lacks SQLITE_ENABLE_QPSG: is LIBSQLITE3_FLAGS from .cargo/config.toml applied?"
    );
    // ...and without memory statistics, whose global mutex every SQLite allocation took.
    let memstatus_off = store.sqlite_compiled_with("DEFAULT_MEMSTATUS=0").await.unwrap();
    assert_eq!(
        memstatus_off,
        Some(true),
        "SQLite keeps memory statistics: LIBSQLITE3_FLAGS not applied?"
    );
    // ...and without the extensions the server never uses.
    for extension in ["ENABLE_FTS3", "ENABLE_FTS5", "ENABLE_RTREE", "ENABLE_DBSTAT_VTAB"] {
        let built_in = store.sqlite_compiled_with(extension).await.unwrap();
        assert_eq!(
            built_in,
            Some(false),
            "SQLite built with {extension}: LIBSQLITE3_FLAGS not applied?"
        );
    }
}

/// A SQLite file stamps its commits (its WAL index), so `KeptSessions` wraps it; an
/// in-memory database does not, and the store is given back as it is.
async fn sqlite_change_stamps_come_from_a_file_database_only(f: F) {
    let url = f.empty_database().await;
    let store = f.connect(&url).await;
    assert!(store.stamps_commits(), "no stamp read from {url}'s WAL index");
    assert!(KeptSessions::wrap(store).is_ok());
    let memory = f.connect("sqlite::memory:").await;
    assert!(!memory.stamps_commits());
    assert!(KeptSessions::wrap(memory).is_err());
}

/// What `KeptSessions` read for a session is served without a statement while nothing
/// commits, and any commit, through another pool on the same file too, retires it: the
/// proof is a closed pool, which can serve a kept read but cannot read again.
async fn kept_sessions_serve_reads_until_any_pool_commits(f: F) {
    let url = f.empty_database().await;
    let other: Arc<dyn Store> = Arc::new(f.connect(&url).await);
    let (org, admin) = seed_org_with_admin(&other, 1).await;
    let s = session(1, admin.id, org.id, at(0));
    let mut tx = other.write().await.unwrap();
    tx.sessions().insert(&s).await.unwrap();
    tx.commit().await.unwrap();

    let kept = KeptSessions::wrap(f.connect(&url).await).unwrap();
    let first = read(&kept, s.id).await.unwrap().unwrap();
    assert_eq!((&first.0, first.1.as_ref(), first.2.as_ref()), (&s, Some(&admin), Some(&org)));
    assert_eq!(kept.kept(), 1);
    // The two-row read of every other request is served by the same entry.
    let mut tx = kept.lookup().await.unwrap();
    assert_eq!(tx.session_and_member(s.id).await.unwrap(), Some((s.clone(), Some(admin.clone()))));
    drop(tx);

    kept.store().close().await.unwrap();
    assert_eq!(read(&kept, s.id).await.unwrap(), Some(first), "served without a statement");
    // A commit through the other pool: the next read must go to the (closed) pool.
    let mut tx = other.write().await.unwrap();
    tx.sessions().touch(s.id, at(30)).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        matches!(read(&kept, s.id).await, Err(StoreError::Unavailable(_))),
        "a kept read outlived a commit"
    );
}

/// A session's read through a lookup unit of `store`.
async fn read(
    store: &KeptSessions,
    id: SessionId,
) -> Result<Option<(Session, Option<Member>, Option<Organisation>)>, StoreError> {
    let mut tx = store.lookup().await?;
    tx.session_member_and_organisation(id).await
}

/// Through `KeptSessions`, a session revoked or a member changed through another pool (a
/// second server process) is seen on the next read (rules 3, 18).
async fn kept_sessions_see_every_commit_of_another_process_at_once(f: F) {
    let url = f.empty_database().await;
    let other: Arc<dyn Store> = Arc::new(f.connect(&url).await);
    let (org, admin) = seed_org_with_admin(&other, 1).await;
    let s = session(1, admin.id, org.id, at(0));
    let mut tx = other.write().await.unwrap();
    tx.sessions().insert(&s).await.unwrap();
    tx.commit().await.unwrap();
    let kept: Arc<dyn Store> = Arc::new(KeptSessions::wrap(f.connect(&url).await).unwrap());
    let read = |store: Arc<dyn Store>| async move {
        let mut tx = store.lookup().await.unwrap();
        tx.session_member_and_organisation(s.id).await.unwrap()
    };
    assert!(read(kept.clone()).await.is_some());

    let mut renamed = admin.clone();
    renamed.profile.job_title = Some(account_core::domain::text::JobTitle::parse("CFO").unwrap());
    let mut tx = other.write().await.unwrap();
    tx.members().update(&renamed).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read(kept.clone()).await.unwrap().1, Some(renamed));

    let mut tx = other.write().await.unwrap();
    tx.sessions().delete(s.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read(kept.clone()).await, None, "a revoked session was served");
}

/// On PostgreSQL, concurrent lookups share statements, and each still gets exactly what a read
/// of its own would: its session with member and organisation, or nothing for an unknown id.
async fn coalesced_session_reads_answer_each_lookup_as_its_own_read(f: F) {
    let url = f.empty_database().await;
    let sea = f.connect(&url).await;
    let store: Arc<dyn Store> = Arc::new(sea.clone());
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let mut tx = store.write().await.unwrap();
    let sessions: Vec<Session> = (1..=40).map(|n| session(n, admin.id, org.id, at(0))).collect();
    for s in &sessions {
        tx.sessions().insert(s).await.unwrap();
    }
    tx.commit().await.unwrap();
    let before = sea.coalesced_session_reads().expect("PostgreSQL coalesces session reads");

    let lookups: Vec<_> = (0..400_u128)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let id = account_store_tests::fixtures::id(i % 50 + 1);
                let mut tx = store.lookup().await.unwrap();
                if i % 2 == 0 {
                    let read = tx.session_member_and_organisation(id).await.unwrap();
                    (i, read.map(|(s, m, o)| (s, m, o.map(|o| o.id))))
                } else {
                    let read = tx.session_and_member(id).await.unwrap();
                    (i, read.map(|(s, m)| (s, m, Some(org.id))))
                }
            })
        })
        .collect();
    for lookup in lookups {
        let (i, read) = lookup.await.unwrap();
        let n = usize::try_from(i % 50).unwrap();
        let expected = sessions.get(n).map(|s| (s.clone(), Some(admin.clone()), Some(org.id)));
        assert_eq!(read, expected, "lookup {i}");
    }
    let (lookups, statements) = sea.coalesced_session_reads().unwrap();
    assert_eq!(lookups - before.0, 400);
    assert!(
        statements - before.1 <= 40,
        "400 concurrent lookups took {} statements",
        statements - before.1
    );
}

/// A lookup never joins a statement sent before it was asked: a session inserted or deleted,
/// or a member changed, through another pool (another process) is seen by the next lookup,
/// while other lookups keep the coalesced reads busy (rules 3, 18).
async fn coalesced_session_reads_see_every_commit_made_before_them(f: F) {
    let url = f.empty_database().await;
    let store: Arc<dyn Store> = Arc::new(f.connect(&url).await);
    let other: Arc<dyn Store> = Arc::new(f.connect(&url).await);
    let (org, admin) = seed_org_with_admin(&other, 1).await;
    let busy = session(1, admin.id, org.id, at(0));
    let mut tx = other.write().await.unwrap();
    tx.sessions().insert(&busy).await.unwrap();
    tx.commit().await.unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..16)
        .map(|_| {
            let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut n = 0_u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut tx = store.lookup().await.unwrap();
                    assert!(tx.session_and_member(busy.id).await.unwrap().is_some());
                    n += 1;
                }
                n
            })
        })
        .collect();
    let lookup = |id: SessionId| {
        let store = Arc::clone(&store);
        async move {
            let mut tx = store.lookup().await.unwrap();
            tx.session_member_and_organisation(id).await.unwrap()
        }
    };
    for n in 2..=60 {
        let s = session(n, admin.id, org.id, at(0));
        let mut tx = other.write().await.unwrap();
        tx.sessions().insert(&s).await.unwrap();
        tx.commit().await.unwrap();
        assert!(lookup(s.id).await.is_some(), "session {n} inserted but not found");
        let mut tx = other.write().await.unwrap();
        tx.sessions().delete(s.id).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(lookup(s.id).await, None, "session {n} revoked but still found");
    }
    let mut disabled = admin.clone();
    disabled.status = MemberStatus::Disabled;
    let mut tx = other.write().await.unwrap();
    tx.members().update(&disabled).await.unwrap();
    tx.commit().await.unwrap();
    let read = lookup(busy.id).await.unwrap();
    assert_eq!(read.1.map(|m| m.status), Some(MemberStatus::Disabled));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut concurrent = 0;
    for task in load {
        concurrent += task.await.unwrap();
    }
    assert!(concurrent > 100, "only {concurrent} lookups ran beside the checks");
}

/// A request dropped while its unit waits for `BEGIN`'s answer (a client that disconnects, a
/// timeout) must not hand its pooled connection on inside a transaction: the next unit's
/// `BEGIN ISOLATION LEVEL …` then fails, and its writes join a transaction nobody commits.
/// (sqlx-postgres 0.9.0 did so; 0.9.1 rolls back.) One connection, so the next unit gets it;
/// each attempt is polled a few more times before it is dropped, to land in that window.
async fn a_unit_cancelled_while_it_begins_leaves_no_transaction_open(f: F) {
    let url = f.empty_database().await;
    let options = SeaOptions { max_connections: Some(1), ..SeaOptions::default() };
    let sea = SeaStore::connect(&url, &options).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(sea.clone());
    let witness = f.connect(&url).await;
    let db = witness.connection();
    let (mut cancelled_units, mut leaked) = (0, Vec::new());
    for n in 0..400_u64 {
        let unit = async {
            if n % 2 == 0 { store.read().await.map(drop) } else { store.write().await.map(drop) }
        };
        // Dropped after a wait of 0 to 700 µs, polled all along: somewhere in its round trips.
        let wait = Duration::from_micros(n * 37 % 700);
        let finished = tokio::select! {
            biased;
            _ = unit => true,
            () = async {
                let start = std::time::Instant::now();
                while start.elapsed() < wait {
                    tokio::task::yield_now().await;
                }
            } => false,
        };
        cancelled_units += usize::from(!finished);
        // Back in the pool, the store's connection is idle, not idle in a transaction. The
        // pool rolls a cancelled unit back in a task of its own, which a loaded machine may
        // run late: a leak is a transaction still open a second later (sqlx 0.9.0 left it
        // open until the connection's next unit).
        let started = std::time::Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let row = db
                .query_one_raw(sql(
                    db.get_database_backend(),
                    "",
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
                     AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'",
                ))
                .await
                .unwrap()
                .unwrap();
            if row.try_get::<i64>("", "n").unwrap() == 0 {
                break;
            }
            if started.elapsed() > Duration::from_secs(1) {
                leaked.push(n);
                break;
            }
        }
        let mut tx = store.write().await.expect("a write unit after a cancelled one");
        tx.organisations().insert(&organisation(u128::from(n) + 1)).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert!(cancelled_units > 20, "only {cancelled_units} units were cancelled");
    assert_eq!(
        leaked,
        Vec::<u64>::new(),
        "units cancelled at these attempts left a transaction open"
    );
}

/// Reading the change stamp leaves the POSIX locks SQLite holds on the WAL index (`-shm`) as
/// they were. POSIX drops all of a process's locks on a file when the process closes any
/// descriptor of it; when each reading opened and closed the file, the server's locks went,
/// and a second process (`sqlite3`, the `accounts` CLI) rebuilt the WAL index under it: the
/// server died of `SIGBUS`. `/proc/locks` lists each lock with its process and inode.
#[cfg(target_os = "linux")]
async fn reading_the_stamp_keeps_sqlites_locks(f: F) {
    use std::os::unix::fs::MetadataExt;
    let url = f.empty_database().await;
    let store = f.connect(&url).await;
    // A read, so that a pooled connection has the WAL index mapped (and locked) when idle.
    let mut tx = store.lookup().await.unwrap();
    assert!(tx.organisations().get(organisation(1).id).await.unwrap().is_none());
    drop(tx);
    let path = format!("{}-shm", url.trim_start_matches("sqlite://"));
    let inode = std::fs::metadata(&path).unwrap().ino();
    let ours = || {
        let locks = std::fs::read_to_string("/proc/locks").unwrap();
        let pid = std::process::id().to_string();
        locks
            .lines()
            .filter(|l| {
                let fields: Vec<&str> = l.split_whitespace().collect();
                fields.contains(&pid.as_str())
                    && fields.iter().any(|x| x.rsplit(':').next() == Some(&inode.to_string()))
            })
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let before = ours();
    assert!(!before.is_empty(), "SQLite holds no lock on {path}: nothing to check");
    for _ in 0..3 {
        assert!(store.stamps_commits());
    }
    assert_eq!(ours(), before, "reading the stamp changed this process's locks on {path}");
}

async fn foreign_key_checks_do_not_wait_for_an_organisation_lock(f: F) {
    let url = f.empty_database().await;
    let store: Arc<dyn account_core::ports::Store> = Arc::new(f.connect(&url).await);
    let org = organisation(1);
    let mut tx = store.write().await.unwrap();
    tx.organisations().insert(&org).await.unwrap();
    for p in pools(org.id) {
        tx.credits().insert_pool(&p).await.unwrap();
    }
    tx.commit().await.unwrap();
    // One unit holds the organisation's lock (as deleting an account does) ...
    let mut holder = store.write().await.unwrap();
    holder.organisations().lock(org.id).await.unwrap().unwrap();
    // ... while another locks a pool and appends a ledger entry of that organisation, whose
    // foreign-key check reads the organisation row: it must not wait for the holder, or the
    // two would deadlock as soon as the holder goes on to lock the pool.
    let other = store.clone();
    let writer = tokio::spawn(async move {
        let mut tx = other.write().await.unwrap();
        tx.credits().lock_pool(org.id, CreditKind::Export).await.unwrap().unwrap();
        tx.credits().append(&grant(1, org.id, CreditKind::Export, 5, at(1))).await.unwrap();
        tx.commit().await.unwrap();
    });
    tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .expect("the ledger insert waited for the organisation lock")
        .unwrap();
    holder.credits().lock_pool(org.id, CreditKind::Export).await.unwrap().unwrap();
    holder.commit().await.unwrap();
}

/// The shapes of the repositories' queries (as sea-orm renders them, with literals for the
/// parameters), each of which must find its rows through an index, never by scanning the
/// table. SQLite plans without statistics, so the plan does not depend on the data.
const INDEXED_QUERIES: [&str; 19] = [
    "SELECT spender_id, SUM(amount) FROM consumption_rollups WHERE org_id = X'01' AND spender_id = X'03' AND ((unit = 'day' AND start >= 1 AND start < 2) OR (unit = 'month' AND start >= 3 AND start < 4)) GROUP BY spender_id",
    "SELECT spender_id, SUM(amount) FROM consumption_rollups WHERE org_id = X'01' AND ((unit = 'day' AND start >= 1 AND start < 2) OR (unit = 'month' AND start >= 3 AND start < 4)) GROUP BY spender_id",
    "SELECT * FROM members WHERE erased_at IS NULL AND org_id = X'01' AND status = 'enabled' AND id > X'02' ORDER BY id LIMIT 50",
    "SELECT status, role, COUNT(id) FROM members WHERE erased_at IS NULL AND org_id = X'01' GROUP BY status, role",
    "SELECT * FROM members WHERE erased_at IS NULL AND email_key = 'a@b.se' LIMIT 1",
    "SELECT * FROM members WHERE erased_at IS NULL AND username = 'jane' LIMIT 1",
    "SELECT * FROM allocations WHERE org_id = X'01'",
    "SELECT * FROM allocations WHERE member_id = X'01'",
    "SELECT * FROM ledger_entries WHERE org_id = X'01' AND (at > '2026-01-05T09:00:00+00:00' OR (at = '2026-01-05T09:00:00+00:00' AND id > X'02')) ORDER BY at, id LIMIT 50",
    "SELECT * FROM ledger_entries WHERE org_id = X'01' AND member_id = X'03' ORDER BY at, id LIMIT 50",
    "SELECT * FROM ledger_entries WHERE org_id = X'01' AND event_id = 'evt' LIMIT 1",
    "SELECT * FROM ledger_entries WHERE org_id = X'01' AND entry_type = 'consume' AND at >= '2026-01-01T00:00:00+00:00' AND at < '2026-02-01T00:00:00+00:00' AND spender_id = X'03' ORDER BY at, id",
    "SELECT * FROM contacts WHERE org_id = X'01' ORDER BY created_at, id",
    "SELECT * FROM sessions WHERE member_id = X'01' ORDER BY created_at, id",
    "DELETE FROM sessions WHERE imp_admin_session_id IN (SELECT id FROM sessions WHERE expires_at <= '2026-01-05T09:00:00+00:00') AND NOT (expires_at <= '2026-01-05T09:00:00+00:00')",
    "SELECT * FROM api_keys WHERE member_id = X'01' ORDER BY created_at, id",
    "SELECT * FROM audit_entries WHERE org_id = X'01' AND (at < '2026-01-05T09:00:00+00:00' OR (at = '2026-01-05T09:00:00+00:00' AND id < X'02')) ORDER BY at DESC, id DESC LIMIT 50",
    "SELECT * FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= '2026-01-05T09:00:00+00:00' ORDER BY next_attempt_at, created_at, id LIMIT 10",
    "SELECT * FROM digests WHERE due_at <= '2026-01-05T09:00:00+00:00' ORDER BY due_at, member_id LIMIT 10",
];

async fn sqlite_queries_use_indexes(f: F) {
    let url = f.empty_database().await;
    let store = f.connect(&url).await;
    let db = store.connection();
    let mut scans = Vec::new();
    for query in INDEXED_QUERIES.iter().chain(&[
        "SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY created_at, id LIMIT 10",
        "DELETE FROM idempotency_records WHERE created_at < '2026-01-05T09:00:00+00:00'",
    ]) {
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!("EXPLAIN QUERY PLAN {query}"),
            ))
            .await
            .unwrap();
        for row in rows {
            let detail: String = row.try_get("", "detail").unwrap();
            // `SCAN t` reads the whole table; `SCAN t USING INDEX …` walks an index in order.
            if detail.starts_with("SCAN ") && !detail.contains("USING") {
                scans.push(format!("{query}  =>  {detail}"));
            }
        }
    }
    assert!(scans.is_empty(), "queries scanning a whole table:\n{}", scans.join("\n"));
}
