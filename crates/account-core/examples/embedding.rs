//! Embedding `account-core`: the domain over `account-memory`'s adapters, with one adapter of
//! our own, a `Mailer` that keeps mails in a list (where a real one would call an email API).
//! Support creates an organisation, its admin is invited by mail, reads the invitation that
//! our mailer received, sets a password, logs in and reads the team page.
//!
//! Run it with `cargo run -p account-core --example embedding`.

// An example prints what it does, and may stop at the first error.
#![allow(clippy::print_stdout)]

use std::sync::Mutex;

use account_core::domain::mail::MailMessage;
use account_core::ids::MailId;
use account_core::ports::{MailError, Mailer};
use account_core::services::operator::{NewOrganisation, Operator};
use account_memory::InMemory;
use async_trait::async_trait;

/// Our own adapter of the `Mailer` port: it records what it is asked to send.
#[derive(Default)]
struct RecordingMailer {
    sent: Mutex<Vec<MailMessage>>,
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, id: MailId, mail: &MailMessage) -> Result<(), MailError> {
        println!("mail {id} to {}: {}", mail.to, mail.subject);
        self.sent
            .lock()
            .map_err(|e| MailError::Transient(e.to_string().into()))?
            .push(mail.clone());
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Every port in memory: the store, a fixed clock, a seeded generator, a fast hasher and a
    // test keyring. A production embedding passes its own `Ports` to `Accounts::new`.
    let memory = InMemory::new(7);
    let accounts = &memory.accounts;

    // Support creates an organisation; its first admin is invited by mail. Use cases never
    // send mail themselves: they write it to the outbox, in the same unit of work.
    let support = Operator::new("example");
    let created = accounts
        .operator()
        .create_organisation(
            &support,
            &NewOrganisation {
                name: "Acme AB".into(),
                registration_number: "556677-8899".into(),
                plan: "Professional".into(),
                licences: 5,
                admin_first_name: "Ada".into(),
                admin_last_name: Some("Lovelace".into()),
                admin_email: "ada@acme.example".into(),
                admin_password: None,
            },
        )
        .await?;
    println!("created {} with admin {}", created.organisation.name, created.admin.email);

    // Delivery goes through whichever `Mailer` the embedder wires: here, ours.
    let mailer = RecordingMailer::default();
    let report = accounts.mail().deliver_due(&mailer, 50).await?;
    println!("delivered {} mail(s)", report.sent);
    let invitation = mailer.sent.lock().map_err(|e| e.to_string())?.remove(0);
    let token = invitation
        .body
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("aci_"))
        .ok_or("the invitation holds no token")?
        .to_owned();

    // The admin sets a password (rule 8 checks it), logs in, and reads the team page.
    accounts.auth().accept_invitation(&token, "tangerine lamp at dawn", None).await?;
    let session = accounts
        .auth()
        .login("ada@acme.example", "tangerine lamp at dawn", Some("example"), None)
        .await?;
    let admin = accounts.auth().authenticate(&session.token).await?.actor;
    let team = accounts.team().summary(&admin).await?;
    let plan = &team.plans[0];
    println!("team: {} enabled of {} licences ({} plan)", team.enabled, team.licences, plan.plan);
    assert_eq!(team.enabled, 1);
    Ok(())
}
