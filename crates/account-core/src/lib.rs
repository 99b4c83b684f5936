//! `account-core`: the accounts domain (organisations, members, credits, contacts,
//! impersonation, audit) as a pure library. Rules live in the domain types and use cases;
//! everything outside (storage, time, randomness, hashing, mail) is reached through the
//! traits in [`ports`]. No I/O happens here.

pub mod domain;
pub mod error;
pub mod ids;
pub mod ports;
pub mod services;

#[cfg(feature = "mocks")]
pub mod mocks;

pub use error::{FieldError, InternalError, ValidationErrors};
pub use services::{Accounts, Actor, Credential, Denied, Ports, Settings};
