//! `account-core`: the accounts domain (organisations, members, credits, contacts,
//! impersonation, audit) as a pure library. Rules live in the domain types and use cases;
//! everything outside (storage, time, randomness, hashing, mail) is reached through the
//! traits in [`ports`]. No I/O happens here.
//!
//! An embedder builds [`Accounts`] over adapters of every port ([`Ports`]) and calls its use
//! cases, grouped by aggregate (`accounts.operator()`, `accounts.auth()`, `accounts.team()`,
//! …). `account-memory` has adapters of every port for tests and demos; `account-sea` the
//! SQL store; `docs/embedding.md` says how to write your own, and how to prove a store
//! against the contract suite.
//!
//! ```
//! use account_core::services::operator::{NewOrganisation, Operator};
//! use account_memory::InMemory;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let accounts = InMemory::new(1).accounts; // every port in memory
//! let new = NewOrganisation {
//!     name: "Acme AB".into(),
//!     registration_number: "556677-8899".into(),
//!     plan: "Professional".into(),
//!     licences: 5,
//!     admin_first_name: "Ada".into(),
//!     admin_last_name: None,
//!     admin_email: "ada@acme.example".into(),
//!     admin_password: Some("tangerine lamp at dawn".into()),
//! };
//! accounts.operator().create_organisation(&Operator::new("support"), &new).await?;
//!
//! let session = accounts.auth().login("ada@acme.example", "tangerine lamp at dawn", None, None).await?;
//! let admin = accounts.auth().authenticate(&session.token).await?.actor;
//! let team = accounts.team().summary(&admin).await?;
//! assert_eq!((team.enabled, team.licences), (1, 5));
//!
//! // Rules are typed errors: the same password is refused as a wrong one, whoever asks.
//! let wrong = accounts.auth().login("ada@acme.example", "not the password", None, None).await;
//! assert!(wrong.is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

pub mod domain;
pub mod error;
pub mod ids;
pub mod ports;
pub mod services;

#[cfg(feature = "mocks")]
pub mod mocks;

pub use error::{FieldError, InternalError, ValidationErrors};
pub use services::{Accounts, Actor, Credential, Denied, Ports, Settings};
