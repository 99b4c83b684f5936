//! The state every handler shares: the domain, the operator credential's digest, the log-in
//! limiter and the route table for the access log.

use std::sync::Arc;

use account_core::Accounts;
use account_core::domain::secret::SecretDigest;
use poem::Request;

use crate::config::HttpConfig;
use crate::middleware::Routes;
use crate::problem::Problem;
use crate::ratelimit::LoginLimiter;

/// Keyring context of the operator token's digest.
pub(crate) const OPERATOR_CONTEXT: &str = "operator-token";

/// The parts of [`HttpConfig`] kept at run time (the operator token only as a digest).
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub max_body_bytes: usize,
}

/// Shared by every request.
#[derive(Debug)]
pub(crate) struct AppState {
    pub accounts: Accounts,
    pub operator: Option<SecretDigest>,
    pub config: Limits,
    pub limiter: LoginLimiter,
    pub routes: Routes,
}

impl AppState {
    pub(crate) fn new(accounts: Accounts, config: &HttpConfig, routes: Routes) -> Self {
        let operator = config
            .operator_token
            .as_ref()
            .map(|t| accounts.ports().keyring.digest(OPERATOR_CONTEXT, t.expose().as_bytes()));
        Self {
            limiter: LoginLimiter::new(config.login_rate_limit.clone()),
            operator,
            config: Limits { max_body_bytes: config.max_body_bytes },
            accounts,
            routes,
        }
    }

    /// The state of the request's server (set with `.data()` by [`crate::HttpServer`]).
    pub(crate) fn of(req: &Request) -> Result<&Arc<Self>, Box<Problem>> {
        req.data::<Arc<Self>>().ok_or_else(|| {
            tracing::error!("the application state is missing from the request");
            Box::new(Problem::internal())
        })
    }
}
