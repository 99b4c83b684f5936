//! [`SeaStore`]: the store ports over one sea-orm connection pool, on SQLite or PostgreSQL,
//! and [`SeaTx`], its unit of work over one database transaction.
//!
//! How units serialise (the contract of `account_core::ports::store`):
//! - SQLite: a write unit starts with `BEGIN IMMEDIATE`, which takes the database's single
//!   write lock at once, so no unit can fail half-way with "database is locked"; inside one
//!   process, write units also queue on an async mutex first, so that they wait in a fair queue
//!   instead of polling the lock through `busy_timeout`. Read units are deferred transactions
//!   (a WAL snapshot) and never block writers.
//! - PostgreSQL: a write unit is a READ COMMITTED transaction whose `lock_*` reads take a row
//!   lock (`SELECT … FOR NO KEY UPDATE`) held until the unit ends. Read units are
//!   REPEATABLE READ, READ ONLY transactions: one consistent snapshot, no locks.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use std::time::Duration;

use account_core::domain::member::Member;
use account_core::domain::organisation::Organisation;
use account_core::domain::session::{ApiKey, Session};
use account_core::ids::{ApiKeyId, MemberId, SessionId};
use account_core::ports::{
    Activity, ApiKeyRepo, AuditRepo, CatalogueRepo, ContactRepo, CreditRepo, DigestRepo,
    EmailChangeRepo, IdempotencyRepo, LimitRepo, MemberRepo, OrganisationRepo, OutboxRepo,
    SessionRepo, Store, StoreError, Tx,
};
use async_trait::async_trait;
use sea_orm::sea_query::LockType;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseExecutor,
    DatabaseTransaction, DbBackend, EntityTrait, IsolationLevel, QuerySelect, QueryTrait, Select,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::batch::SessionReads;
use crate::error::db_err;
use crate::migration::Migrator;
use crate::touches::Touches;
use crate::wal_index::{ChangeStamp, WalIndex};

/// Connection settings. The defaults suit a server: see `docs/storage.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeaOptions {
    /// Most pooled connections; `None` for the backend's default (SQLite 8, PostgreSQL 10).
    pub max_connections: Option<u32>,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// Longest wait for a free connection (or, on SQLite, for this process's writer turn)
    /// before a unit fails with [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
    /// SQLite only: how long a statement waits for another process's write lock.
    pub busy_timeout: Duration,
    /// Log every statement (through sqlx's logger).
    pub log_statements: bool,
    /// SQLite only: the most each connection keeps in its page cache, in KiB (SQLite's own
    /// default is about 2 MiB). Pages it no longer holds are read again from the operating
    /// system's file cache.
    pub sqlite_cache_kib: u32,
    /// Apply pending migrations on connecting (the server and `accounts migrate` do; other
    /// tools check [`SeaStore::pending_migrations`] instead).
    pub migrate: bool,
    /// SQLite only: create the database file if it does not exist.
    pub create_if_missing: bool,
}

impl Default for SeaOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(5),
            log_statements: false,
            sqlite_cache_kib: SQLITE_CACHE_KIB,
            migrate: true,
            create_if_missing: true,
        }
    }
}

/// Default page cache per SQLite connection, in KiB: a quarter of SQLite's default. Measured
/// on the bench's file (docs/benchmarks.md): 8 MiB less resident under the team list,
/// consumptions and allocations, with requests per second within the noise, since the pages
/// come back from the operating system's file cache.
pub const SQLITE_CACHE_KIB: u32 = 512;

/// Default pool size on SQLite: readers run in parallel under WAL; writers queue anyway.
const SQLITE_MAX_CONNECTIONS: u32 = 8;
/// Default pool size on PostgreSQL, per server process.
const POSTGRES_MAX_CONNECTIONS: u32 = 10;
/// Key of the advisory lock that serialises migrations of concurrent server processes.
const MIGRATION_LOCK: i64 = 0x6163_636f_756e_7473; // "accounts"

/// The store ports on SQLite or PostgreSQL. Cloning shares the pool.
#[derive(Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
    backend: DbBackend,
    /// SQLite: one writer at a time in this process (see the module docs).
    write_gate: Option<Arc<Mutex<()>>>,
    acquire_timeout: Duration,
    /// SQLite on a file: its WAL index, which stamps commits (see [`SeaStore::change_stamp`]).
    wal_index: Option<WalIndex>,
    /// Session and API-key touches this process has under way (`Store::record_activity`).
    touches: Arc<Touches>,
    /// PostgreSQL: lookup units' session reads, coalesced (`crate::batch`).
    session_reads: Option<Arc<SessionReads>>,
}

