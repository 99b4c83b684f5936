//! Ports: one trait per outside concern. Adapters implement them; use cases depend only on
//! them. Every trait is `Send + Sync + 'static` so it can sit behind an `Arc` in async code.

mod clock;
mod keyring;
mod mailer;
mod passwords;
mod random;
mod store;

pub use clock::Clock;
pub use keyring::{Keyring, KeyringError};
pub use mailer::{MailError, Mailer};
pub use passwords::{HashError, PasswordHasher};
pub use random::Random;
pub use store::*;

#[cfg(feature = "mocks")]
pub use clock::MockClock;
#[cfg(feature = "mocks")]
pub use keyring::MockKeyring;
#[cfg(feature = "mocks")]
pub use mailer::MockMailer;
#[cfg(feature = "mocks")]
pub use passwords::MockPasswordHasher;
#[cfg(feature = "mocks")]
pub use random::MockRandom;
