//! Log-in throttling: a sliding window of failure times per key (an email address's digest, a
//! client IP), in memory, bounded in size. Time comes from the domain's `Clock` port, so tests
//! can move it.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use account_core::domain::secret::to_hex;
use chrono::{DateTime, Utc};

use crate::config::LoginRateLimit;
use crate::state::AppState;

/// Keyring context of the log-in limiter's email keys.
const LIMIT_CONTEXT: &str = "login-limit";

/// The counters a log-in with `email` from `client` counts against.
pub(crate) fn login_keys(state: &AppState, email: &str, client: Option<IpAddr>) -> Vec<LimitKey> {
    let normalised = email.trim().to_lowercase();
    let digest = state.accounts.ports().keyring.digest(LIMIT_CONTEXT, normalised.as_bytes());
    let mut keys = vec![LimitKey::Email(to_hex(digest.as_bytes()))];
    if let Some(ip) = client {
        keys.push(LimitKey::Client(ip.to_string()));
    }
    keys
}

/// The API's log-in throttle, for another front end of the same server (the web console) to
/// count its log-ins against the same limits, so that it is no way around them.
#[derive(Clone)]
pub struct LoginThrottle {
    state: Arc<AppState>,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle").finish_non_exhaustive()
    }
}

impl LoginThrottle {
    pub(crate) fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    /// `Err(seconds to wait)` when log-ins for `email` or from `client` are throttled.
    ///
    /// # Errors
    /// The seconds to wait.
    pub fn check(&self, email: &str, client: Option<IpAddr>) -> Result<(), u64> {
        let now = self.state.accounts.ports().clock.now();
        self.state.limiter.check(&login_keys(&self.state, email, client), now)
    }

    /// Counts a failed log-in.
    pub fn failed(&self, email: &str, client: Option<IpAddr>) {
        let now = self.state.accounts.ports().clock.now();
        self.state.limiter.record_failure(&login_keys(&self.state, email, client), now);
    }

    /// Forgets the address's failures after a successful log-in.
    pub fn succeeded(&self, email: &str) {
        if let Some(key) = login_keys(&self.state, email, None).first() {
            self.state.limiter.clear(key);
        }
    }
}

/// Most keys tracked; beyond it, expired keys are dropped, then (if still full) all of them,
/// so that a flood of distinct addresses cannot exhaust memory.
const MAX_KEYS: usize = 100_000;

/// What a counter is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum LimitKey {
    /// A keyed digest of the normalised email address (never the address itself).
    Email(String),
    /// A client IP address.
    Client(String),
}

/// Failure counters.
pub(crate) struct LoginLimiter {
    policy: LoginRateLimit,
    failures: Mutex<HashMap<LimitKey, VecDeque<DateTime<Utc>>>>,
}

/// Shows the policy only: the keys are digests of addresses and client IPs.
impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimiter").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl LoginLimiter {
    pub(crate) fn new(policy: LoginRateLimit) -> Self {
        Self { policy, failures: Mutex::new(HashMap::new()) }
    }

    fn limit_of(&self, key: &LimitKey) -> u32 {
        match key {
            LimitKey::Email(_) => self.policy.max_failures_per_email,
            LimitKey::Client(_) => self.policy.max_failures_per_client,
        }
    }

    /// `Err(seconds to wait)` when any key is over its limit.
    pub(crate) fn check(&self, keys: &[LimitKey], now: DateTime<Utc>) -> Result<(), u64> {
        let failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut wait = None;
        for key in keys {
            let Some(times) = failures.get(key) else { continue };
            let recent: Vec<_> = times.iter().filter(|t| now - **t < self.policy.window).collect();
            let limit = usize::try_from(self.limit_of(key)).unwrap_or(usize::MAX);
            if recent.len() >= limit
                && let Some(oldest) = recent.first()
            {
                let secs = (**oldest + self.policy.window - now).num_seconds().max(1);
                let secs = u64::try_from(secs).unwrap_or(1);
                wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
            }
        }
        wait.map_or(Ok(()), Err)
    }

    /// Counts a failed log-in against every key.
    pub(crate) fn record_failure(&self, keys: &[LimitKey], now: DateTime<Utc>) {
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if failures.len() >= MAX_KEYS {
            let window = self.policy.window;
            failures.retain(|_, times| times.back().is_some_and(|t| now - *t < window));
            if failures.len() >= MAX_KEYS {
                failures.clear();
            }
        }
        for key in keys {
            let times = failures.entry(key.clone()).or_default();
            while times.front().is_some_and(|t| now - *t >= self.policy.window) {
                times.pop_front();
            }
            times.push_back(now);
            let limit = usize::try_from(self.limit_of(key)).unwrap_or(usize::MAX);
            while times.len() > limit {
                times.pop_front();
            }
        }
    }

    /// Forgets an email address's failures after a successful log-in.
    pub(crate) fn clear(&self, key: &LimitKey) {
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn blocks_after_the_limit_and_frees_when_the_window_passes() {
        let limiter = LoginLimiter::new(LoginRateLimit {
            max_failures_per_email: 2,
            max_failures_per_client: 10,
            window: Duration::minutes(10),
        });
        let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
        let keys = [LimitKey::Email("a".into()), LimitKey::Client("1.2.3.4".into())];
        assert_eq!(limiter.check(&keys, t0), Ok(()));
        limiter.record_failure(&keys, t0);
        limiter.record_failure(&keys, t0 + Duration::minutes(1));
        assert_eq!(limiter.check(&keys, t0 + Duration::minutes(2)), Err(8 * 60));
        assert_eq!(limiter.check(&keys, t0 + Duration::minutes(10)), Ok(()));
        limiter.record_failure(&keys, t0 + Duration::minutes(10));
        limiter.clear(&keys[0]);
        assert_eq!(limiter.check(&keys, t0 + Duration::minutes(10)), Ok(()));
    }
}
