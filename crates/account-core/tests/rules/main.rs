//! `account-core`'s rule tests, in one binary: a module per group of rules (test names start
//! with `rule_NN_` so that `docs/rules.md` can map each rule to its tests), model-based
//! property tests, and failure paths.

// Test code: panicking on a broken expectation is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit;
mod authentication;
mod contacts;
mod credits;
mod export;
mod failures;
mod impersonation;
mod limits;
mod membership;
mod model;
mod parsers;
mod password_reset;
mod profile;
mod seats;
mod security;
mod support;
