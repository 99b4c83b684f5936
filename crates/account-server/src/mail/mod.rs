//! Mail transports for the delivery worker: SMTP through lettre, or a local mailbox directory
//! of `.eml` files when no SMTP server is configured. Both build the same RFC 5322 message,
//! whose `Message-ID` is the outbox id, so a receiver can drop a duplicate, in the operator's
//! layout if one is configured ([`MailLayout`]).

mod layout;
mod mailbox;
mod smtp;

pub use layout::MailLayout;
pub use mailbox::MailboxMailer;
pub use smtp::{SmtpMailer, SmtpSettings, TlsMode};

use account_core::domain::mail::MailMessage;
use account_core::ids::MailId;
use account_core::ports::MailError;
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};

/// Builds the message for `mail`, from `from`, in `layout` (plain text alone, or
/// `multipart/alternative` with an HTML part).
///
/// # Errors
/// [`MailError::Permanent`] when an address cannot be used: retrying would not help.
pub fn build_message(
    from: &Mailbox,
    id: MailId,
    mail: &MailMessage,
    layout: &MailLayout,
) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .as_str()
        .parse()
        .map_err(|e| MailError::Permanent(format!("recipient address refused: {e}").into()))?;
    let builder = Message::builder()
        .message_id(Some(format!("<{id}@accounts>")))
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone());
    let text = layout.text(mail);
    match layout.html(mail) {
        None => builder.header(ContentType::TEXT_PLAIN).body(text),
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(text, html)),
    }
    .map_err(|e| MailError::Permanent(e.into()))
}
