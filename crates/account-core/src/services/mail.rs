//! Delivering the outbox: claim due mails under a lease, hand them to the [`Mailer`], record
//! success or schedule a retry with exponential backoff. A mail is never dropped: permanent
//! failures are retried at the longest interval and stay visible as pending.

use chrono::Duration;

use super::Context;
use crate::domain::mail::{MailMessage, OutboxMail};
use crate::error::InternalError;
use crate::ports::{MailError, Mailer};

/// How long a claimed mail is reserved for the worker that claimed it.
pub const LEASE: Duration = Duration::minutes(2);
/// First retry delay; it doubles with each failed attempt.
pub const FIRST_RETRY: Duration = Duration::seconds(5);
/// Longest retry delay.
pub const MAX_RETRY: Duration = Duration::hours(1);

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Mails handed to the transport.
    pub sent: u32,
    /// Mails that failed and will be retried.
    pub retried: u32,
}

/// The delay before attempt `attempts + 1`, after `attempts` failures.
#[must_use]
pub fn backoff(attempts: u32) -> Duration {
    let factor = 1_i32.checked_shl(attempts.saturating_sub(1).min(20)).unwrap_or(i32::MAX);
    FIRST_RETRY.checked_mul(factor).map_or(MAX_RETRY, |d| d.min(MAX_RETRY))
}

/// Mail delivery.
#[derive(Debug)]
pub struct MailService<'a> {
    ctx: &'a Context,
}

impl<'a> MailService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// Sends up to `limit` due mails. Each outcome is recorded in its own unit, so a crash
    /// loses at most the record of one send (the mail's id is its `Message-ID`, so a receiver
    /// can drop the duplicate).
    ///
    /// # Errors
    /// [`InternalError`] when the store fails.
    pub async fn deliver_due(
        &self,
        mailer: &dyn Mailer,
        limit: u32,
    ) -> Result<DeliveryReport, InternalError> {
        let ctx = self.ctx;
        let now = ctx.now();
        let claimed = {
            let mut tx = ctx.ports.store.write().await?;
            let claimed = tx.outbox().claim_due(now, now + LEASE, limit).await?;
            tx.commit().await?;
            claimed
        };
        let mut report = DeliveryReport::default();
        for mail in claimed {
            let outcome = match self.open(&mail) {
                Some(message) => mailer.send(mail.id, &message).await,
                None => Err(MailError::Permanent(
                    "the sealed mail cannot be opened with this key".into(),
                )),
            };
            let mut tx = ctx.ports.store.write().await?;
            match outcome {
                Ok(()) => {
                    tx.outbox().mark_sent(mail.id, ctx.now()).await?;
                    report.sent += 1;
                }
                Err(error) => {
                    let attempts = mail.attempts + 1;
                    let delay = match error {
                        MailError::Transient(_) => backoff(attempts),
                        MailError::Permanent(_) => MAX_RETRY,
                    };
                    tx.outbox()
                        .reschedule(mail.id, attempts, ctx.now() + delay, &error.to_string())
                        .await?;
                    report.retried += 1;
                }
            }
            tx.commit().await?;
        }
        Ok(report)
    }

    fn open(&self, mail: &OutboxMail) -> Option<MailMessage> {
        let plain = self.ctx.ports.keyring.open(&mail.sealed).ok()?;
        MailMessage::decode(&plain)
    }

    /// Mails not yet sent, oldest first (for operators and tests).
    ///
    /// # Errors
    /// [`InternalError`] when the store fails.
    pub async fn pending(&self, limit: u32) -> Result<Vec<OutboxMail>, InternalError> {
        let mut tx = self.ctx.ports.store.read().await?;
        Ok(tx.outbox().pending(limit).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::seconds(5));
        assert_eq!(backoff(2), Duration::seconds(10));
        assert_eq!(backoff(5), Duration::seconds(80));
        assert_eq!(backoff(30), MAX_RETRY);
        assert_eq!(backoff(u32::MAX), MAX_RETRY);
    }
}
