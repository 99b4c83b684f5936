//! `Argon2Hasher`: argon2id with one of OWASP's parameter sets, run on a fixed set of worker
//! threads (one per core), which bounds how many hash at once (each holds its memory cost
//! while it runs) and how much memory the allocator keeps afterwards.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use account_core::domain::password::{Password, PasswordAttempt, PasswordHash};
use account_core::ports::{HashError, PasswordHasher};
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;

/// Work for a hashing thread.
type Job = Box<dyn FnOnce(&Argon2<'static>) + Send>;

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
    jobs: Sender<Job>,
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
        Ok(Self { jobs: start_workers(&argon2, concurrency.max(1))?, dummy })
    }

    /// Runs `work` on a hashing thread. Not `spawn_blocking`: each argon2 run allocates its
    /// memory cost (12 MiB) and glibc keeps freed blocks in a per-thread arena, so hashing on
    /// tokio's many blocking threads grew the resident set to hundreds of MiB under log-in
    /// load; a fixed set of threads keeps it to one block per core.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(Argon2<'static>) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |argon2| {
            let _ = done.send(work(argon2.clone()));
        });
        self.jobs.send(job).map_err(|_| HashError("the argon2 threads have stopped".into()))?;
        result.await.map_err(|_| HashError("an argon2 thread stopped".into()))?
    }
}

/// `n` threads taking jobs from one queue; they end when the hasher (the sender) is dropped.
fn start_workers(argon2: &Argon2<'static>, n: usize) -> Result<Sender<Job>, HashError> {
    let (jobs, queue) = std::sync::mpsc::channel::<Job>();
    let queue: Arc<Mutex<Receiver<Job>>> = Arc::new(Mutex::new(queue));
    for i in 0..n {
        let queue = Arc::clone(&queue);
        let argon2 = argon2.clone();
        std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || {
                loop {
                    // The lock is released before the job runs.
                    let job = match queue.lock() {
                        Ok(q) => q.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(&argon2),
                        Err(_) => return,
                    }
                }
            })
            .map_err(|e| HashError(e.to_string()))?;
    }
    Ok(jobs)
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
