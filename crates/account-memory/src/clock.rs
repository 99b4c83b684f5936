//! `FixedClock`: a clock that stands still until a test moves it.

use std::sync::Mutex;

use account_core::ports::Clock;
use chrono::{DateTime, Duration, TimeZone, Utc};

/// A clock that returns the same instant until set or advanced.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<Utc>>,
}

impl FixedClock {
    /// A clock at `at`.
    #[must_use]
    pub fn at(at: DateTime<Utc>) -> Self {
        Self { now: Mutex::new(at) }
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = at;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Default for FixedClock {
    /// Monday 2026-01-05 09:00 UTC.
    fn default() -> Self {
        Self::at(Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).single().unwrap_or(DateTime::UNIX_EPOCH))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
