//! The server's own metrics next to the HTTP layer's: the database pool's occupancy (read at
//! each scrape), the waits for a unit of work ([`MeteredStore`]) and, from the worker, mail
//! deliveries; and the metrics listener (`ACCOUNTS_METRICS_LISTEN`), which serves `/metrics`
//! alone, without credentials.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use account_core::ports::{Activity, Store, StoreError, Tx};
use account_http::{HttpServer, Metrics};
use account_sea::SeaStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::AppError;

/// Registers `db_pool_connections{state="in_use"|"idle"}` and `db_pool_max_connections`,
/// read from `store`'s pool at each scrape.
pub fn register_pool(metrics: &mut Metrics, store: SeaStore) {
    let connections = Family::<Vec<(&'static str, &'static str)>, Gauge>::default();
    let max: Gauge = Gauge::default();
    let registry = metrics.registry();
    registry.register(
        "db_pool_connections",
        "Database connections of this process's pool, by state: in_use (lent to a unit of work) or idle",
        connections.clone(),
    );
    registry.register(
        "db_pool_max_connections",
        "The most connections the pool opens",
        max.clone(),
    );
    metrics.on_scrape(move || {
        let stats = store.pool_stats();
        connections.get_or_create(&vec![("state", "in_use")]).set(i64::from(stats.in_use()));
        connections.get_or_create(&vec![("state", "idle")]).set(i64::from(stats.idle));
        max.set(i64::from(stats.max));
    });
}

/// Resolves once `stopped` turns true (or its sender is gone).
pub async fn stopped(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// Serves `http`'s `/metrics` without credentials on `addr` until `stop` turns true.
///
/// # Errors
/// [`AppError`] when the address cannot be bound.
pub async fn serve(
    http: &HttpServer,
    addr: SocketAddr,
    stop: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, AppError> {
    let bound = http
        .bind_metrics(addr)
        .await
        .map_err(|e| AppError(format!("listening for metrics on {addr}: {e}")))?;
    let local = bound.local_addr().unwrap_or(addr);
    tracing::info!(addr = %local, "metrics are served at /metrics here, without credentials");
    Ok(tokio::spawn(async move {
        if let Err(error) = bound.run(stopped(stop)).await {
            tracing::error!(%error, "the metrics listener failed");
        }
    }))
}

type UnitLabels = Vec<(&'static str, &'static str)>;

/// The store of the server, timing how long each unit of work waits to open: for a pooled
/// connection, and on SQLite for this process's write turn. It forwards everything else.
#[derive(Clone)]
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    /// The pool underneath, for its statistics.
    pool: SeaStore,
    opened: Family<UnitLabels, Histogram>,
    waited: Family<UnitLabels, Counter>,
}

impl std::fmt::Debug for MeteredStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeteredStore").field("pool", &self.pool).finish_non_exhaustive()
    }
}

fn wait_buckets() -> Histogram {
    Histogram::new([0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0])
}

impl MeteredStore {
    /// `store` (the server's, over `pool`), with `db_unit_open_seconds{unit}` and
    /// `db_pool_waits{unit}` registered in `metrics`.
    #[must_use]
    pub fn new(store: Arc<dyn Store>, pool: SeaStore, metrics: &mut Metrics) -> Self {
        let opened = Family::<UnitLabels, Histogram>::new_with_constructor(
            wait_buckets as fn() -> Histogram,
        );
        let waited = Family::<UnitLabels, Counter>::default();
        let registry = metrics.registry();
        registry.register(
            "db_unit_open_seconds",
            "Time to open a unit of work (a pooled connection, and on SQLite the write turn), by unit: write, read",
            opened.clone(),
        );
        registry.register(
            "db_pool_waits",
            "Units of work that found no idle connection in the pool and waited for one (or for a new one), by unit",
            waited.clone(),
        );
        // Every series from the start, at zero, so that a scraper sees no wait as 0.
        for unit in ["write", "read"] {
            let _ = waited.get_or_create(&vec![("unit", unit)]);
            let _ = opened.get_or_create(&vec![("unit", unit)]);
        }
        Self { inner: store, pool, opened, waited }
    }

    async fn timed<F>(&self, unit: &'static str, open: F) -> Result<Box<dyn Tx>, StoreError>
    where
        F: std::future::Future<Output = Result<Box<dyn Tx>, StoreError>>,
    {
        let labels = vec![("unit", unit)];
        // Write units on a SQLite file have a connection of their own.
        let stats =
            if unit == "write" { self.pool.write_pool_stats() } else { self.pool.pool_stats() };
        if stats.idle == 0 {
            self.waited.get_or_create(&labels).inc();
        }
        let start = Instant::now();
        let tx = open.await;
        self.opened.get_or_create(&labels).observe(start.elapsed().as_secs_f64());
        tx
    }
}

#[async_trait]
impl Store for MeteredStore {
    async fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.timed("write", self.inner.write()).await
    }

    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.timed("read", self.inner.read()).await
    }

    // A lookup takes a connection per statement, not per unit: nothing to time here.
    async fn lookup(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.inner.lookup().await
    }

    async fn record_activity(
        &self,
        used: &[Activity],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.record_activity(used, at).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}
