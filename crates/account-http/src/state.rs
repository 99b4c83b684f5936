//! The state every handler shares: the domain, the operator and metrics credentials' digests,
//! the metrics and the route table for the access log.

use std::sync::Arc;

use account_core::Accounts;
use account_core::domain::secret::SecretDigest;
use poem::Request;

use crate::client_addr::TrustedProxies;
use crate::config::HttpConfig;
use crate::errors::Status;
use crate::headers::SecurityHeaders;
use crate::metrics::HttpMetrics;
use crate::middleware::Routes;
use crate::problem::Problem;

/// Keyring context of the operator token's digest.
pub(crate) const OPERATOR_CONTEXT: &str = "operator-token";
/// Keyring context of the metrics token's digest.
pub(crate) const METRICS_CONTEXT: &str = "metrics-token";

/// The parts of [`HttpConfig`] kept at run time (the operator token only as a digest).
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub max_body_bytes: usize,
    pub body_timeout: std::time::Duration,
}

/// Shared by every request.
#[derive(Debug)]
pub(crate) struct AppState {
    pub accounts: Accounts,
    pub operator: Option<SecretDigest>,
    pub metrics_token: Option<SecretDigest>,
    pub metrics: Arc<HttpMetrics>,
    pub config: Limits,
    pub routes: Routes,
    pub headers: SecurityHeaders,
    pub trusted_proxies: TrustedProxies,
    pub span_parent: Option<crate::trace::SpanParentHook>,
    /// Request and trace ids.
    pub ids: crate::ids::Ids,
}

impl AppState {
    pub(crate) fn new(
        accounts: Accounts,
        config: &HttpConfig,
        routes: Routes,
        metrics: Arc<HttpMetrics>,
    ) -> Self {
        let operator = config
            .operator_token
            .as_ref()
            .map(|t| accounts.digest(OPERATOR_CONTEXT, t.expose().as_bytes()));
        let metrics_token = config
            .metrics_token
            .as_ref()
            .map(|t| accounts.digest(METRICS_CONTEXT, t.expose().as_bytes()));
        Self {
            operator,
            metrics_token,
            metrics,
            config: Limits {
                max_body_bytes: config.max_body_bytes,
                body_timeout: config.body_timeout,
            },
            accounts,
            routes,
            headers: SecurityHeaders::new(config.hsts_max_age),
            trusted_proxies: config.trusted_proxies.clone(),
            span_parent: config.span_parent.clone(),
            ids: crate::ids::Ids::default(),
        }
    }

    /// The state of the request's server (set with `.data()` by [`crate::HttpServer`]).
    pub(crate) fn of(req: &Request) -> Result<&Arc<Self>, Status<500>> {
        req.data::<Arc<Self>>().ok_or_else(|| {
            tracing::error!("the application state is missing from the request");
            Status::new(Problem::internal())
        })
    }
}
