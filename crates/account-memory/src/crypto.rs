//! Fast stand-ins for the slow or secret-keyed ports: a salted SHA-256 password hasher and an
//! HMAC keyring whose "sealing" authenticates but does not encrypt. Tests only.

use std::sync::atomic::{AtomicU64, Ordering};

use account_core::domain::password::{Password, PasswordAttempt, PasswordHash};
use account_core::domain::secret::SecretDigest;
use account_core::ports::{HashError, Keyring, KeyringError, PasswordHasher};
use async_trait::async_trait;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Salted SHA-256, in microseconds instead of argon2id's tens of milliseconds. Hashes look
/// like `test-sha256$<salt>$<digest>`. Counts verifications, so tests can check that an
/// unknown account costs a verification too.
#[derive(Debug, Default)]
pub struct FastPasswordHasher {
    salt_counter: AtomicU64,
    verifications: AtomicU64,
}

impl FastPasswordHasher {
    /// A hasher.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many verifications ran (dummy ones included).
    #[must_use]
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::SeqCst)
    }

    fn digest(salt: &str, password: &str) -> String {
        hex(&Sha256::new().chain_update(salt).chain_update(b"$").chain_update(password).finalize())
    }
}

#[async_trait]
impl PasswordHasher for FastPasswordHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let salt = format!("{:016x}", self.salt_counter.fetch_add(1, Ordering::SeqCst));
        let digest = Self::digest(&salt, password.expose());
        Ok(PasswordHash::from_stored(format!("test-sha256${salt}${digest}")))
    }

    async fn verify<'a>(
        &self,
        attempt: &PasswordAttempt,
        hash: Option<&'a PasswordHash>,
    ) -> Result<bool, HashError> {
        self.verifications.fetch_add(1, Ordering::SeqCst);
        let stored = hash.map_or("test-sha256$dummy$", PasswordHash::as_str);
        let mut parts = stored.splitn(3, '$');
        let (Some("test-sha256"), Some(salt), Some(digest)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(HashError::Failed("not a test-sha256 hash".to_owned()));
        };
        let computed = Self::digest(salt, attempt.expose());
        Ok(hash.is_some() && computed == digest)
    }
}

/// HMAC-SHA-256 digests with a fixed key; `seal` appends an HMAC tag to the plaintext, so
/// tampering is detected but the content is not hidden. Counts digests and seals, so tests
/// can check that an unknown address costs the same keyed work. For tests only.
#[derive(Clone)]
pub struct TestKeyring {
    key: Vec<u8>,
    work: std::sync::Arc<AtomicU64>,
}

impl std::fmt::Debug for TestKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestKeyring(REDACTED)")
    }
}

impl TestKeyring {
    /// A keyring with `key`.
    #[must_use]
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec(), work: std::sync::Arc::default() }
    }

    /// How many digests and seals were made (verifications and opening are not counted).
    #[must_use]
    pub fn work(&self) -> u64 {
        self.work.load(Ordering::SeqCst)
    }

    fn mac(&self, context: &str, secret: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so the fallback is never taken.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()));
        mac.update(context.as_bytes());
        mac.update(&[0]);
        mac.update(secret);
        mac
    }
}

impl Keyring for TestKeyring {
    fn digest(&self, context: &str, secret: &[u8]) -> SecretDigest {
        self.work.fetch_add(1, Ordering::SeqCst);
        SecretDigest::from_bytes(self.mac(context, secret).finalize().into_bytes().into())
    }

    fn verify(&self, context: &str, secret: &[u8], expected: &SecretDigest) -> bool {
        self.mac(context, secret).verify_slice(expected.as_bytes()).is_ok()
    }

    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyringError> {
        let mut sealed = plaintext.to_vec();
        sealed.extend_from_slice(self.digest("seal", plaintext).as_bytes());
        Ok(sealed)
    }

    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, KeyringError> {
        let split = sealed.len().checked_sub(32).ok_or_else(|| KeyringError("too short".into()))?;
        let (plaintext, tag) = sealed.split_at(split);
        let tag = SecretDigest::from_slice(tag).ok_or_else(|| KeyringError("bad tag".into()))?;
        if self.verify("seal", plaintext, &tag) {
            Ok(plaintext.to_vec())
        } else {
            Err(KeyringError("the seal does not match".into()))
        }
    }
}
