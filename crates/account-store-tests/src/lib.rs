//! `account-store-tests`: the store contract suite, generic over `account-core`'s store ports.
//!
//! Every storage adapter runs the same [`contract_cases`] through [`run_cases`], with a
//! [`StoreFactory`] that hands out empty stores of its kind. The cases pin down what the port
//! documentation promises (errors, ordering, paging, erasure, cascades, leasing), that units
//! are atomic, and that the use cases' rules hold under concurrency across two connection
//! pools. This crate's own test binary runs them against the memory store, SQLite and
//! PostgreSQL.

// A test crate: its assertions panic by design, and its figures are printed for `--nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

mod cases;
pub mod fixtures;
mod harness;

pub use cases::contract_cases;
pub use harness::{BoxFuture, Case, StoreFactory, Summary, run_cases};
