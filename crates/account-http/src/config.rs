//! The HTTP layer's configuration: the operator credential, log-in throttling and the body
//! size limit. Secrets here never reach `Debug` or the logs.

use std::fmt;

/// Shortest operator token accepted, in characters.
pub const MIN_OPERATOR_TOKEN_LEN: usize = 32;

/// The operator credential: a secret token sent as `Authorization: Bearer <token>` on the
/// `/operator` endpoints. [`HttpServer::new`](crate::HttpServer::new) keeps only its keyed
/// digest and compares presented tokens with it in constant time.
#[derive(Clone)]
pub struct OperatorToken(String);

/// Why a string is not an acceptable operator token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorTokenError {
    /// Shorter than [`MIN_OPERATOR_TOKEN_LEN`].
    TooShort,
    /// Contains spaces or non-printable / non-ASCII characters.
    BadCharacters,
}

impl fmt::Display for OperatorTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort => {
                write!(f, "the operator token must be at least {MIN_OPERATOR_TOKEN_LEN} characters")
            }
            Self::BadCharacters => {
                f.write_str("the operator token must be printable ASCII without spaces")
            }
        }
    }
}

impl std::error::Error for OperatorTokenError {}

impl OperatorToken {
    /// Checks a token (for example 32 random bytes in hex, from the server's configuration).
    ///
    /// # Errors
    /// [`OperatorTokenError`] when it is too short or has other characters.
    pub fn new(token: impl Into<String>) -> Result<Self, OperatorTokenError> {
        let token = token.into();
        if token.chars().count() < MIN_OPERATOR_TOKEN_LEN {
            return Err(OperatorTokenError::TooShort);
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(OperatorTokenError::BadCharacters);
        }
        Ok(Self(token))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OperatorToken(REDACTED)")
    }
}

/// Configuration of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The operator credential; `None` disables the `/operator` endpoints (they answer 401).
    pub operator_token: Option<OperatorToken>,
    /// The credential of `/metrics` on the API's address (`Authorization: Bearer <token>`),
    /// a token like the operator's; `None` closes `/metrics` there (401). The metrics are
    /// also served without credentials by [`HttpServer::metrics_endpoint`](crate::HttpServer::metrics_endpoint),
    /// for an address of the operator's choosing.
    pub metrics_token: Option<OperatorToken>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long `run` waits for requests in progress after the shutdown signal.
    pub shutdown_grace: std::time::Duration,
    /// `Strict-Transport-Security: max-age=…` on every answer; `None` (the default) sends none.
    /// Only for a server its clients reach over HTTPS (through a TLS-terminating proxy).
    pub hsts_max_age: Option<std::time::Duration>,
    /// Proxies whose `X-Forwarded-For` names the client (for throttling and the access log);
    /// none by default, so the client is the TCP peer.
    pub trusted_proxies: crate::TrustedProxies,
    /// Longest a client may take from a request's first byte to the end of its head; past
    /// it the connection is closed.
    pub header_timeout: std::time::Duration,
    /// Longest a request body may take to arrive; past it, 408 and the connection is closed.
    pub body_timeout: std::time::Duration,
    /// Longest a connection stays open without a request in progress (keep-alive), and
    /// longest a write to a client that does not read may stall.
    pub idle_timeout: std::time::Duration,
    /// Called with each request's span and valid `traceparent` before the span is entered,
    /// so that an exporter of spans can parent it to the caller's; `None` (the default): the
    /// trace id is only logged.
    pub span_parent: Option<crate::SpanParentHook>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            operator_token: None,
            metrics_token: None,
            max_body_bytes: 64 * 1024,
            shutdown_grace: std::time::Duration::from_secs(10),
            hsts_max_age: None,
            trusted_proxies: crate::TrustedProxies::default(),
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(30),
            idle_timeout: std::time::Duration::from_secs(75),
            span_parent: None,
        }
    }
}
