//! `MailboxMailer`: writes each mail as `<id>.eml` in a directory, so every flow can be
//! finished locally without an SMTP server. Writing is atomic (temporary file, then rename)
//! and idempotent (the same id overwrites the same file). Mails hold codes and invitation
//! tokens: files are created 0600, a directory we create 0700.

use std::path::{Path, PathBuf};

use account_core::domain::mail::MailMessage;
use account_core::ids::MailId;
use account_core::ports::{MailError, Mailer};
use async_trait::async_trait;
use lettre::message::Mailbox;

use super::{MailLayout, build_message};
use crate::private_fs;

/// Delivers into a mailbox directory.
#[derive(Debug, Clone)]
pub struct MailboxMailer {
    dir: PathBuf,
    from: Mailbox,
    layout: MailLayout,
}

impl MailboxMailer {
    /// A mailer writing into `dir` (created if missing).
    #[must_use]
    pub fn new(dir: &Path, from: Mailbox) -> Self {
        Self { dir: dir.to_path_buf(), from, layout: MailLayout::default() }
    }

    /// The same mailer, writing mails in `layout`.
    #[must_use]
    pub fn with_layout(self, layout: MailLayout) -> Self {
        Self { layout, ..self }
    }

    /// The directory mails go to.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[async_trait]
impl Mailer for MailboxMailer {
    async fn send(&self, id: MailId, mail: &MailMessage) -> Result<(), MailError> {
        let message = build_message(&self.from, id, mail, &self.layout)?;
        let transient = |e: std::io::Error| MailError::Transient(e.into());
        let dir = self.dir.clone();
        let path = self.dir.join(format!("{id}.eml"));
        let tmp = self.dir.join(format!(".{id}.eml.tmp"));
        let staged = tmp.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            private_fs::create_dir_all(&dir)?;
            // A temporary file left by a crash may have another mode: start afresh.
            let _ = std::fs::remove_file(&staged);
            let mut file = private_fs::open_options().write(true).create_new(true).open(&staged)?;
            std::io::Write::write_all(&mut file, &message.formatted())
        })
        .await
        .map_err(|e| MailError::Transient(e.into()))?
        .map_err(transient)?;
        tokio::fs::rename(&tmp, &path).await.map_err(transient)?;
        tracing::info!(mail_id = %id, path = %path.display(), "mail written to the local mailbox");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use account_core::domain::email::EmailAddress;

    #[tokio::test]
    async fn writes_one_file_per_mail_with_its_id_as_message_id() {
        let dir = std::env::temp_dir().join(format!("mailbox-test-{}", std::process::id()));
        let mailer = MailboxMailer::new(&dir, "Accounts <no-reply@example.com>".parse().unwrap());
        let id = MailId::from_uuid(uuid::Uuid::from_u128(7));
        let mail = MailMessage {
            to: EmailAddress::parse("ada@example.com").unwrap(),
            subject: "Your code".into(),
            body: "Your code: 123456".into(),
        };
        mailer.send(id, &mail).await.unwrap();
        mailer.send(id, &mail).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(files.len(), 1, "same id, same file");
        let text = std::fs::read_to_string(files[0].path()).unwrap();
        assert!(text.contains(&format!("Message-ID: <{id}@accounts>")));
        assert!(text.contains("To: ada@example.com"));
        assert!(text.contains("Your code: 123456"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&files[0].path()), 0o600, "codes are for the server's user only");
            assert_eq!(mode(&dir), 0o700);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