impl std::fmt::Debug for SeaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaStore").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl SeaStore {
    /// Connects to `url` (`sqlite://path/to/file.db`, `postgres://user@host/db`), configures
    /// every connection (SQLite: WAL, foreign keys, busy timeout, `synchronous = NORMAL`), and
    /// applies pending migrations.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the database cannot be reached;
    /// [`StoreError::Other`] for an unknown URL scheme or a failed migration.
    pub async fn connect(url: &str, options: &SeaOptions) -> Result<Self, StoreError> {
        // Switching a new SQLite file to WAL takes an exclusive lock for which SQLite may
        // answer "database is locked" at once instead of waiting, so processes starting
        // together on a fresh file retry briefly; other failures are returned as they are.
        let mut attempt = 0u32;
        loop {
            match Self::connect_once(url, options).await {
                Err(StoreError::Unavailable(e))
                    if url.starts_with("sqlite:")
                        && attempt < 20
                        && e.to_string().contains("database is locked") =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(25 * u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }

    async fn connect_once(url: &str, options: &SeaOptions) -> Result<Self, StoreError> {
        let backend = if url.starts_with("sqlite:") {
            DbBackend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DbBackend::Postgres
        } else {
            return Err(StoreError::Other(
                "unsupported database URL: use sqlite:// or postgres://".into(),
            ));
        };
        let default_max = match backend {
            DbBackend::Sqlite => SQLITE_MAX_CONNECTIONS,
            _ => POSTGRES_MAX_CONNECTIONS,
        };
        let max = options.max_connections.unwrap_or(default_max).max(1);
        let mut opt = ConnectOptions::new(url);
        opt.max_connections(max)
            .min_connections(options.min_connections.min(max))
            .acquire_timeout(options.acquire_timeout)
            // A connection is pinged before use only when it has sat idle for a second (it
            // may have been dropped by a database restart or a firewall); one in steady use
            // is not, which saves a round trip per unit of work.
            .test_before_acquire_if_idle_for(Duration::from_secs(1))
            .sqlx_logging(options.log_statements);
        if backend == DbBackend::Sqlite {
            let busy = options.busy_timeout;
            // A negative cache size is in KiB rather than pages.
            let cache = format!("-{}", options.sqlite_cache_kib.max(1));
            let create = options.create_if_missing;
            opt.map_sqlx_sqlite_opts(move |o| {
                o.create_if_missing(create)
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .busy_timeout(busy)
                    .synchronous(SqliteSynchronous::Normal)
                    .pragma("cache_size", cache.clone())
            });
        }
        let db = Database::connect(opt).await.map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let session_reads =
            (backend == DbBackend::Postgres).then(|| Arc::new(SessionReads::new(db.clone())));
        let mut store = Self {
            db,
            backend,
            write_gate: (backend == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            acquire_timeout: options.acquire_timeout,
            wal_index: None,
            touches: Arc::default(),
            session_reads,
        };
        if options.migrate {
            store.migrate().await?;
        }
        store.wal_index = store.sqlite_file().await?.as_deref().and_then(WalIndex::of);
        if store.sqlite_plans_are_stable().await? == Some(false) {
            tracing::warn!(
                "SQLite was built without SQLITE_ENABLE_QPSG: it re-plans cached statements on \
                 every execution, which roughly halves read throughput; build libsqlite3-sys \
                 with LIBSQLITE3_FLAGS=-DSQLITE_ENABLE_QPSG (docs/storage.md, \"Statement plans\")"
            );
        }
        Ok(store)
    }

    /// On SQLite, whether the linked library was built with `SQLITE_ENABLE_QPSG` (the query
    /// planner stability guarantee: a cached statement keeps its plan when its parameters are
    /// bound again); `None` on PostgreSQL. Without it, SQLite re-prepares a statement whose
    /// plan depended on a bound value (a `LIMIT ?`, a compared parameter) on every execution.
    ///
    /// # Errors
    /// Driver failures.
    pub async fn sqlite_plans_are_stable(&self) -> Result<Option<bool>, StoreError> {
        self.sqlite_compiled_with("ENABLE_QPSG").await
    }

    /// On SQLite, whether `option` (as `pragma_compile_options` lists it, without the
    /// `SQLITE_` prefix: `ENABLE_QPSG`, `DEFAULT_MEMSTATUS=0`) was compiled into the linked
    /// library; `None` on PostgreSQL.
    ///
    /// # Errors
    /// Driver failures.
    pub async fn sqlite_compiled_with(&self, option: &str) -> Result<Option<bool>, StoreError> {
        if self.backend != DbBackend::Sqlite {
            return Ok(None);
        }
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT count(*) FROM pragma_compile_options WHERE compile_options = ?",
                [option.into()],
            ))
            .await
            .map_err(db_err)?;
        let found: i64 = match row {
            Some(row) => row.try_get_by_index(0).map_err(db_err)?,
            None => 0,
        };
        Ok(Some(found > 0))
    }

    /// On SQLite, the main database's file as SQLite opened it (empty for an in-memory
    /// database); `None` on PostgreSQL.
    async fn sqlite_file(&self) -> Result<Option<String>, StoreError> {
        if self.backend != DbBackend::Sqlite {
            return Ok(None);
        }
        let sql = "SELECT file FROM pragma_database_list WHERE name = 'main'";
        let row = self
            .db
            .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
            .await
            .map_err(db_err)?;
        row.map(|row| row.try_get_by_index::<String>(0)).transpose().map_err(db_err)
    }

    /// Applies pending migrations in one transaction that holds a lock (SQLite's write lock;
    /// a PostgreSQL advisory lock), so that server processes starting together migrate once.
    /// Applying them again is a no-op.
    ///
    /// # Errors
    /// [`StoreError`] when a migration fails; then none of this call's migrations is applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        if self.backend == DbBackend::Postgres {
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                .await
                .map_err(db_err)?;
        }
        Migrator::up(&txn, None).await.map_err(db_err)?;
        txn.commit().await.map_err(db_err)
    }

    /// Names of the migrations not yet applied, oldest first; read without changing the
    /// database (a database that was never migrated has them all pending).
    ///
    /// # Errors
    /// Driver failures.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        let pending = Migrator::get_pending_migrations_read_only(&self.db).await.map_err(db_err)?;
        Ok(pending.iter().map(|m| m.name().to_owned()).collect())
    }

    /// Names of the applied migrations, oldest first.
    ///
    /// # Errors
    /// Driver failures.
    pub async fn applied_migrations(&self) -> Result<Vec<String>, StoreError> {
        let applied = Migrator::get_applied_migrations(&self.db).await.map_err(db_err)?;
        Ok(applied.iter().map(|m| m.name().to_owned()).collect())
    }

    /// A stamp of the committed state, read without a connection: once any unit committed
    /// since a reading (in this process or another on the same database), the next reading
    /// differs. SQLite on a file: from the WAL index's header (`crate::wal_index`); `None`
    /// on PostgreSQL (no stamp other servers' commits move without a round trip) and on an
    /// in-memory database.
    pub(crate) fn change_stamp(&self) -> Option<ChangeStamp> {
        self.wal_index.as_ref().and_then(WalIndex::stamp)
    }

    /// True when commits can be stamped (SQLite on a file), so [`KeptSessions`](crate::KeptSessions)
    /// can keep session reads.
    #[must_use]
    pub fn stamps_commits(&self) -> bool {
        self.change_stamp().is_some()
    }

    /// PostgreSQL: how many session lookups the coalesced reads have answered, and in how many
    /// statements; `None` on SQLite, which reads each lookup on its own.
    #[must_use]
    pub fn coalesced_session_reads(&self) -> Option<(u64, u64)> {
        self.session_reads.as_ref().map(|reads| reads.counts())
    }

    /// The underlying sea-orm connection pool, for tooling and tests (schema checks, raw
    /// SQL, backups with `VACUUM INTO`). Use cases go through [`Store`] only.
    #[must_use]
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// `"sqlite"` or `"postgres"`.
    #[must_use]
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            DbBackend::Sqlite => "sqlite",
            DbBackend::Postgres => "postgres",
            _ => "other",
        }
    }

    /// Closes every pooled connection (waiting for units in progress to end). On SQLite this
    /// also checkpoints the WAL when the last connection closes.
    ///
    /// # Errors
    /// Driver failures.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.db.close_by_ref().await.map_err(db_err)
    }

    /// On SQLite, this process's turn to write (write units run one at a time); on
    /// PostgreSQL, nothing to wait for.
    async fn write_turn(&self) -> Result<Option<OwnedMutexGuard<()>>, StoreError> {
        let Some(gate) = &self.write_gate else { return Ok(None) };
        let turn = tokio::time::timeout(self.acquire_timeout, gate.clone().lock_owned()).await;
        turn.map(Some).map_err(|_| {
            StoreError::Unavailable("no write turn on the SQLite database in time".into())
        })
    }

    async fn begin_write(&self) -> Result<DatabaseTransaction, StoreError> {
        match self.backend {
            DbBackend::Sqlite => self
                .db
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                })
                .await
                .map_err(db_err),
            _ => self.db.begin().await.map_err(db_err),
        }
    }
}

