//! `account-store-tests`: the store contract suite, generic over `account-core`'s store ports.
//!
//! Every storage adapter runs the same [`contract_cases`] through [`run_cases`], with a
//! [`StoreFactory`] that hands out empty stores of its kind. The cases pin down what the port
//! documentation promises (errors, ordering, paging, erasure, cascades, leasing), that units
//! are atomic, and that the use cases' rules hold under concurrency across two connection
//! pools. This crate's own test binary runs them against the memory store, SQLite and
//! PostgreSQL.
//!
//! # Proving a store of your own
//!
//! Depend on this crate (and `tokio`, `async-trait`) in your store's dev-dependencies,
//! implement [`StoreFactory`] for your store, and run the suite from one test. Here on the
//! memory store; put yours in its place:
//!
//! ```no_run
//! use std::sync::{Arc, Mutex};
//!
//! use account_core::ids::MailId;
//! use account_core::ports::Store;
//! use account_memory::MemoryStore;
//! use account_store_tests::{StoreFactory, contract_cases, run_cases};
//!
//! #[derive(Default)]
//! struct MyFactory {
//!     current: Mutex<MemoryStore>,
//! }
//!
//! #[async_trait::async_trait]
//! impl StoreFactory for MyFactory {
//!     fn name(&self) -> String {
//!         "my-store".into()
//!     }
//!
//!     /// A store on a new, empty database.
//!     async fn fresh(&self) -> Arc<dyn Store> {
//!         let store = MemoryStore::new();
//!         *self.current.lock().unwrap() = store.clone();
//!         Arc::new(store)
//!     }
//!
//!     /// A second handle on the same database, with its own connections.
//!     async fn reopen(&self) -> Arc<dyn Store> {
//!         Arc::new(self.current.lock().unwrap().clone())
//!     }
//!
//!     /// What your store keeps of a mail's sealed content (`None` once it forgot it).
//!     async fn stored_sealed(&self, mail: MailId) -> Option<Vec<u8>> {
//!         let store = self.current.lock().unwrap().clone();
//!         store.outbox().await.into_iter().find(|m| m.id == mail).map(|m| m.sealed)
//!     }
//! }
//!
//! // In your crate: `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]`.
//! # async fn contract() {
//! let factory: Arc<dyn StoreFactory> = Arc::new(MyFactory::default());
//! run_cases("contract suite on my-store", factory, contract_cases()).await.assert_passed();
//! # }
//! ```
//!
//! Each case prints one line; `ACCOUNTS_CONTRACT_FILTER=<substring>` runs only the cases whose
//! names contain it. `docs/embedding.md` has the whole guide.

// A test crate: its assertions panic by design, and its figures are printed for `--nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

mod cases;
pub mod fixtures;
mod harness;

pub use cases::contract_cases;
pub use harness::{BoxFuture, Case, StoreFactory, Summary, run_cases};
