//! The `Mailer` port: hands a rendered mail to a transport (SMTP, a mailbox directory…).
//! Use cases never call it: they write to the outbox, and the delivery use case sends.

use async_trait::async_trait;

use crate::domain::mail::MailMessage;
use crate::error::BoxError;
use crate::ids::MailId;

/// Why a mail was not handed over.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying later (server down, timeout, 4xx reply).
    #[error("temporary mail failure: {0}")]
    Transient(#[source] BoxError),
    /// Will never succeed (5xx reply, recipient refused).
    #[error("permanent mail failure: {0}")]
    Permanent(#[source] BoxError),
}

/// Sends one mail. `id` becomes the message's `Message-ID`, so that a receiver can drop the
/// duplicate if a crash between sending and recording makes us send it twice.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends `mail`.
    ///
    /// # Errors
    /// [`MailError::Transient`] or [`MailError::Permanent`].
    async fn send(&self, id: MailId, mail: &MailMessage) -> Result<(), MailError>;
}