#[async_trait]
impl Store for SeaStore {
    async fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        let gate = self.write_turn().await?;
        let txn = self.begin_write().await?;
        Ok(Box::new(SeaTx { _gate: gate, ..SeaTx::new(txn, self.backend, true) }))
    }

    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        let txn = match self.backend {
            DbBackend::Postgres => {
                self.db
                    .begin_with_options(TransactionOptions {
                        isolation_level: Some(IsolationLevel::RepeatableRead),
                        access_mode: Some(AccessMode::ReadOnly),
                        ..TransactionOptions::default()
                    })
                    .await
            }
            _ => self.db.begin().await,
        }
        .map_err(db_err)?;
        Ok(Box::new(SeaTx::new(txn, self.backend, false)))
    }

    async fn lookup(&self) -> Result<Box<dyn Tx>, StoreError> {
        let unit = Unit::Pool(self.db.clone());
        let session_reads = self.session_reads.clone();
        Ok(Box::new(SeaTx {
            unit,
            backend: self.backend,
            writable: false,
            session_reads,
            _gate: None,
        }))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await.map_err(|e| StoreError::Unavailable(Box::new(e)))
    }

    /// Of the ids in `used`, writes those this process has not begun to touch in the last
    /// `TOUCH_INTERVAL` (`crate::touches`); a failed write gives the claims back.
    async fn record_activity(
        &self,
        used: &[Activity],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let claimed: Vec<Activity> =
            used.iter().copied().filter(|a| self.touches.claim(a.uuid(), at)).collect();
        if claimed.is_empty() {
            return Ok(());
        }
        let written = async {
            let mut tx = self.write().await?;
            for activity in &claimed {
                match *activity {
                    Activity::Session(id) => tx.sessions().touch(id, at).await?,
                    Activity::ApiKey(id) => tx.api_keys().touch(id, at).await?,
                }
            }
            tx.commit().await
        }
        .await;
        if written.is_err() {
            for activity in &claimed {
                self.touches.release(activity.uuid(), at);
            }
        }
        written
    }
}

