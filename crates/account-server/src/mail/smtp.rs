//! `SmtpMailer`: delivery over SMTP with lettre (STARTTLS, implicit TLS or plain for local
//! relays), telling transient failures (retry) from permanent ones.

use std::time::Duration;

use account_core::domain::mail::MailMessage;
use account_core::ids::MailId;
use account_core::ports::{MailError, Mailer};
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{MailLayout, build_message};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text (a relay on the same host or network only).
    None,
    /// STARTTLS upgrade (usually port 587).
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

/// Where and how to send.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Security.
    pub tls: TlsMode,
    /// User name and password, if the server wants them.
    pub credentials: Option<(String, String)>,
    /// How long one delivery may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.credentials.as_ref().map(|(u, _)| u))
            .field("password", &self.credentials.as_ref().map(|_| "REDACTED"))
            .finish()
    }
}

/// Delivers over SMTP.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    layout: MailLayout,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.email.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `settings`, sending from `from`.
    ///
    /// # Errors
    /// A message naming the problem when the TLS set-up for the host fails.
    pub fn new(settings: &SmtpSettings, from: Mailbox) -> Result<Self, String> {
        let builder = match settings.tls {
            TlsMode::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
            TlsMode::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(|e| format!("SMTP STARTTLS set-up for {}: {e}", settings.host))?
            }
            TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)
                .map_err(|e| format!("SMTP TLS set-up for {}: {e}", settings.host))?,
        };
        let mut builder = builder.port(settings.port).timeout(Some(settings.timeout));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self { transport: builder.build(), from, layout: MailLayout::default() })
    }

    /// The same mailer, sending mails in `layout`.
    #[must_use]
    pub fn with_layout(self, layout: MailLayout) -> Self {
        Self { layout, ..self }
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, id: MailId, mail: &MailMessage) -> Result<(), MailError> {
        let message = build_message(&self.from, id, mail, &self.layout)?;
        match self.transport.send(message).await {
            Ok(_) => {
                tracing::info!(mail_id = %id, "mail handed to the SMTP server");
                Ok(())
            }
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.into())),
            // Connection refused, timeouts, 4xx replies: worth another try later.
            Err(e) => Err(MailError::Transient(e.into())),
        }
    }
}
