//! Abuse limits (rule 24): how many guesses (passwords, codes, tokens) and triggered mails a
//! key may spend, and how fast the budget refills. Each key's state is one instant kept by
//! the store (the GCRA's "theoretical arrival time"), so the limit is a row in the database,
//! shared by every process, and an attempt is counted before it is checked.
//!
//! A [`Rate`] of `burst` attempts per `window` admits `burst` attempts at once, then one more
//! each `window / burst`: the budget refills evenly, there is no wall to wait out. Taking is
//! all or nothing across the budgets of one attempt, so a refused attempt costs no budget.

use chrono::{DateTime, Duration, Utc};

/// A budget's size and refill: `burst` attempts, refilled evenly over `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Attempts that may be made at once from a full budget.
    pub burst: u32,
    /// How long an empty budget takes to refill.
    pub window: Duration,
}

impl Rate {
    /// `burst` attempts per `window`.
    #[must_use]
    pub const fn new(burst: u32, window: Duration) -> Self {
        Self { burst, window }
    }

    /// The time one attempt's share of the budget takes to refill.
    #[must_use]
    pub fn interval(self) -> Duration {
        self.window / i32::try_from(self.burst.max(1)).unwrap_or(i32::MAX)
    }

    /// Whether an attempt at `now` fits a budget whose state is `tat` (`None`: never used,
    /// or forgotten); if so, the state afterwards.
    ///
    /// # Errors
    /// [`Exhausted`] with the wait until the next attempt fits.
    pub fn take(
        self,
        tat: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Exhausted> {
        let from = tat.filter(|t| *t > now).unwrap_or(now);
        let next = from + self.interval();
        if next - now <= self.window {
            Ok(next)
        } else {
            Err(Exhausted { wait: next - now - self.window })
        }
    }

    /// The state after giving one attempt's share back (a log-in that turned out right);
    /// `None` when nothing is left to give back.
    #[must_use]
    pub fn refund(self, tat: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        tat.filter(|t| *t > now).map(|t| (t - self.interval()).max(now))
    }
}

/// A budget is spent: the next attempt fits after `wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many attempts; try again in {} seconds", retry_after_secs(*.wait))]
pub struct Exhausted {
    /// How long until the next attempt fits.
    pub wait: Duration,
}

impl Exhausted {
    /// The wait in whole seconds, at least one (for `Retry-After`).
    #[must_use]
    pub fn retry_after_secs(self) -> u64 {
        retry_after_secs(self.wait)
    }
}

fn retry_after_secs(wait: Duration) -> u64 {
    let millis = wait.num_milliseconds().max(1);
    u64::try_from((millis + 999) / 1000).unwrap_or(u64::MAX)
}

/// One budget an attempt spends: its key (which names what is counted and whose it is; never
/// an address or password in clear) and its rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// The key, such as `login.pair:<address digest>:<client>`.
    pub key: String,
    /// Its rate.
    pub rate: Rate,
}

/// The budgets the domain spends, named once (docs/security.md lists them with their tests).
pub mod rates {
    use chrono::Duration;

    use super::Rate;

    /// Log-ins of one address from one client: the owner's own budget.
    pub const LOGIN_PAIR: Rate = Rate::new(10, Duration::minutes(15));
    /// Log-ins of one address from clients that never logged into it (in 30 days): whatever
    /// number of clients an attacker has, this is all they get against one address.
    pub const LOGIN_ADDRESS: Rate = Rate::new(30, Duration::hours(1));
    /// Log-ins from one client, whatever the address (password spraying).
    pub const LOGIN_CLIENT: Rate = Rate::new(50, Duration::minutes(15));
    /// How long a client that logged in is known for that address.
    pub const KNOWN_CLIENT: Duration = Duration::days(30);
    /// Checks of a member's password by a member at a session (changing the password,
    /// deleting the account).
    pub const PASSWORD_CHECK: Rate = Rate::new(5, Duration::minutes(15));
    /// Verification codes entered by one member, across every email-change flow.
    pub const CODE_TRIES_MEMBER: Rate = Rate::new(10, Duration::hours(1));
    /// Verification codes entered for one contact address of an organisation, across every
    /// time it is added.
    pub const CODE_TRIES_CONTACT: Rate = Rate::new(10, Duration::hours(1));
    /// Tokens (invitations, password resets) tried from one client.
    pub const TOKEN_TRIES_CLIENT: Rate = Rate::new(20, Duration::minutes(15));
    /// Mails a caller can trigger to one address (codes, invitations, resets, notices).
    pub const MAILS_TO_ADDRESS: Rate = Rate::new(10, Duration::hours(1));
    /// Mails one member can trigger (invitations, contact codes, their own codes).
    pub const MAILS_BY_MEMBER: Rate = Rate::new(30, Duration::hours(1));
    /// Mails one client can trigger without an account (password resets).
    pub const MAILS_BY_CLIENT: Rate = Rate::new(10, Duration::hours(1));
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + seconds, 0).single().unwrap_or_default()
    }

    #[test]
    fn a_full_budget_admits_its_burst_then_one_per_interval() {
        let rate = Rate::new(5, Duration::minutes(15));
        assert_eq!(rate.interval(), Duration::minutes(3));
        let mut tat = None;
        for _ in 0..5 {
            tat = Some(rate.take(tat, t(0)).unwrap());
        }
        let refused = rate.take(tat, t(0)).unwrap_err();
        assert_eq!(refused.wait, Duration::minutes(3));
        assert_eq!(refused.retry_after_secs(), 180);
        // A refusal changes nothing; three minutes later one more fits, and no more.
        assert!(rate.take(tat, t(179)).is_err());
        tat = Some(rate.take(tat, t(180)).unwrap());
        assert!(rate.take(tat, t(180)).is_err());
        // A budget left alone refills completely, and no further.
        let later = t(180 + 15 * 60);
        for _ in 0..5 {
            tat = Some(rate.take(tat, later).unwrap());
        }
        assert!(rate.take(tat, later).is_err());
    }

    #[test]
    fn a_refund_gives_one_share_back_but_never_more_than_was_spent() {
        let rate = Rate::new(2, Duration::minutes(10));
        let tat = rate.take(None, t(0)).unwrap();
        let tat = Some(rate.take(Some(tat), t(0)).unwrap());
        assert!(rate.take(tat, t(0)).is_err());
        let refunded = rate.refund(tat, t(0));
        assert!(rate.take(refunded, t(0)).is_ok());
        assert_eq!(rate.refund(None, t(0)), None);
        assert_eq!(rate.refund(Some(t(-5)), t(0)), None, "nothing spent any more");
        assert_eq!(rate.refund(Some(t(60)), t(0)), Some(t(0)), "never below now");
    }
}
