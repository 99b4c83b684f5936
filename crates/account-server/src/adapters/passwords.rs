//! `Argon2Hasher`: argon2id with one of OWASP's parameter sets, run on a fixed set of worker
//! threads (one per core), which bounds how many hash at once (each holds its memory cost
//! while it runs) and how much memory the allocator keeps afterwards. The queue in front of
//! them is bounded too: past it a hash is refused at once ([`HashError::Busy`], which the API
//! answers with 503 and `Retry-After`) instead of piling up CPU work behind a burst.

use account_core::domain::password::{Password, PasswordAttempt, PasswordHash};
use account_core::ports::{HashError, PasswordHasher};
use argon2::password_hash::{
    Output, ParamsString, PasswordHash as PhcHash, PasswordHasher as _, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use flume::{Receiver, Sender};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// Work for a hashing thread.
type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// OWASP's argon2id set "m=7168 (7 MiB), t=5, p=1": as strong as their 19 MiB / t=2 and
/// 12 MiB / t=3 sets, for about the same CPU time (memory × passes), with the least memory per
/// concurrent hash of the sets (docs/decisions/0004-argon2-and-sqlite-memory.md). Hashes
/// stored with other parameters verify with the parameters they name.
pub const MEMORY_KIB: u32 = 7 * 1024;
/// Iterations.
pub const ITERATIONS: u32 = 5;
/// Lanes.
pub const PARALLELISM: u32 = 1;
/// Hashes that may wait for a thread by default (`ACCOUNTS_PASSWORD_HASH_QUEUE`): four times
/// the bench's 64 concurrent log-ins, about 1.4 s of work on two cores.
pub const DEFAULT_QUEUE: usize = 256;

/// argon2id password hashing.
#[derive(Clone)]
pub struct Argon2Hasher {
    jobs: Sender<Job>,
    dummy: String,
    /// argon2id runs completed, by operation (`hash`, `verify`).
    runs: Family<Vec<(&'static str, &'static str)>, Counter>,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher").field("memory_kib", &MEMORY_KIB).finish_non_exhaustive()
    }
}

impl Argon2Hasher {
    /// A hasher with OWASP's parameters, hashing at most `concurrency` passwords at once
    /// (one per core is right: hashing is CPU-bound) with at most `queue` more waiting.
    ///
    /// # Errors
    /// [`HashError`] if the parameters are refused (they never are) or the dummy hash fails.
    pub fn new(concurrency: usize, queue: usize) -> Result<Self, HashError> {
        Self::with_params(MEMORY_KIB, ITERATIONS, PARALLELISM, concurrency, queue)
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
        queue: usize,
    ) -> Result<Self, HashError> {
        let params = Params::new(memory_kib, iterations, lanes, None).map_err(fail)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        // A real hash of a random password, so that verifying against "no account" costs the
        // same as against a real one.
        let mut seed = [0u8; 16];
        getrandom::fill(&mut seed).map_err(fail)?;
        let salt = SaltString::encode_b64(&seed).map_err(fail)?;
        let dummy = argon2.hash_password(&seed, &salt).map_err(fail)?.to_string();
        let jobs = start_workers(&argon2, concurrency.max(1), queue.max(1))?;
        Ok(Self { jobs, dummy, runs: Family::default() })
    }

    /// Registers `password_hashes{op}` (argon2id runs completed by this process) in `metrics`.
    pub fn register(&self, metrics: &mut account_http::Metrics) {
        for op in ["hash", "verify"] {
            let _ = self.runs.get_or_create(&vec![("op", op)]);
        }
        metrics.registry().register(
            "password_hashes",
            "argon2id runs completed by this process, by operation: hash (a new password), verify (a log-in or a password check, known account or not)",
            self.runs.clone(),
        );
    }

    /// Runs `work` on a hashing thread, with that thread's argon2 memory; refuses it at once
    /// when the queue is full.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Worker) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |worker| {
            let _ = done.send(work(worker));
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(flume::TrySendError::Full(_)) => return Err(HashError::Busy),
            Err(flume::TrySendError::Disconnected(_)) => {
                return Err(HashError::Failed("the argon2 threads have stopped".into()));
            }
        }
        result.await.map_err(|_| HashError::Failed("an argon2 thread stopped".into()))?
    }
}

/// A hashing thread's state: the configured argon2 and its own memory blocks, allocated by
/// the first hash after an idle spell, reused while hashes keep coming, and given back when
/// the queue runs dry ([`Worker::release`], [`next_job`]). Not `spawn_blocking` with argon2's
/// own allocation per hash: glibc keeps freed blocks of the memory cost (past its dynamic mmap
/// threshold) in per-thread arenas, and over tokio's many blocking threads the resident set
/// grew by 12 MiB (the cost then) per log-in up to ~170 MiB. On these few fixed threads a
/// freed block is at worst kept for the same thread's next hash.
struct Worker {
    argon2: Argon2<'static>,
    blocks: Vec<Block>,
}

