//! `ServerKeyring`: keyed operations under the server key: HMAC-SHA-256 digests of tokens and
//! codes (compared in constant time) and XChaCha20-Poly1305 sealing of outbox mail. Two
//! sub-keys are derived from the server key so that neither use can be turned against the
//! other.

use account_core::domain::secret::SecretDigest;
use account_core::ports::{Keyring, KeyringError};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The server's 256-bit secret key. Never printed.
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(REDACTED)")
    }
}

impl ServerKey {
    /// A fresh random key.
    ///
    /// # Errors
    /// When the operating system's generator fails.
    pub fn generate() -> Result<Self, String> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| e.to_string())?;
        Ok(Self(key))
    }

    /// Reads 64 hex digits.
    ///
    /// # Errors
    /// A message saying what is wrong (never the value).
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.len() != 64 || !text.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(
                "must be 64 hexadecimal digits (32 bytes), e.g. from `openssl rand -hex 32`".into(),
            );
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
        }
        Ok(Self(key))
    }

    /// The key as 64 hex digits (to write the key file).
    #[must_use]
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The production keyring.
#[derive(Clone)]
pub struct ServerKeyring {
    mac_key: [u8; 32],
    aead: XChaCha20Poly1305,
}

impl std::fmt::Debug for ServerKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKeyring(REDACTED)")
    }
}

fn derive(key: &ServerKey, label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&key.0)
        .unwrap_or_else(|_| <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default()));
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl ServerKeyring {
    /// A keyring under `key`.
    #[must_use]
    pub fn new(key: &ServerKey) -> Self {
        let mac_key = derive(key, "accounts/digest/v1");
        let seal_key = derive(key, "accounts/seal/v1");
        Self { mac_key, aead: XChaCha20Poly1305::new(Key::from_slice(&seal_key)) }
    }

    fn mac(&self, context: &str, secret: &[u8]) -> HmacSha256 {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.mac_key)
            .unwrap_or_else(|_| <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default()));
        mac.update(&(context.len() as u64).to_be_bytes());
        mac.update(context.as_bytes());
        mac.update(secret);
        mac
    }
}

impl Keyring for ServerKeyring {
    fn digest(&self, context: &str, secret: &[u8]) -> SecretDigest {
        SecretDigest::from_bytes(self.mac(context, secret).finalize().into_bytes().into())
    }

    fn verify(&self, context: &str, secret: &[u8], expected: &SecretDigest) -> bool {
        // `verify_slice` compares in constant time.
        self.mac(context, secret).verify_slice(expected.as_bytes()).is_ok()
    }

    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, KeyringError> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| KeyringError(e.to_string()))?;
        let ciphertext = self
            .aead
            .encrypt(XNonce::from_slice(&nonce), plaintext)
            .map_err(|_| KeyringError("encryption failed".into()))?;
        let mut sealed = Vec::with_capacity(24 + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, KeyringError> {
        if sealed.len() < 24 {
            return Err(KeyringError("sealed payload too short".into()));
        }
        let (nonce, ciphertext) = sealed.split_at(24);
        self.aead
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| KeyringError("sealed with another key, or altered".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_keyed_and_bound_to_their_context() {
        let a = ServerKeyring::new(&ServerKey::generate().unwrap());
        let b = ServerKeyring::new(&ServerKey::generate().unwrap());
        let d = a.digest("session", b"secret");
        assert!(a.verify("session", b"secret", &d));
        assert!(!a.verify("api-key", b"secret", &d));
        assert!(!a.verify("session", b"secreT", &d));
        assert!(!b.verify("session", b"secret", &d));
    }

    #[test]
    fn sealing_hides_and_authenticates() {
        let key = ServerKey::generate().unwrap();
        let ring = ServerKeyring::new(&key);
        let sealed = ring.seal(b"Your code: 123456").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"123456"));
        assert_eq!(ring.open(&sealed).unwrap(), b"Your code: 123456");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(ring.open(&tampered).is_err());
        let other = ServerKeyring::new(&ServerKey::generate().unwrap());
        assert!(other.open(&sealed).is_err());
        // Same key from its hex form works across restarts.
        let again = ServerKeyring::new(&ServerKey::from_hex(&key.to_hex()).unwrap());
        assert_eq!(again.open(&sealed).unwrap(), b"Your code: 123456");
    }

    #[test]
    fn key_parsing_explains_and_never_prints() {
        assert!(ServerKey::from_hex("abc").unwrap_err().contains("64 hexadecimal digits"));
        let key = ServerKey::generate().unwrap();
        assert_eq!(format!("{key:?}"), "ServerKey(REDACTED)");
    }
}
