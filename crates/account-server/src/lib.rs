//! `account-server`: the `accounts` binary's library: configuration, production adapters
//! (clock, CSPRNG, argon2id, keyring), mail transports, and the wiring of `account-core`,
//! `account-sea` and `account-http`.

pub mod adapters;
pub mod allocator_tick;
pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod mail;
pub mod metrics;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod private_fs;
pub mod redact;
pub mod telemetry;
pub mod worker;
