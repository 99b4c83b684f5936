//! The black-box suite: the built `accounts` binary, started as an operator would start it
//! (environment variables, port 0, a fresh SQLite file or a fresh PostgreSQL database), walked
//! through every flow of the three product pages over real HTTP, with codes and invitations
//! read from its mailbox directory or from a real SMTP server on loopback. One test binary.

// Test code: helpers outside `#[test]` functions panic on a failed expectation too
// (`clippy.toml`'s allow-*-in-tests covers only the test functions themselves).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
mod cli;
mod multiprocess;
mod operations;
mod organisation_page;
mod password_reset;
mod profile_page;
mod server;
mod smtp;
mod support;
mod team_page;
