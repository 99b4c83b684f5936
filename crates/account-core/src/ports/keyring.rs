//! The `Keyring` port: operations keyed with the server's secret key: digests of tokens and
//! codes (so stores never hold them in clear) and sealing of outgoing mail.

use crate::domain::secret::SecretDigest;

/// A sealed payload could not be opened (wrong key, or tampered with).
#[derive(Debug, thiserror::Error)]
#[error("keyring failure: {0}")]
pub struct KeyringError(pub String);

/// Keyed cryptography with the server key (HMAC-SHA-256 and an AEAD in production).
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Keyring: Send + Sync + 'static {
    /// A keyed digest of `secret` in `context`; the same secret in another context gives an
    /// unrelated digest, which binds codes to the flow that asked for them.
    fn digest(&self, context: &str, secret: &[u8]) -> SecretDigest;

    /// True when `digest(context, secret) == expected`, compared in constant time.
    fn verify(&self, context: &str, secret: &[u8], expected: &SecretDigest) -> bool;

    /// Encrypts and authenticates `plaintext`.
    ///
    /// # Errors
    /// [`KeyringError`] when encryption fails.
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyringError>;

    /// Reverses [`seal`](Self::seal).
    ///
    /// # Errors
    /// [`KeyringError`] when the payload was sealed with another key or altered.
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, KeyringError>;
}
