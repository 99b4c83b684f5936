//! [`SeaStore`]: the store ports over one sea-orm connection pool, on SQLite or PostgreSQL,
//! and [`SeaTx`], its unit of work over one database transaction.
//!
//! How units serialise (the contract of `account_core::ports::store`):
//! - SQLite: a write unit starts with `BEGIN IMMEDIATE`, which takes the database's single
//!   write lock at once, so no unit can fail half-way with "database is locked"; inside one
//!   process, write units also queue on an async mutex first, so that they wait in a fair queue
//!   instead of polling the lock through `busy_timeout`. Read units are deferred transactions
//!   (a WAL snapshot) and never block writers. Inside a write unit, writes whose answer nothing
//!   waits for are queued ([`SeaTx::write_later`]) and sent together, ahead of the unit's next
//!   statement or its commit: every statement is a round trip to the connection's thread while
//!   the unit holds the one write lock.
//! - PostgreSQL: a write unit is a READ COMMITTED transaction whose `lock_*` reads take a row
//!   lock (`SELECT … FOR NO KEY UPDATE`) held until the unit ends. Read units are
//!   REPEATABLE READ, READ ONLY transactions: one consistent snapshot, no locks.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as SyncMutex, PoisonError};

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
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, ExecResult, IsolationLevel, QueryResult,
    QuerySelect, QueryTrait, Select, SqliteTransactionMode, Statement, TransactionOptions,
    TransactionTrait,
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
    /// SQLite on a file opens one more, for write units.
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
    /// SQLite: what write units run on, one at a time (see the module docs); `None` on
    /// PostgreSQL, whose write units take a pooled connection each.
    sqlite_writer: Option<Arc<SqliteWriter>>,
    acquire_timeout: Duration,
    /// SQLite on a file: its WAL index, which stamps commits (see [`SeaStore::change_stamp`]).
    wal_index: Option<WalIndex>,
    /// Session and API-key touches this process has under way (`Store::record_activity`).
    touches: Arc<Touches>,
    /// PostgreSQL: lookup units' session reads, coalesced (`crate::batch`).
    session_reads: Option<Arc<SessionReads>>,
}