/// What a unit runs its statements on: a database transaction, or, for lookup units, the pool
/// itself (each statement on its own, no `BEGIN` / `COMMIT`).
#[derive(Debug)]
pub(crate) enum Unit {
    Txn(DatabaseTransaction),
    Pool(DatabaseConnection),
}

/// One unit of work: a database transaction (dropping it without [`Tx::commit`] rolls it
/// back), or a lookup unit's statements on the pool.
pub struct SeaTx {
    // Declared before `_gate` so that it drops (and queues its rollback) first.
    unit: Unit,
    backend: DbBackend,
    writable: bool,
    /// A lookup unit's coalesced session reads (PostgreSQL).
    pub(crate) session_reads: Option<Arc<SessionReads>>,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl std::fmt::Debug for SeaTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaTx")
            .field("backend", &self.backend)
            .field("writable", &self.writable)
            .finish_non_exhaustive()
    }
}

impl SeaTx {
    fn new(txn: DatabaseTransaction, backend: DbBackend, writable: bool) -> Self {
        Self { unit: Unit::Txn(txn), backend, writable, session_reads: None, _gate: None }
    }

    /// Where reads run.
    pub(crate) fn r(&self) -> DatabaseExecutor<'_> {
        match &self.unit {
            Unit::Txn(txn) => DatabaseExecutor::Transaction(txn),
            Unit::Pool(pool) => DatabaseExecutor::Connection(pool),
        }
    }

    /// Where writes run: refused in a read or lookup unit, as the memory store does.
    pub(crate) fn w(&self) -> Result<DatabaseExecutor<'_>, StoreError> {
        if self.writable {
            Ok(self.r())
        } else {
            Err(StoreError::Other("write in a read-only unit".into()))
        }
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.backend
    }

    /// True for a write unit.
    pub(crate) fn writable(&self) -> bool {
        self.writable
    }

    /// Runs a write that may break a uniqueness rule, and returns the rows it changed. A
    /// failed statement must leave the unit usable, as on SQLite and in the memory store (a
    /// use case may catch the conflict and go on); PostgreSQL instead aborts the whole
    /// transaction, so there the statement runs inside a savepoint that is rolled back when it
    /// fails.
    pub(crate) async fn exec_guarded<Q: QueryTrait + Send>(
        &self,
        query: Q,
    ) -> Result<u64, StoreError> {
        let statement = query.build(self.backend);
        self.w()?; // refused in read units, like every write
        let Unit::Txn(txn) = &self.unit else {
            // Only lookup units run on the pool, and they are read-only.
            return Err(StoreError::Other("write outside a transaction".into()));
        };
        if self.backend != DbBackend::Postgres {
            let done = txn.execute_raw(statement).await.map_err(db_err)?;
            return Ok(done.rows_affected());
        }
        let savepoint = txn.begin().await.map_err(db_err)?;
        match savepoint.execute_raw(statement).await {
            Ok(done) => {
                savepoint.commit().await.map_err(db_err)?;
                Ok(done.rows_affected())
            }
            Err(err) => {
                savepoint.rollback().await.map_err(db_err)?;
                Err(db_err(err))
            }
        }
    }

    /// `select`, locking the rows it reads until the unit ends when this is a write unit on
    /// PostgreSQL. `FOR NO KEY UPDATE` rather than `FOR UPDATE`: it excludes every other
    /// `lock_*` and write of the row just the same, but not the `FOR KEY SHARE` lock that a
    /// foreign-key check takes on the parent row, so inserting a ledger entry of an
    /// organisation does not wait for (or deadlock with) a unit holding that organisation's
    /// lock. SQLite has no row locks: its write units are serialised whole.
    pub(crate) fn locking<E: EntityTrait>(&self, select: Select<E>) -> Select<E> {
        if self.writable && self.backend == DbBackend::Postgres {
            select.lock(LockType::NoKeyUpdate)
        } else {
            select
        }
    }
}

