//! `Argon2Hasher`: argon2id with one of OWASP's parameter sets, run on blocking threads with a
//! bound on how many hash at once (each holds its memory cost while it runs).

use std::sync::Arc;

use account_core::domain::password::{Password, PasswordAttempt, PasswordHash};
use account_core::ports::{HashError, PasswordHasher};
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use tokio::sync::Semaphore;

/// OWASP's argon2id set "m=12288 (12 MiB), t=3, p=1": as strong as their 19 MiB / t=2 set,
/// with less memory per concurrent hash (see docs/operations.md).
pub const MEMORY_KIB: u32 = 12 * 1024;
/// Iterations.
pub const ITERATIONS: u32 = 3;
/// Lanes.
pub const PARALLELISM: u32 = 1;

/// argon2id password hashing.
#[derive(Clone)]
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    dummy: String,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher").field("memory_kib", &MEMORY_KIB).finish_non_exhaustive()
    }
}

impl Argon2Hasher {
    /// A hasher with OWASP's parameters, hashing at most `concurrency` passwords at once
    /// (one per core is right: hashing is CPU-bound).
    ///
    /// # Errors
    /// [`HashError`] if the parameters are refused (they never are) or the dummy hash fails.
    pub fn new(concurrency: usize) -> Result<Self, HashError> {
        Self::with_params(MEMORY_KIB, ITERATIONS, PARALLELISM, concurrency)
    }

    /// A hasher with explicit parameters (tests use small ones).
    ///
    /// # Errors
    /// [`HashError`] when argon2 refuses the parameters.
    pub fn with_params(
        memory_kib: u32,
        iterations: u32,
        lanes: u32,
        concurrency: usize,
    ) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, iterations, lanes, None)
            .map_err(|e| HashError(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        // A real hash of a random password, so that verifying against "no account" costs the
        // same as against a real one.
        let mut seed = [0u8; 16];
        getrandom::fill(&mut seed).map_err(|e| HashError(e.to_string()))?;
        let salt = SaltString::encode_b64(&seed).map_err(|e| HashError(e.to_string()))?;
        let dummy =
            argon2.hash_password(&seed, &salt).map_err(|e| HashError(e.to_string()))?.to_string();
        Ok(Self { argon2, permits: Arc::new(Semaphore::new(concurrency.max(1))), dummy })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(Argon2<'static>) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self.permits.acquire().await.map_err(|e| HashError(e.to_string()))?;
        let argon2 = self.argon2.clone();
        tokio::task::spawn_blocking(move || work(argon2))
            .await
            .map_err(|e| HashError(e.to_string()))?
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let plain = password.expose().to_owned();
        self.blocking(move |argon2| {
            let mut seed = [0u8; 16];
            getrandom::fill(&mut seed).map_err(|e| HashError(e.to_string()))?;
            let salt = SaltString::encode_b64(&seed).map_err(|e| HashError(e.to_string()))?;
            let hash = argon2
                .hash_password(plain.as_bytes(), &salt)
                .map_err(|e| HashError(e.to_string()))?;
            Ok(PasswordHash::from_stored(hash.to_string()))
        })
        .await
    }

    async fn verify<'a>(
        &self,
        attempt: &PasswordAttempt,
        hash: Option<&'a PasswordHash>,
    ) -> Result<bool, HashError> {
        let plain = attempt.expose().to_owned();
        let known = hash.is_some();
        let stored = hash.map_or_else(|| self.dummy.clone(), |h| h.as_str().to_owned());
        self.blocking(move |argon2| {
            let parsed =
                argon2::PasswordHash::new(&stored).map_err(|e| HashError(e.to_string()))?;
            let matches = argon2.verify_password(plain.as_bytes(), &parsed).is_ok();
            Ok(known && matches)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let hasher = Argon2Hasher::with_params(64, 1, 1, 2).unwrap();
        let password = Password::parse("tangerine lamp 42").unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(!hash.as_str().contains("tangerine"));
        let right = PasswordAttempt::new("tangerine lamp 42").unwrap();
        let wrong = PasswordAttempt::new("tangerine lamp 43").unwrap();
        assert!(hasher.verify(&right, Some(&hash)).await.unwrap());
        assert!(!hasher.verify(&wrong, Some(&hash)).await.unwrap());
        // No account: still false, after a real verification.
        assert!(!hasher.verify(&right, None).await.unwrap());
        // Salted: the same password hashes differently.
        assert_ne!(hasher.hash(&password).await.unwrap(), hash);
    }

    #[test]
    fn production_parameters_are_an_owasp_set() {
        assert_eq!((MEMORY_KIB, ITERATIONS, PARALLELISM), (12_288, 3, 1));
        assert!(Argon2Hasher::new(1).is_ok());
    }
}