fn fail(e: impl std::fmt::Display) -> HashError {
    HashError::Failed(e.to_string())
}

impl Worker {
    fn new(argon2: Argon2<'static>) -> Self {
        Self { argon2, blocks: Vec::new() }
    }

    /// Frees the memory blocks while no hash is waiting (7 MiB per hashing thread): a server
    /// that has not logged anyone in never allocates them, and one that stops does not keep
    /// them in use (the `accounts` binary's allocator hands them back to the operating system
    /// within seconds, see `crate::allocator_tick`).
    fn release(&mut self) {
        self.blocks = Vec::new();
    }

    /// Runs `argon2` into `out` on `blocks` (grown if a stored hash asks for more memory than
    /// the configured cost).
    fn compute(
        blocks: &mut Vec<Block>,
        argon2: &Argon2<'_>,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), HashError> {
        let needed = argon2.params().block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
            .map_err(fail)
    }

    /// A PHC string of `password` with a fresh salt and the configured parameters.
    fn hash(&mut self, password: &[u8]) -> Result<String, HashError> {
        let mut seed = [0u8; 16];
        getrandom::fill(&mut seed).map_err(fail)?;
        let salt = SaltString::encode_b64(&seed).map_err(fail)?;
        let params = self.argon2.params();
        let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
        Self::compute(&mut self.blocks, &self.argon2, password, &seed, &mut out)?;
        let hash = PhcHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(params).map_err(fail)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(fail)?),
        };
        Ok(hash.to_string())
    }

    /// Whether `password` matches the PHC string `stored`, with the parameters it names; the
    /// comparison is constant-time (`Output`'s equality).
    fn verify(&mut self, password: &[u8], stored: &str) -> Result<bool, HashError> {
        let parsed = PhcHash::new(stored).map_err(fail)?;
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(fail)?;
        let version =
            parsed.version.map(Version::try_from).transpose().map_err(fail)?.unwrap_or_default();
        let params = Params::try_from(&parsed).map_err(fail)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(HashError::Failed("a stored hash without salt or output".into()));
        };
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(fail)?;
        let argon2 = Argon2::new(algorithm, version, params);
        let mut out = vec![0u8; expected.len()];
        Self::compute(&mut self.blocks, &argon2, password, salt_bytes, &mut out)?;
        Ok(Output::new(&out).map_err(fail)? == expected)
    }
}

/// `n` threads taking jobs from one queue of at most `bound` waiting jobs; they end when the
/// hasher (the sender) is dropped. The queue is flume's, which any number of threads can wait
/// on at once: on one receiver behind a mutex, an idle thread would wait for the lock, blocks
/// in hand, while another waits for work.
fn start_workers(
    argon2: &Argon2<'static>,
    n: usize,
    bound: usize,
) -> Result<Sender<Job>, HashError> {
    let (jobs, queue) = flume::bounded::<Job>(bound);
    for i in 0..n {
        let queue = queue.clone();
        let argon2 = argon2.clone();
        std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || {
                let mut worker = Worker::new(argon2);
                while let Some(job) = next_job(&queue, &mut worker) {
                    job(&mut worker);
                }
            })
            .map_err(fail)?;
    }
    Ok(jobs)
}