#[async_trait]
impl Tx for SeaTx {
    fn organisations(&mut self) -> &mut dyn OrganisationRepo {
        self
    }
    fn members(&mut self) -> &mut dyn MemberRepo {
        self
    }
    fn credits(&mut self) -> &mut dyn CreditRepo {
        self
    }
    fn contacts(&mut self) -> &mut dyn ContactRepo {
        self
    }
    fn sessions(&mut self) -> &mut dyn SessionRepo {
        self
    }
    fn api_keys(&mut self) -> &mut dyn ApiKeyRepo {
        self
    }
    fn email_changes(&mut self) -> &mut dyn EmailChangeRepo {
        self
    }
    fn audit(&mut self) -> &mut dyn AuditRepo {
        self
    }
    fn outbox(&mut self) -> &mut dyn OutboxRepo {
        self
    }
    fn catalogue(&mut self) -> &mut dyn CatalogueRepo {
        self
    }
    fn digests(&mut self) -> &mut dyn DigestRepo {
        self
    }
    fn idempotency(&mut self) -> &mut dyn IdempotencyRepo {
        self
    }
    fn limits(&mut self) -> &mut dyn LimitRepo {
        self
    }

    async fn session_and_member(
        &mut self,
        id: SessionId,
    ) -> Result<Option<(Session, Option<Member>)>, StoreError> {
        self.session_and_member_joined(id).await
    }

    async fn session_member_and_organisation(
        &mut self,
        id: SessionId,
    ) -> Result<Option<(Session, Option<Member>, Option<Organisation>)>, StoreError> {
        self.session_member_and_organisation_joined(id).await
    }

    async fn api_key_and_member(
        &mut self,
        id: ApiKeyId,
    ) -> Result<Option<(ApiKey, Option<Member>)>, StoreError> {
        self.api_key_and_member_joined(id).await
    }

    async fn member_and_organisation(
        &mut self,
        id: MemberId,
    ) -> Result<Option<(Member, Option<Organisation>)>, StoreError> {
        self.member_and_organisation_joined(id).await
    }

    async fn members_by_id(&mut self, ids: &[MemberId]) -> Result<Vec<Member>, StoreError> {
        self.members_in(ids).await
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let Self { unit, _gate, .. } = *self;
        match unit {
            Unit::Txn(txn) => txn.commit().await.map_err(db_err),
            Unit::Pool(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use account_core::ids::SessionId;

    use super::*;

    #[tokio::test]
    async fn a_touch_that_failed_gives_its_claims_back() {
        let store = SeaStore::connect("sqlite::memory:", &SeaOptions::default()).await.unwrap();
        let id = SessionId::from_uuid(uuid::Uuid::from_u128(7));
        let at = DateTime::UNIX_EPOCH;
        store.close().await.unwrap();
        assert!(store.record_activity(&[Activity::Session(id)], at).await.is_err());
        assert!(store.touches.claim(id.as_uuid(), at), "the failed touch still holds its claim");
    }
}
