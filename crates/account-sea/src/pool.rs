//! The connection pool's occupancy, for the server's metrics: read from the pool itself, cheap
//! enough to read at every scrape.

use sea_orm::{DatabaseConnection, DbBackend};

use crate::SeaStore;

/// How many connections the pool holds, and how many are in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Connections open (in use or idle).
    pub open: u32,
    /// Connections idle in the pool.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

impl PoolStats {
    /// Connections lent to a unit of work or a statement right now.
    #[must_use]
    pub const fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

impl SeaStore {
    /// The pool's occupancy now.
    #[must_use]
    pub fn pool_stats(&self) -> PoolStats {
        stats_of(self.connection())
    }

    /// The occupancy of the connections write units run on: on SQLite on a file, the one
    /// connection of their own; elsewhere the pool, as [`Self::pool_stats`].
    #[must_use]
    pub fn write_pool_stats(&self) -> PoolStats {
        stats_of(self.writer())
    }
}

fn stats_of(db: &DatabaseConnection) -> PoolStats {
    let (open, idle, max) = match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
        _ => (0, 0, 0),
    };
    PoolStats { open, idle: u32::try_from(idle).unwrap_or(u32::MAX), max }
}
