//! Verification codes (rule 10): CSPRNG codes, single use, bound to their flow, stored as a
//! keyed digest, valid 10 minutes, at most 5 wrong tries, resends replace and are throttled.

use chrono::{DateTime, Duration, Utc};

use super::secret::{SecretDigest, VerificationCode};
use crate::ports::{Keyring, Random};

/// How long a code is valid.
pub const CODE_TTL: Duration = Duration::minutes(10);
/// Wrong tries after which the flow must start again.
pub const MAX_WRONG_TRIES: u8 = 5;
/// Shortest wait between two sends of a code for one flow.
pub const RESEND_INTERVAL: Duration = Duration::seconds(60);
/// Most codes sent for one flow.
pub const MAX_SENDS: u8 = 5;

/// Why a code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// The code is wrong; `tries_left` more wrong tries are allowed.
    #[error("the code is wrong; {tries_left} tries left")]
    Wrong {
        /// Wrong tries left before the flow must start again.
        tries_left: u8,
    },
    /// Older than 10 minutes: ask for a new one.
    #[error("the code has expired; ask for a new one")]
    Expired,
    /// Five wrong tries: the flow must start again.
    #[error("too many wrong codes; start again")]
    TooManyTries,
}

/// Why a new code was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResendError {
    /// Asked again too soon.
    #[error("a code was sent moments ago; try again in {retry_after_secs} seconds")]
    TooSoon {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// Sent too many times, or tried wrongly too often, for this flow.
    #[error("too many codes for this request; start again")]
    Exhausted,
}

/// A code waiting to be entered: its digest, expiry, and counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCode {
    /// Keyed digest of the code, in the flow's context.
    pub digest: SecretDigest,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
    /// Wrong tries so far (for this flow, across resends).
    pub wrong_tries: u8,
    /// Codes sent so far for this flow.
    pub sends: u8,
}

impl PendingCode {
    /// Draws a first code for a flow whose keyring context is `context`.
    #[must_use]
    pub fn issue(
        now: DateTime<Utc>,
        context: &str,
        random: &dyn Random,
        keyring: &dyn Keyring,
    ) -> (Self, VerificationCode) {
        let code = VerificationCode::generate(random);
        let digest = keyring.digest(context, code.expose().as_bytes());
        let pending =
            Self { digest, sent_at: now, expires_at: now + CODE_TTL, wrong_tries: 0, sends: 1 };
        (pending, code)
    }

    /// Replaces the code with a new one (the old one stops working), if allowed.
    ///
    /// # Errors
    /// [`ResendError::TooSoon`] within [`RESEND_INTERVAL`] of the last send;
    /// [`ResendError::Exhausted`] after [`MAX_SENDS`] sends or [`MAX_WRONG_TRIES`] wrong tries.
    pub fn reissue(
        &self,
        now: DateTime<Utc>,
        context: &str,
        random: &dyn Random,
        keyring: &dyn Keyring,
    ) -> Result<(Self, VerificationCode), ResendError> {
        if self.sends >= MAX_SENDS || self.wrong_tries >= MAX_WRONG_TRIES {
            return Err(ResendError::Exhausted);
        }
        let next_allowed = self.sent_at + RESEND_INTERVAL;
        if now < next_allowed {
            let wait = (next_allowed - now).num_milliseconds().max(1);
            let retry_after_secs = u64::try_from((wait + 999) / 1000).unwrap_or(1);
            return Err(ResendError::TooSoon { retry_after_secs });
        }
        let (mut fresh, code) = Self::issue(now, context, random, keyring);
        fresh.wrong_tries = self.wrong_tries;
        fresh.sends = self.sends + 1;
        Ok((fresh, code))
    }

    /// Checks a typed code. A wrong try is counted in `self`, which the caller must store
    /// whatever the outcome; a right one must then be discarded (single use).
    ///
    /// # Errors
    /// [`CodeError`] when the code is not accepted.
    pub fn check(
        &mut self,
        now: DateTime<Utc>,
        context: &str,
        typed: &str,
        keyring: &dyn Keyring,
    ) -> Result<(), CodeError> {
        if self.wrong_tries >= MAX_WRONG_TRIES {
            return Err(CodeError::TooManyTries);
        }
        if now >= self.expires_at {
            return Err(CodeError::Expired);
        }
        let right = VerificationCode::parse(typed)
            .is_some_and(|code| keyring.verify(context, code.expose().as_bytes(), &self.digest));
        if right {
            return Ok(());
        }
        self.wrong_tries += 1;
        match MAX_WRONG_TRIES - self.wrong_tries {
            0 => Err(CodeError::TooManyTries),
            tries_left => Err(CodeError::Wrong { tries_left }),
        }
    }
}
