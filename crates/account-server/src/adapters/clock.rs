//! `SystemClock`: the real time, for production.

use account_core::ports::Clock;
use chrono::{DateTime, Utc};

/// Reads the system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one place that may read the real clock.
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
