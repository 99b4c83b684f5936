//! The `PasswordHasher` port: slow, salted password hashing (argon2id in production).

use async_trait::async_trait;

use crate::domain::password::{Password, PasswordAttempt, PasswordHash};

/// Why the hasher gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The hasher failed (out of memory, a malformed stored hash…).
    #[error("password hashing failed: {0}")]
    Failed(String),
    /// Too many hashes are already waiting: the request is refused at once rather than queued
    /// (use cases report it as a dependency unavailable for a moment: 503 with `Retry-After`).
    #[error("password hashing is at capacity: too many hashes are waiting")]
    Busy,
}

/// Hashes and verifies passwords. Hashing is deliberately slow, so implementations should run
/// it off the async executor (for example on a blocking thread pool).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync + 'static {
    /// Hashes a new password with a fresh salt.
    ///
    /// # Errors
    /// [`HashError::Failed`] when the hasher fails; [`HashError::Busy`] when its queue is full.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;

    /// Verifies `attempt` against `hash`. With `hash = None` it must still do the same work
    /// (against a dummy hash) and return `false`, so that a log-in for an unknown account
    /// takes as long as one for a known account.
    ///
    /// # Errors
    /// [`HashError::Failed`] when the hasher fails or the stored hash cannot be read;
    /// [`HashError::Busy`] when its queue is full.
    async fn verify<'a>(
        &self,
        attempt: &PasswordAttempt,
        hash: Option<&'a PasswordHash>,
    ) -> Result<bool, HashError>;
}