/// The next job for `worker`, which releases its blocks first if it would have to wait;
/// `None` once the hasher is gone.
fn next_job(queue: &Receiver<Job>, worker: &mut Worker) -> Option<Job> {
    if let Ok(job) = queue.try_recv() {
        return Some(job);
    }
    worker.release();
    queue.recv().ok()
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let plain = password.expose().to_owned();
        let hash = self.blocking(move |worker| worker.hash(plain.as_bytes())).await?;
        self.runs.get_or_create(&vec![("op", "hash")]).inc();
        Ok(PasswordHash::from_stored(hash))
    }

    async fn verify<'a>(
        &self,
        attempt: &PasswordAttempt,
        hash: Option<&'a PasswordHash>,
    ) -> Result<bool, HashError> {
        let plain = attempt.expose().to_owned();
        let known = hash.is_some();
        let stored = hash.map_or_else(|| self.dummy.clone(), |h| h.as_str().to_owned());
        let matches = self.blocking(move |worker| worker.verify(plain.as_bytes(), &stored)).await?;
        self.runs.get_or_create(&vec![("op", "verify")]).inc();
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_argon2id_and_verifies() {
        let hasher = Argon2Hasher::with_params(64, 1, 1, 2, 8).unwrap();
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

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_both_ways() {
        let hasher = Argon2Hasher::with_params(64, 1, 1, 1, 8).unwrap();
        let password = Password::parse("tangerine lamp 42").unwrap();
        // Ours verifies with the argon2 crate's own verifier...
        let ours = hasher.hash(&password).await.unwrap();
        use argon2::password_hash::PasswordVerifier as _;
        let parsed = PhcHash::new(ours.as_str()).unwrap();
        assert!(Argon2::default().verify_password(b"tangerine lamp 42", &parsed).is_ok());
        // ...and a hash made elsewhere, with more memory than our blocks, verifies with ours.
        let params = Params::new(256, 2, 1, None).unwrap();
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let theirs = other.hash_password(b"tangerine lamp 42", &salt).unwrap().to_string();
        let theirs = PasswordHash::from_stored(theirs);
        let right = PasswordAttempt::new("tangerine lamp 42").unwrap();
        let wrong = PasswordAttempt::new("tangerine lamp 4").unwrap();
        assert!(hasher.verify(&right, Some(&theirs)).await.unwrap());
        assert!(!hasher.verify(&wrong, Some(&theirs)).await.unwrap());
        // And our own again after the blocks grew.
        assert!(hasher.verify(&right, Some(&ours)).await.unwrap());
    }

    #[test]
    fn a_worker_keeps_its_blocks_while_jobs_wait_and_gives_them_back_when_idle() {
        let params = Params::new(64, 1, 1, None).unwrap();
        let mut worker = Worker::new(Argon2::new(Algorithm::Argon2id, Version::V0x13, params));
        assert!(worker.blocks.is_empty(), "no memory before the first hash");
        worker.hash(b"tangerine lamp 42").unwrap();
        assert_eq!(worker.blocks.len(), 64);
        let (jobs, queue) = flume::unbounded::<Job>();
        jobs.send(Box::new(|_| {})).unwrap();
        assert!(next_job(&queue, &mut worker).is_some());
        assert_eq!(worker.blocks.len(), 64, "kept while a job was waiting");
        drop(jobs);
        assert!(next_job(&queue, &mut worker).is_none());
        assert!(worker.blocks.is_empty(), "given back when the queue ran dry");
    }

    #[test]
    fn idle_workers_all_give_their_blocks_back() {
        let params = Params::new(64, 1, 1, None).unwrap();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let jobs = start_workers(&argon2, 2, 8).unwrap();
        // Runs `check` on both threads at once (each job waits for the other) and returns
        // what each saw.
        let on_both = |check: fn(&mut Worker) -> bool| {
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
            let (seen, results) = std::sync::mpsc::channel();
            for _ in 0..2 {
                let (barrier, seen) = (barrier.clone(), seen.clone());
                let job: Job = Box::new(move |worker| {
                    let result = check(worker);
                    barrier.wait();
                    seen.send(result).unwrap();
                });
                jobs.send(job).unwrap();
            }
            [results.recv().unwrap(), results.recv().unwrap()]
        };
        let hashed = |w: &mut Worker| w.hash(b"tangerine lamp 42").is_ok() && !w.blocks.is_empty();
        assert_eq!(on_both(hashed), [true, true], "both threads hold blocks");
        // Both then wait for work at the same time; neither keeps its blocks meanwhile.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(on_both(|w| w.blocks.is_empty()), [true, true]);
    }

    #[tokio::test]
    async fn past_the_queue_bound_a_hash_is_refused_at_once_and_taken_again_once_it_drains() {
        let hasher = Argon2Hasher::with_params(64, 1, 1, 1, 2).unwrap();
        // Hold the one thread, then fill the queue's two places.
        let (hold, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        let busy: Job = Box::new(move |_| {
            started.send(()).unwrap();
            let _ = held.recv();
        });
        hasher.jobs.try_send(busy).unwrap();
        running.recv().unwrap();
        let password = Password::parse("tangerine lamp 42").unwrap();
        let waiting: Vec<_> = (0..2)
            .map(|_| {
                let (h, p) = (hasher.clone(), password.clone());
                tokio::spawn(async move { h.hash(&p).await })
            })
            .collect();
        while hasher.jobs.len() < 2 {
            tokio::task::yield_now().await;
        }
        let attempt = PasswordAttempt::new("tangerine lamp 42").unwrap();
        let refused = std::time::Instant::now();
        assert!(matches!(hasher.hash(&password).await, Err(HashError::Busy)));
        assert!(matches!(hasher.verify(&attempt, None).await, Err(HashError::Busy)));
        assert!(refused.elapsed() < std::time::Duration::from_millis(100), "refused at once");
        // The queue drains; the waiting hashes finish and new ones are taken again.
        hold.send(()).unwrap();
        for w in waiting {
            assert!(w.await.unwrap().is_ok());
        }
        assert!(hasher.hash(&password).await.is_ok());
    }

    #[test]
    fn production_parameters_are_an_owasp_set() {
        assert_eq!((MEMORY_KIB, ITERATIONS, PARALLELISM), (7_168, 5, 1));
        assert!(Argon2Hasher::new(1, DEFAULT_QUEUE).is_ok());
    }
}
