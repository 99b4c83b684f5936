//! The HTTP layer's configuration: the operator credential, log-in throttling and the body
//! size limit. Secrets here never reach `Debug` or the logs.

use std::fmt;

use chrono::Duration;

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

/// Log-in throttling: failed log-ins are counted per email address and per client address
/// over a sliding window; past a limit, log-in answers 429 with `Retry-After` without
/// checking the password. Counters live in the process (see `docs/security.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRateLimit {
    /// Failed log-ins allowed per email address in a window.
    pub max_failures_per_email: u32,
    /// Failed log-ins allowed per client IP address in a window.
    pub max_failures_per_client: u32,
    /// The window.
    pub window: Duration,
}

impl Default for LoginRateLimit {
    fn default() -> Self {
        Self {
            max_failures_per_email: 5,
            max_failures_per_client: 50,
            window: Duration::minutes(15),
        }
    }
}

/// Configuration of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The operator credential; `None` disables the `/operator` endpoints (they answer 401).
    pub operator_token: Option<OperatorToken>,
    /// Log-in throttling.
    pub login_rate_limit: LoginRateLimit,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long `run` waits for requests in progress after the shutdown signal.
    pub shutdown_grace: std::time::Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            operator_token: None,
            login_rate_limit: LoginRateLimit::default(),
            max_body_bytes: 64 * 1024,
            shutdown_grace: std::time::Duration::from_secs(10),
        }
    }
}
