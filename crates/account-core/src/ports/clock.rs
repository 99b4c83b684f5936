//! The `Clock` port: the only source of "now" for the domain.

use chrono::{DateTime, Utc};

/// Tells the time. Production reads the system clock; tests use a fixed, steppable clock.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}
