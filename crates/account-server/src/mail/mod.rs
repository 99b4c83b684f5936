//! Mail transports for the delivery worker: SMTP through lettre, or a local mailbox directory
//! of `.eml` files when no SMTP server is configured. Both build the same RFC 5322 message,
//! whose `Message-ID` is the outbox id, so a receiver can drop a duplicate.

mod mailbox;
mod smtp;

pub use mailbox::MailboxMailer;
pub use smtp::{SmtpMailer, SmtpSettings, TlsMode};

use account_core::domain::mail::MailMessage;
use account_core::ids::MailId;
use account_core::ports::MailError;
use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;

/// Builds the message for `mail`, from `from`.
///
/// # Errors
/// [`MailError::Permanent`] when an address cannot be used: retrying would not help.
pub fn build_message(from: &Mailbox, id: MailId, mail: &MailMessage) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .as_str()
        .parse()
        .map_err(|e| MailError::Permanent(format!("recipient address refused: {e}").into()))?;
    Message::builder()
        .message_id(Some(format!("<{id}@accounts>")))
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| MailError::Permanent(e.into()))
}
