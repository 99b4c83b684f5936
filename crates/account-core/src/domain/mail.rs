//! Outgoing mail: the rendered message, and the outbox record that carries it (sealed, since
//! it may contain a code or a token) until a delivery worker has sent it.

use chrono::{DateTime, Utc};

use super::email::EmailAddress;
use crate::ids::MailId;

/// What a mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// An invitation to set a password.
    Invitation,
    /// The code sent to the current address when an email change starts.
    EmailChangeCurrentCode,
    /// The code sent to the new address.
    EmailChangeNewCode,
    /// The notice to the old address once the login email changed.
    EmailChanged,
    /// The code that verifies a new contact address.
    ContactVerification,
    /// The notice that the password changed.
    PasswordChanged,
    /// A password-reset link and code (rule 22).
    PasswordReset,
    /// The notice that the password was reset (rule 22).
    PasswordWasReset,
    /// The notice that the account was deleted.
    AccountDeleted,
    /// The weekly usage digest.
    WeeklyDigest,
    /// A member's allocation fell below a tenth.
    LowCredits,
}

impl MailKind {
    /// Every kind.
    pub const ALL: [Self; 11] = [
        Self::Invitation,
        Self::EmailChangeCurrentCode,
        Self::EmailChangeNewCode,
        Self::EmailChanged,
        Self::ContactVerification,
        Self::PasswordChanged,
        Self::PasswordReset,
        Self::PasswordWasReset,
        Self::AccountDeleted,
        Self::WeeklyDigest,
        Self::LowCredits,
    ];

    /// Stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invitation => "invitation",
            Self::EmailChangeCurrentCode => "email_change_current_code",
            Self::EmailChangeNewCode => "email_change_new_code",
            Self::EmailChanged => "email_changed",
            Self::ContactVerification => "contact_verification",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::PasswordWasReset => "password_was_reset",
            Self::AccountDeleted => "account_deleted",
            Self::WeeklyDigest => "weekly_digest",
            Self::LowCredits => "low_credits",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A rendered plain-text mail.
#[derive(Clone, PartialEq, Eq)]
pub struct MailMessage {
    /// Recipient.
    pub to: EmailAddress,
    /// Subject (one line).
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

impl std::fmt::Debug for MailMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailMessage")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl MailMessage {
    /// Serialises the message for sealing: recipient and subject lines, then the body.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        format!("{}\n{}\n{}", self.to, self.subject.replace('\n', " "), self.body).into_bytes()
    }

    /// Reads [`encode`](Self::encode)'s output back.
    #[must_use]
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut parts = text.splitn(3, '\n');
        let to = EmailAddress::parse(parts.next()?).ok()?;
        let subject = parts.next()?.to_owned();
        let body = parts.next()?.to_owned();
        Some(Self { to, subject, body })
    }
}

/// A mail request in the outbox, written in the same commit as the change that caused it.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMail {
    /// Its id, also the `Message-ID` so that a receiver can drop a duplicate.
    pub id: MailId,
    /// What it is for.
    pub kind: MailKind,
    /// The [`MailMessage`], sealed by the keyring; emptied once sent.
    pub sealed: Vec<u8>,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Earliest next attempt (also the lease end while a worker holds it).
    pub next_attempt_at: DateTime<Utc>,
    /// The last delivery error, without personal data.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub sent_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for OutboxMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMail")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("sent_at", &self.sent_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_round_trips_and_debug_hides_body() {
        let m = MailMessage {
            to: EmailAddress::parse("a@b.se").unwrap(),
            subject: "Your code".into(),
            body: "Code: 123456\nBye".into(),
        };
        assert_eq!(MailMessage::decode(&m.encode()), Some(m.clone()));
        assert!(!format!("{m:?}").contains("123456"));
    }
}
