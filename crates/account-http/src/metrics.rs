//! The server's metrics, served at `/metrics` in Prometheus' text format (OpenMetrics 1.0):
//! request latency and counts by operation and status, log-ins by outcome, throttle refusals,
//! credit movements by type and kind, and the mail outbox's backlog; an embedder adds its own
//! (the `accounts` binary adds the database pool and mail deliveries) through [`Metrics`].
//!
//! Labels are bounded: an operation id of the document (or `none` for what matched no
//! operation), a status code, a fixed outcome or credit kind. No path, id or address.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The media type of the exposition.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Most outbox mails counted for the backlog gauge; a larger backlog reads as this many.
pub(crate) const BACKLOG_CAP: u32 = 10_000;

type Labels = Vec<(&'static str, String)>;

/// The metrics registry of a server: the HTTP layer's own metrics plus any an embedder
/// registers, and hooks that refresh gauges just before each scrape.
pub struct Metrics {
    registry: Registry,
    on_scrape: Vec<Box<dyn Fn() + Send + Sync>>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").field("on_scrape", &self.on_scrape.len()).finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// An empty registry (every name is prefixed `accounts_`).
    #[must_use]
    pub fn new() -> Self {
        Self { registry: Registry::with_prefix("accounts"), on_scrape: Vec::new() }
    }

    /// The registry, to register an embedder's own metrics before the server is built.
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// Runs `refresh` before every scrape (to read a gauge that is cheaper to read than to
    /// keep, such as a connection pool's size).
    pub fn on_scrape(&mut self, refresh: impl Fn() + Send + Sync + 'static) {
        self.on_scrape.push(Box::new(refresh));
    }
}

/// What the HTTP layer records, and the registry it renders.
#[derive(Debug)]
pub(crate) struct HttpMetrics {
    metrics: Metrics,
    requests: Family<Labels, Histogram>,
    logins: Family<Labels, Counter>,
    throttled: Family<Labels, Counter>,
    credit_movements: Family<Labels, Counter>,
    credits_moved: Family<Labels, Counter>,
    outbox_backlog: Gauge,
}

fn latency_buckets() -> Histogram {
    Histogram::new([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
}

impl HttpMetrics {
    pub(crate) fn new(mut metrics: Metrics) -> Arc<Self> {
        let requests =
            Family::<Labels, Histogram>::new_with_constructor(latency_buckets as fn() -> Histogram);
        let logins = Family::<Labels, Counter>::default();
        let throttled = Family::<Labels, Counter>::default();
        let credit_movements = Family::<Labels, Counter>::default();
        let credits_moved = Family::<Labels, Counter>::default();
        let outbox_backlog = Gauge::default();
        let r = metrics.registry();
        r.register(
            "http_request_duration_seconds",
            "Time to answer a request, by operation id (none: no operation matched) and status",
            requests.clone(),
        );
        r.register(
            "logins",
            "Log-in attempts by outcome: success, invalid_credentials, disabled, throttled, refused",
            logins.clone(),
        );
        r.register(
            "throttle_refusals",
            "Requests refused with 429 by a limit (failed log-ins, code resends), by operation",
            throttled.clone(),
        );
        r.register(
            "credit_movements",
            "Ledger entries written through the API, by type (grant, allocate, reclaim, consume, expire) and credit kind",
            credit_movements.clone(),
        );
        r.register(
            "credits_moved",
            "Credits moved through the API, by type and credit kind",
            credits_moved.clone(),
        );
        r.register(
            "mail_outbox_backlog",
            "Mails waiting in the outbox (sent or not yet due ones excluded), read at scrape",
            outbox_backlog.clone(),
        );
        Arc::new(Self {
            metrics,
            requests,
            logins,
            throttled,
            credit_movements,
            credits_moved,
            outbox_backlog,
        })
    }

    /// One request answered.
    pub(crate) fn request(&self, operation: Option<&'static str>, status: u16, took: Duration) {
        let op = operation.unwrap_or("none");
        self.requests
            .get_or_create(&vec![("operation", op.to_owned()), ("status", status.to_string())])
            .observe(took.as_secs_f64());
        if status == 429 {
            self.throttled.get_or_create(&vec![("operation", op.to_owned())]).inc();
        }
        if op == "login" {
            let outcome = match status {
                200..=299 => "success",
                401 => "invalid_credentials",
                403 => "disabled",
                429 => "throttled",
                _ => "refused",
            };
            self.logins.get_or_create(&vec![("outcome", outcome.to_owned())]).inc();
        }
    }

    /// A ledger entry written by a use case called through the API (not a replay).
    pub(crate) fn credit_moved(&self, entry_type: &'static str, kind: &'static str, amount: i64) {
        let labels = vec![("type", entry_type.to_owned()), ("kind", kind.to_owned())];
        self.credit_movements.get_or_create(&labels).inc();
        self.credits_moved.get_or_create(&labels).inc_by(u64::try_from(amount).unwrap_or(0));
    }

    /// The exposition, after refreshing what is read at scrape.
    pub(crate) fn render(&self, outbox_backlog: Option<usize>) -> String {
        if let Some(n) = outbox_backlog {
            self.outbox_backlog.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        for refresh in &self.metrics.on_scrape {
            refresh();
        }
        let mut text = String::new();
        if encode(&mut text, &self.metrics.registry).is_err() {
            tracing::error!("encoding the metrics failed");
        }
        text
    }
}