/// Where SQLite write units run.
struct SqliteWriter {
    /// On a file, one connection of its own (a pool of one). Its page cache stays valid from
    /// one unit to the next, since only it writes, where a pooled connection would find its
    /// cache emptied after other connections' commits and read the pages again from the file;
    /// and readers never keep a write unit waiting for a connection. In memory, the pool.
    conn: DatabaseConnection,
    /// One write unit at a time in this process.
    gate: Arc<Mutex<()>>,
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
        // SQLite on a file: write units run on a connection of their own (see `writer`).
        // Every connection to `sqlite::memory:` opens a database of its own, so there the
        // writer is the pool.
        let own_writer = backend == DbBackend::Sqlite
            && !url.contains(":memory:")
            && !url.contains("mode=memory");
        let mut writer_opt = opt.clone();
        let db = Database::connect(opt).await.map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        let session_reads =
            (backend == DbBackend::Postgres).then(|| Arc::new(SessionReads::new(db.clone())));
        let conn = if own_writer {
            writer_opt.max_connections(1).min_connections(1);
            Database::connect(writer_opt).await.map_err(|e| StoreError::Unavailable(Box::new(e)))?
        } else {
            db.clone()
        };
        let sqlite_writer = (backend == DbBackend::Sqlite)
            .then(|| Arc::new(SqliteWriter { conn, gate: Arc::new(Mutex::new(())) }));
        let mut store = Self {
            db,
            backend,
            sqlite_writer,
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

    /// What write units run on (see `writer`).
    pub(crate) fn writer(&self) -> &DatabaseConnection {
        self.sqlite_writer.as_ref().map_or(&self.db, |w| &w.conn)
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
        if let Some(writer) = &self.sqlite_writer {
            writer.conn.close_by_ref().await.map_err(db_err)?;
        }
        self.db.close_by_ref().await.map_err(db_err)
    }

    /// On SQLite, this process's turn to write (write units run one at a time); on
    /// PostgreSQL, nothing to wait for.
    async fn write_turn(&self) -> Result<Option<OwnedMutexGuard<()>>, StoreError> {
        let Some(writer) = &self.sqlite_writer else { return Ok(None) };
        let turn =
            tokio::time::timeout(self.acquire_timeout, writer.gate.clone().lock_owned()).await;
        turn.map(Some).map_err(|_| {
            StoreError::Unavailable("no write turn on the SQLite database in time".into())
        })
    }

    async fn begin_write(&self) -> Result<DatabaseTransaction, StoreError> {
        match self.backend {
            DbBackend::Sqlite => self
                .writer()
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
        let mut unit = SeaTx::new_unit(Unit::Pool(self.db.clone()), self.backend, false);
        unit.session_reads = self.session_reads.clone();
        Ok(Box::new(unit))
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
    /// SQLite write units: the writes [`SeaTx::write_later`] queued, not yet sent.
    queued: SyncMutex<Queue>,
    /// Rows this write unit read under its lock or inserted itself, by [`SeaTx::holds`]'
    /// keys: an update of one of them will find it, so it may be queued.
    held: SyncMutex<HashSet<String>>,
    /// Set when queued writes failed: some of them may have run, so the unit must not commit.
    spoilt: AtomicBool,
    _gate: Option<OwnedMutexGuard<()>>,
}

/// Writes queued in a SQLite write unit, in order.
#[derive(Debug, Default)]
struct Queue {
    statements: Vec<Statement>,
    /// The rows they change together when each finds its row.
    rows: u64,
    /// True when one of them is an update, which may change no row without failing: then the
    /// queue is sent on its own and its count checked, rather than ahead of a read.
    has_update: bool,
}

impl std::fmt::Debug for SeaTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaTx")
            .field("backend", &self.backend)
            .field("writable", &self.writable)
            .finish_non_exhaustive()
    }
}

/// What queued writes may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queued {
    /// An `INSERT` (an upsert too) of `n` rows: it changes them all or fails.
    Insert(u64),
    /// An `UPDATE` of one row the unit [holds](SeaTx::holds): the queue's sent count is
    /// checked, and a missing row fails the unit with [`StoreError::NotFound`].
    UpdateOne,
}

impl SeaTx {
    fn new_unit(unit: Unit, backend: DbBackend, writable: bool) -> Self {
        Self {
            unit,
            backend,
            writable,
            session_reads: None,
            queued: SyncMutex::default(),
            held: SyncMutex::default(),
            spoilt: AtomicBool::new(false),
            _gate: None,
        }
    }

    fn new(txn: DatabaseTransaction, backend: DbBackend, writable: bool) -> Self {
        Self::new_unit(Unit::Txn(txn), backend, writable)
    }

