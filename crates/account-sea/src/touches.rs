//! Touches under way (`Store::record_activity`): of the requests that find a session or API
//! key due for its once-a-minute touch at the same moment, one writes it and the others go on.
//!
//! Without this, every request in flight for a busy session saw the same stale `last_seen_at`
//! and wrote it: 64 concurrent requests made 64 write units queued on one writer (SQLite) or
//! one row lock (PostgreSQL), each commit also retiring the kept session reads, and the
//! requests behind them waited up to half a second once a minute. A claim lasts
//! [`TOUCH_INTERVAL`]: within it no other request of this process touches that id. A touch
//! that fails gives its claim back, so the next request tries again. Other processes claim
//! their own, so a session is touched at most once a minute per process. Claims are this
//! process's bookkeeping of its own writes, never a rule: a lost claim only costs a write.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use account_core::services::auth::TOUCH_INTERVAL;

/// Most claims remembered; past this, expired claims go, and if none has expired the touch
/// goes ahead unclaimed (as before claims existed: correct, only more writes).
const CAPACITY: usize = 4096;

/// Whether a claim made at `at` still holds at `now`. One made "later" than `now` (the clock
/// was set back) does not: it would otherwise hold off touches, and let sessions in use run
/// into their idle limit, for as long as the clock was set back.
fn holds(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    at <= now && now - at < TOUCH_INTERVAL
}

/// Claims by session or API key id, each at the time its touch began.
#[derive(Debug, Default)]
pub(crate) struct Touches {
    claims: Mutex<HashMap<Uuid, DateTime<Utc>>>,
}

impl Touches {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, DateTime<Utc>>> {
        // A claim is one insert or removal: a panic elsewhere cannot leave one half-made.
        self.claims.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the caller should touch `id` at `now`: `false` when a touch of it began in the
    /// last [`TOUCH_INTERVAL`]; otherwise the caller's touch is claimed.
    pub fn claim(&self, id: Uuid, now: DateTime<Utc>) -> bool {
        let mut claims = self.lock();
        if claims.get(&id).is_some_and(|at| holds(*at, now)) {
            return false;
        }
        if claims.len() >= CAPACITY && !claims.contains_key(&id) {
            claims.retain(|_, at| holds(*at, now));
            if claims.len() >= CAPACITY {
                return true;
            }
        }
        claims.insert(id, now);
        true
    }

    /// Gives back the claim on `id` made at `at` (its touch failed).
    pub fn release(&self, id: Uuid, at: DateTime<Utc>) {
        let mut claims = self.lock();
        if claims.get(&id) == Some(&at) {
            claims.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + seconds, 0).single().unwrap_or_default()
    }

    #[test]
    fn one_claim_per_interval_and_a_failed_touch_gives_it_back() {
        let touches = Touches::default();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert!(touches.claim(a, t(0)));
        assert!(!touches.claim(a, t(1)), "a touch of a is under way");
        assert!(touches.claim(b, t(1)), "claims are per id");
        assert!(!touches.claim(a, t(0) + TOUCH_INTERVAL - Duration::seconds(1)));
        assert!(touches.claim(a, t(0) + TOUCH_INTERVAL), "a claim lasts one interval");
        touches.release(b, t(0));
        assert!(!touches.claim(b, t(2)), "only the claim's own time releases it");
        touches.release(b, t(1));
        assert!(touches.claim(b, t(2)), "released");
        assert!(touches.claim(b, t(-600)), "the clock was set back: the claim does not hold");
    }

    #[test]
    fn when_full_expired_claims_go_and_otherwise_the_touch_goes_ahead() {
        let touches = Touches::default();
        for n in 0..CAPACITY {
            assert!(touches.claim(Uuid::from_u128(n as u128), t(0)));
        }
        let late = Uuid::from_u128(u128::MAX);
        assert!(touches.claim(late, t(1)), "full: goes ahead unclaimed");
        assert!(touches.claim(late, t(2)), "so a second request touches too");
        assert_eq!(touches.lock().len(), CAPACITY);
        let later = t(0) + TOUCH_INTERVAL;
        assert!(touches.claim(late, later), "the expired claims made room");
        assert_eq!(touches.lock().len(), 1);
        assert!(!touches.claim(late, later));
    }
}
