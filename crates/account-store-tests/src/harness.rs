//! The runner: cases are plain async functions over a factory; [`run_cases`] runs them one
//! after the other (each in its own task, so that a failing case is reported and the others
//! still run), prints one line per case, and sums up.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use account_core::ids::MailId;
use account_core::ports::Store;
use async_trait::async_trait;

/// A boxed, sendable future, as cases return.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Hands out stores of one implementation.
#[async_trait]
pub trait StoreFactory: Send + Sync + 'static {
    /// A label for output, such as `sqlite`.
    fn name(&self) -> String;

    /// A store on a new, empty database. The previous database need not survive.
    async fn fresh(&self) -> Arc<dyn Store>;

    /// Another store on the database of the last [`fresh`](Self::fresh) one, with its own
    /// connections, as a second server process would open it.
    async fn reopen(&self) -> Arc<dyn Store>;

    /// The sealed content stored for a mail, sent or not (`None` if there is no such mail).
    /// No port reads a sent mail back, so the suite looks through this to check that
    /// `mark_sent` forgets the content.
    async fn stored_sealed(&self, mail: MailId) -> Option<Vec<u8>>;
}

/// One named case over a factory of type `F`.
pub struct Case<F: ?Sized> {
    /// Its name, as printed.
    pub name: &'static str,
    /// The case.
    pub run: fn(Arc<F>) -> BoxFuture,
}

impl<F: ?Sized> std::fmt::Debug for Case<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case").field("name", &self.name).finish()
    }
}

/// What a run found.
#[derive(Debug, Clone)]
pub struct Summary {
    /// What ran on what, such as `contract suite on sqlite`.
    pub label: String,
    /// Cases run.
    pub ran: usize,
    /// Names of the cases that failed.
    pub failed: Vec<&'static str>,
    /// Wall time.
    pub elapsed: Duration,
    /// True when `ACCOUNTS_CONTRACT_FILTER` left cases out.
    pub filtered: bool,
}

impl Summary {
    /// Fails the calling test if a case failed, or if none ran without a filter asking so.
    pub fn assert_passed(&self) {
        assert!(self.ran > 0 || self.filtered, "{}: no case ran", self.label);
        assert!(self.failed.is_empty(), "{}: failed cases: {:?}", self.label, self.failed);
    }
}

/// Runs `cases` one after the other against `factory`. Set `ACCOUNTS_CONTRACT_FILTER` to a
/// substring to run only the cases whose names contain it (the summary says how many ran).
pub async fn run_cases<F: ?Sized + Send + Sync + 'static>(
    label: &str,
    factory: Arc<F>,
    cases: Vec<Case<F>>,
) -> Summary {
    let filter = std::env::var("ACCOUNTS_CONTRACT_FILTER").ok().filter(|f| !f.is_empty());
    let total = cases.len();
    let started = Instant::now();
    let mut ran = 0;
    let mut failed = Vec::new();
    println!("== {label}: {total} cases");
    for case in cases {
        if filter.as_deref().is_some_and(|f| !case.name.contains(f)) {
            continue;
        }
        ran += 1;
        let t = Instant::now();
        let outcome = tokio::spawn((case.run)(factory.clone())).await;
        let ms = t.elapsed().as_millis();
        match outcome {
            Ok(()) => println!("   ok      {:<55} {ms:>6} ms", case.name),
            Err(e) => {
                println!("   FAILED  {:<55} {ms:>6} ms ({e})", case.name);
                failed.push(case.name);
            }
        }
    }
    let elapsed = started.elapsed();
    let filtered = ran < total;
    let note = filter
        .map(|f| format!(" (ACCOUNTS_CONTRACT_FILTER={f}: {ran} of {total})"))
        .unwrap_or_default();
    println!(
        "== {label}: {} passed, {} failed, in {:.2} s{note}",
        ran - failed.len(),
        failed.len(),
        elapsed.as_secs_f64()
    );
    Summary { label: label.to_owned(), ran, failed, elapsed, filtered }
}
