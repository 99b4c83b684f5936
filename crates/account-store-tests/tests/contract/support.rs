//! [`SeaFactory`]: sea-orm stores on SQLite files in a temporary directory, or on a PostgreSQL
//! database created for the run (emptied between cases, dropped at the end).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use account_core::ids::MailId;
use account_core::ports::Store;
use account_sea::{SeaOptions, SeaStore};
use account_store_tests::StoreFactory;
use async_trait::async_trait;
use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use tokio::sync::Mutex;

/// A random lower-case hex string, for names no other run uses.
pub fn random_suffix() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// An administrative connection that gives up quickly when the server is not there.
async fn admin(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(url);
    options.max_connections(1).acquire_timeout(Duration::from_secs(5)).sqlx_logging(false);
    Database::connect(options).await
}

/// `url` with its database name replaced by `db` (query parameters kept).
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{db}", &base[..path]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

enum Kind {
    Sqlite { dir: PathBuf },
    Postgres { admin_url: String, run_db: String },
}

#[derive(Default)]
struct State {
    /// The database of the last `fresh` store.
    url: Option<String>,
    /// Every store opened since the last `fresh`, to close before the next.
    open: Vec<SeaStore>,
    /// PostgreSQL: the store on the run's database, kept open from case to case.
    main: Option<SeaStore>,
    /// Databases made by `empty_database` (PostgreSQL), to drop at teardown.
    extra: Vec<String>,
    seq: u32,
}

/// Hands out sea-orm stores.
pub struct SeaFactory {
    kind: Kind,
    state: Mutex<State>,
}

impl SeaFactory {
    /// SQLite files in a new temporary directory.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("accounts-contract-{}", random_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { kind: Kind::Sqlite { dir }, state: Mutex::default() }
    }

    /// A PostgreSQL database `accounts_test_<random>` created on the server of `admin_url`.
    pub async fn postgres(admin_url: &str) -> Result<Self, sea_orm::DbErr> {
        let run_db = format!("accounts_test_{}", random_suffix());
        let admin = admin(admin_url).await?;
        admin.execute_unprepared(&format!("CREATE DATABASE \"{run_db}\"")).await?;
        admin.close().await?;
        Ok(Self {
            kind: Kind::Postgres { admin_url: admin_url.to_owned(), run_db },
            state: Mutex::default(),
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.kind {
            Kind::Sqlite { .. } => "sqlite",
            Kind::Postgres { .. } => "postgres",
        }
    }

    /// The URL of a new, empty database (nothing created in it yet).
    pub async fn empty_database(&self) -> String {
        let mut state = self.state.lock().await;
        state.seq += 1;
        match &self.kind {
            Kind::Sqlite { dir } => {
                format!("sqlite://{}", dir.join(format!("db-{}.db", state.seq)).display())
            }
            Kind::Postgres { admin_url, run_db } => {
                let name = format!("{run_db}_{}", state.seq);
                let admin = admin(admin_url).await.unwrap();
                admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
                admin.close().await.unwrap();
                state.extra.push(name.clone());
                with_database(admin_url, &name)
            }
        }
    }

    /// Connects to `url`, remembering the store so that it is closed before the next case.
    pub async fn connect(&self, url: &str) -> SeaStore {
        let store = SeaStore::connect(url, &SeaOptions::default()).await.unwrap();
        self.state.lock().await.open.push(store.clone());
        store
    }

    /// Closes every store opened so far.
    pub async fn close_all(&self) {
        let open = std::mem::take(&mut self.state.lock().await.open);
        for store in open {
            store.close().await.unwrap();
        }
    }

    /// Closes everything and removes the databases of the run.
    pub async fn teardown(&self) {
        self.close_all().await;
        if let Some(main) = self.state.lock().await.main.take() {
            main.close().await.unwrap();
        }
        match &self.kind {
            Kind::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Kind::Postgres { admin_url, run_db } => {
                let extra = std::mem::take(&mut self.state.lock().await.extra);
                let admin = admin(admin_url).await.unwrap();
                for db in extra.iter().chain(std::iter::once(run_db)) {
                    admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"
                        ))
                        .await
                        .unwrap();
                }
                admin.close().await.unwrap();
            }
        }
    }

    /// Empties every table of the run's PostgreSQL database (the schema stays), children
    /// before parents. `DELETE` rather than `TRUNCATE`: on tables this small it is several
    /// times faster.
    async fn empty(store: &SeaStore) {
        const TABLES: [&str; 17] = [
            "allocations",
            "consumption_rollups",
            "ledger_entries",
            "sessions",
            "api_keys",
            "email_changes",
            "digests",
            "contacts",
            "credit_pools",
            "members",
            "organisations",
            "audit_entries",
            "outbox",
            "products",
            "idempotency_records",
            "limits",
            "known_clients",
        ];
        let sql: String = TABLES.iter().map(|t| format!("DELETE FROM {t};")).collect();
        store.connection().execute_unprepared(&sql).await.unwrap();
    }

    /// The store of the last `fresh` call's database, to look through.
    pub async fn current_url(&self) -> String {
        self.state.lock().await.url.clone().expect("no fresh store yet")
    }
}

#[async_trait]
impl StoreFactory for SeaFactory {
    fn name(&self) -> String {
        self.backend().into()
    }

    async fn fresh(&self) -> Arc<dyn Store> {
        self.close_all().await;
        let store = match &self.kind {
            Kind::Sqlite { .. } => {
                let url = self.empty_database().await;
                let store = self.connect(&url).await;
                self.state.lock().await.url = Some(url);
                store
            }
            Kind::Postgres { admin_url, run_db } => {
                let url = with_database(admin_url, run_db);
                let main = self.state.lock().await.main.clone();
                let store = match main {
                    Some(store) => store,
                    None => {
                        let store = SeaStore::connect(&url, &SeaOptions::default()).await.unwrap();
                        self.state.lock().await.main = Some(store.clone());
                        store
                    }
                };
                Self::empty(&store).await;
                self.state.lock().await.url = Some(url);
                store
            }
        };
        Arc::new(store)
    }

    async fn reopen(&self) -> Arc<dyn Store> {
        let url = self.current_url().await;
        Arc::new(self.connect(&url).await)
    }

    async fn stored_sealed(&self, mail: MailId) -> Option<Vec<u8>> {
        let state = self.state.lock().await;
        let store =
            state.main.clone().or_else(|| state.open.first().cloned()).expect("no open store");
        drop(state);
        let db = store.connection();
        let backend = db.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => "SELECT sealed FROM outbox WHERE id = $1",
            _ => "SELECT sealed FROM outbox WHERE id = ?",
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, [mail.as_uuid().into()]))
            .await
            .unwrap()?;
        Some(row.try_get::<Vec<u8>>("", "sealed").unwrap())
    }
}
