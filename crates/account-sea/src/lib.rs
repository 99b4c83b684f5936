//! `account-sea`: sea-orm storage (SQLite and PostgreSQL) for the ports of `account-core`.
//!
//! [`SeaStore::connect`] opens a pool on a `sqlite://` or `postgres://` URL, configures it,
//! and applies the [`Migrator`]'s migrations; the store then implements
//! [`account_core::ports::Store`]. On a SQLite file, [`KeptSessions`] wraps it to serve a
//! busy session's authentication from what it read while nothing committed; on PostgreSQL,
//! the session lookups of concurrent requests share statements (`batch`). Tables, indexes,
//! configuration and backups are described in `docs/storage.md`.

mod batch;
mod entity;
mod error;
mod kept;
mod migration;
mod pool;
mod repo;
mod store;
mod touches;
mod wal_index;

pub use kept::KeptSessions;
pub use migration::Migrator;
pub use pool::PoolStats;
pub use store::{SQLITE_CACHE_KIB, SeaOptions, SeaStore, SeaTx};