    /// The unit's own executor, without sending the queue first.
    fn executor(&self) -> DatabaseExecutor<'_> {
        match &self.unit {
            Unit::Txn(txn) => DatabaseExecutor::Transaction(txn),
            Unit::Pool(pool) => DatabaseExecutor::Connection(pool),
        }
    }

    /// Where reads run (after the writes queued before them).
    pub(crate) fn r(&self) -> Exec<'_> {
        Exec(self)
    }

    /// Where writes run: refused in a read or lookup unit, as the memory store does.
    pub(crate) fn w(&self) -> Result<Exec<'_>, StoreError> {
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
            let done = self.r().execute_raw(statement).await.map_err(db_err)?;
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

    /// Runs `query`, a write whose answer the caller does not need; in a SQLite write unit it
    /// is queued instead, and sent with the writes queued beside it in one call ahead of the
    /// unit's next statement (or, before a write or the commit, on its own). A queued write
    /// that fails, fails that statement or the commit, so the unit does not commit. `None`
    /// when queued, else the rows it changed.
    ///
    /// # Errors
    /// Refused in a read unit; driver failures of a write run now.
    pub(crate) async fn write_later<Q: QueryTrait + Send>(
        &self,
        query: Q,
        kind: Queued,
    ) -> Result<Option<u64>, StoreError> {
        let statement = query.build(self.backend);
        let exec = self.w()?;
        if self.backend != DbBackend::Sqlite || !matches!(self.unit, Unit::Txn(_)) {
            return Ok(Some(exec.execute_raw(statement).await.map_err(db_err)?.rows_affected()));
        }
        let mut queue = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        queue.statements.push(statement);
        match kind {
            Queued::Insert(n) => queue.rows += n,
            Queued::UpdateOne => {
                queue.rows += 1;
                queue.has_update = true;
            }
        }
        Ok(None)
    }

    /// Marks a row (named by `key`, a table and its key) as one this write unit read under its
    /// lock or inserted, so that an update of it may be queued; a no-op outside SQLite write
    /// units (nothing is queued elsewhere).
    pub(crate) fn hold(&self, key: String) {
        if self.writable && self.backend == DbBackend::Sqlite {
            self.held.lock().unwrap_or_else(PoisonError::into_inner).insert(key);
        }
    }

    /// Forgets a held row (the unit deleted it).
    pub(crate) fn release(&self, key: &str) {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// Forgets every held row (the unit deleted rows by other criteria).
    pub(crate) fn release_all(&self) {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// Whether the unit [holds](Self::hold) the row `key`.
    pub(crate) fn holds(&self, key: &str) -> bool {
        self.held.lock().unwrap_or_else(PoisonError::into_inner).contains(key)
    }

    /// Takes the queue.
    fn take_queue(&self) -> Queue {
        std::mem::take(&mut *self.queued.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Refuses every statement once queued writes failed (see [`Self::spoil`]).
    fn check_unspoilt(&self) -> Result<(), DbErr> {
        if self.spoilt.load(Ordering::Relaxed) {
            return Err(DbErr::Custom("an earlier write of this unit failed".into()));
        }
        Ok(())
    }

    /// Passes on `result`, marking the unit spoilt when it failed: of the statements sent
    /// together, those before the one that failed have run, so the unit may end only in a
    /// rollback, even if its caller went on after the error.
    fn spoil<T>(&self, result: Result<T, DbErr>) -> Result<T, DbErr> {
        if result.is_err() {
            self.spoilt.store(true, Ordering::Relaxed);
        }
        result
    }

    /// Sends the queued writes, if any, in one call, and checks that they changed every row
    /// they were queued for.
    async fn send_queue(&self) -> Result<(), DbErr> {
        self.check_unspoilt()?;
        let queue = self.take_queue();
        if queue.statements.is_empty() {
            return Ok(());
        }
        let rows = queue.rows;
        let done = self.executor().execute_raw(joined(queue.statements, None)).await;
        let counted = done.and_then(|done| {
            if done.rows_affected() == rows { Ok(()) } else { Err(DbErr::RecordNotUpdated) }
        });
        self.spoil(counted)
    }

    /// What to send for a read that follows the queued writes: the read alone, after sending
    /// them on their own when one is an update (whose count is checked), else the writes and
    /// the read in one call, with `true` (its failure then spoils the unit).
    async fn with_queue(&self, statement: Statement) -> Result<(Statement, bool), DbErr> {
        self.check_unspoilt()?;
        let queue = self.take_queue();
        if queue.statements.is_empty() {
            return Ok((statement, false));
        }
        if queue.has_update {
            *self.queued.lock().unwrap_or_else(PoisonError::into_inner) = queue;
            self.send_queue().await?;
            return Ok((statement, false));
        }
        Ok((joined(queue.statements, Some(statement)), true))
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
        // Also refuses a spoilt unit: dropping it rolls back.
        self.send_queue().await.map_err(db_err)?;
        let Self { unit, _gate, .. } = *self;
        match unit {
            Unit::Txn(txn) => txn.commit().await.map_err(db_err),
            Unit::Pool(_) => Ok(()),
        }
    }
}

/// Statements `first` (and `last`) as one, run in order in one call: SQLite runs each of a
/// string's statements in turn, binding each its share of the values.
fn joined(first: Vec<Statement>, last: Option<Statement>) -> Statement {
    let mut sql = String::new();
    let mut values = Vec::new();
    let mut backend = DbBackend::Sqlite;
    for statement in first.into_iter().chain(last) {
        if !sql.is_empty() {
            sql.push_str(";\n");
        }
        sql.push_str(&statement.sql);
        values.extend(statement.values.map(|v| v.0).unwrap_or_default());
        backend = statement.db_backend;
    }
    Statement::from_sql_and_values(backend, sql, values)
}

/// A unit's executor: the unit's transaction (or, for lookup units, the pool), with the writes
/// the unit queued sent first (see [`SeaTx::write_later`]).
#[derive(Clone, Copy)]
pub(crate) struct Exec<'a>(&'a SeaTx);

#[async_trait]
impl ConnectionTrait for Exec<'_> {
    fn get_database_backend(&self) -> DbBackend {
        self.0.backend
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        // A write's count is its own: the queue goes first, on its own.
        self.0.send_queue().await?;
        self.0.executor().execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.0.send_queue().await?;
        self.0.executor().execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let (stmt, carries_queue) = self.0.with_queue(stmt).await?;
        let result = self.0.executor().query_one_raw(stmt).await;
        if carries_queue { self.0.spoil(result) } else { result }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let (stmt, carries_queue) = self.0.with_queue(stmt).await?;
        let result = self.0.executor().query_all_raw(stmt).await;
        if carries_queue { self.0.spoil(result) } else { result }
    }

    fn support_returning(&self) -> bool {
        self.0.executor().support_returning()
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

    /// A SQLite file store in a fresh directory (an in-memory database would be one per
    /// connection).
    async fn file_store(name: &str) -> (SeaStore, std::path::PathBuf) {
        file_store_with(name, &SeaOptions::default()).await
    }

    async fn file_store_with(name: &str, options: &SeaOptions) -> (SeaStore, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("account-sea-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.join("a.db").display());
        (SeaStore::connect(&url, options).await.unwrap(), dir)
    }

    /// On a file, write units run on a connection of their own: a read unit holding the pool's
    /// only connection does not keep a write unit from starting, nor from committing.
    #[tokio::test]
    async fn write_units_have_a_connection_of_their_own() {
        let options = SeaOptions {
            max_connections: Some(1),
            acquire_timeout: Duration::from_millis(300),
            ..SeaOptions::default()
        };
        let (store, dir) = file_store_with("writer", &options).await;
        let reader = store.read().await.unwrap();
        let writer = store.write().await.expect("a write unit starts beside the read unit");
        assert_eq!(store.pool_stats().in_use(), 1, "the read unit's");
        assert_eq!(store.write_pool_stats().in_use(), 1, "the write unit's");
        assert_eq!(store.write_pool_stats().max, 1);
        writer.commit().await.unwrap();
        reader.commit().await.unwrap();
        store.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    async fn write_unit(store: &SeaStore) -> SeaTx {
        SeaTx::new(store.begin_write().await.unwrap(), store.backend, true)
    }

    async fn pool_count(store: &SeaStore) -> i64 {
        let row = store
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT count(*) FROM credit_pools",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index(0).unwrap()
    }

    fn pool_row(org: uuid::Uuid, total: i64) -> crate::entity::credit_pools::ActiveModel {
        use sea_orm::ActiveValue::Set;
        crate::entity::credit_pools::ActiveModel {
            org_id: Set(org),
            kind: Set("export".to_owned()),
            total: Set(total),
            allocated: Set(0),
            spent_from_pool: Set(0),
        }
    }

    fn organisation_insert(org: uuid::Uuid) -> Statement {
        Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO organisations (id, name, registration_number, seats, \
             customer_info_version, created_at) VALUES (?, 'Org', ?, '[]', 1, ?)",
            [org.into(), org.to_string().into(), "2026-12-07T00:00:00+00:00".into()],
        )
    }

    /// Queued writes wait in the unit, are seen by its next read, and commit with it.
    #[tokio::test]
    async fn queued_writes_are_read_back_and_commit_with_the_unit() {
        use crate::entity::credit_pools::{Column, Entity};
        use sea_orm::{ColumnTrait, QueryFilter};
        let (store, dir) = file_store("queued").await;
        let org = uuid::Uuid::from_u128(1);
        let tx = write_unit(&store).await;
        tx.r().execute_raw(organisation_insert(org)).await.unwrap();
        let queued = tx.write_later(Entity::insert(pool_row(org, 5)), Queued::Insert(1));
        assert_eq!(queued.await.unwrap(), None, "queued on SQLite, not run");
        assert_eq!(pool_count(&store).await, 0, "nothing committed yet");
        let read = Entity::find().filter(Column::OrgId.eq(org)).one(&tx.r()).await.unwrap();
        assert_eq!(read.map(|m| m.total), Some(5), "the unit reads its queued insert");
        let update = Entity::update_many()
            .col_expr(Column::Total, sea_orm::sea_query::Expr::value(7))
            .filter(Column::OrgId.eq(org));
        assert_eq!(tx.write_later(update, Queued::UpdateOne).await.unwrap(), None);
        Box::new(tx).commit().await.unwrap();
        let done = Entity::find().one(store.connection()).await.unwrap();
        assert_eq!(done.map(|m| m.total), Some(7));
        store.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A queued update that finds no row, or a queued insert that breaks a rule, fails the
    /// unit's commit, and nothing of the unit is kept.
    #[tokio::test]
    async fn a_queued_write_that_fails_fails_the_commit() {
        use crate::entity::credit_pools::{Column, Entity};
        use sea_orm::{ColumnTrait, QueryFilter};
        let (store, dir) = file_store("queued-fails").await;
        let org = uuid::Uuid::from_u128(1);

        let tx = write_unit(&store).await;
        tx.r().execute_raw(organisation_insert(org)).await.unwrap();
        tx.write_later(Entity::insert(pool_row(org, 5)), Queued::Insert(1)).await.unwrap();
        let missing = Entity::update_many()
            .col_expr(Column::Total, sea_orm::sea_query::Expr::value(7))
            .filter(Column::OrgId.eq(uuid::Uuid::from_u128(2)));
        tx.write_later(missing, Queued::UpdateOne).await.unwrap();
        let result = Box::new(tx).commit().await;
        assert!(matches!(result, Err(StoreError::NotFound)), "got {result:?}");
        assert_eq!(pool_count(&store).await, 0);

        // A pool of an organisation that does not exist breaks its foreign key.
        let tx = write_unit(&store).await;
        tx.write_later(Entity::insert(pool_row(org, 5)), Queued::Insert(1)).await.unwrap();
        let result = Box::new(tx).commit().await;
        assert!(result.is_err(), "the foreign key holds");
        assert_eq!(pool_count(&store).await, 0);

        // The same failure surfaces on the unit's next read instead, when there is one.
        let tx = write_unit(&store).await;
        tx.write_later(Entity::insert(pool_row(org, 5)), Queued::Insert(1)).await.unwrap();
        assert!(Entity::find().one(&tx.r()).await.is_err());
        // Whatever the caller does next, the unit cannot commit: part of its queue ran.
        assert!(Entity::find().one(&tx.r()).await.is_err());
        assert!(Box::new(tx).commit().await.is_err());
        assert_eq!(pool_count(&store).await, 0);
        store.close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
