//! Integration tests of the HTTP API, in-process over the in-memory domain: one test binary.

// Test code: helpers outside `#[test]` functions panic on a failed expectation too
// (`clippy.toml`'s allow-*-in-tests covers only the test functions themselves).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api_keys;
mod client_address;
mod credits;
mod deletion;
mod docs;
mod edge_cases;
mod email_change;
mod errors;
mod export;
mod headers;
mod impersonation;
mod matrix;
mod openapi;
mod operator;
mod organisation;
mod panics;
mod password_reset;
mod profile;
mod server;
mod sessions;
mod slow_clients;
mod support;
mod team;
