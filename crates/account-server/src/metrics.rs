//! The server's own metrics next to the HTTP layer's: the database pool's occupancy (read at
//! each scrape) and, from the worker, mail deliveries; and the metrics listener
//! (`ACCOUNTS_METRICS_LISTEN`), which serves `/metrics` alone, without credentials.

use std::net::SocketAddr;

use account_http::{HttpServer, Metrics};
use account_sea::SeaStore;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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
