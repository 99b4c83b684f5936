//! The store contract suite against every store: the memory store, SQLite (a temporary file)
//! and PostgreSQL (a temporary database, when `ACCOUNTS_TEST_POSTGRES_URL` is set), plus the
//! checks that only concern the sea-orm store (migrations, durability, configuration, error
//! mapping). One test binary, one module per backend.

// A test binary: its helpers (not only its `#[test]` functions) assert by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

mod memory;
mod postgres;
mod sea;
mod sqlite;
mod support;
