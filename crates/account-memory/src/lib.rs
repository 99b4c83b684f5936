//! `account-memory`: in-memory adapters for every port of `account-core`: a transactional
//! store, a fixed clock, a seeded random generator, a fast password hasher and a test keyring.
//! They are for tests, property tests and demos; none of them is fit for production.

mod clock;
mod crypto;
mod random;
mod store;

pub use clock::FixedClock;
pub use crypto::{FastPasswordHasher, TestKeyring};
pub use random::SeededRandom;
pub use store::MemoryStore;

use std::sync::Arc;

use account_core::domain::mail::{MailKind, MailMessage};
use account_core::{Accounts, Ports, Settings};

/// Everything wired in memory, with handles on the clock and the store for tests.
///
/// ```
/// use account_core::services::operator::{NewOrganisation, Operator};
/// use account_memory::InMemory;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let memory = InMemory::new(42);
/// let new = NewOrganisation {
///     name: "Acme AB".into(),
///     registration_number: "556677-8899".into(),
///     plan: "Professional".into(),
///     licences: 3,
///     admin_first_name: "Ada".into(),
///     admin_last_name: None,
///     admin_email: "ada@acme.example".into(),
///     admin_password: None, // invited by mail instead
/// };
/// memory.accounts.operator().create_organisation(&Operator::new("test"), &new).await.unwrap();
/// // The invitation waits in the outbox; tests read it through the keyring.
/// let (_, invitation) = memory.mails().await.pop().unwrap();
/// assert!(invitation.body.contains("aci_"));
/// // Time only moves when a test moves it.
/// memory.clock.advance(chrono::Duration::days(8));
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct InMemory {
    /// The domain.
    pub accounts: Accounts,
    /// The clock, to move time.
    pub clock: Arc<FixedClock>,
    /// The store, to inspect state or inject faults.
    pub store: Arc<MemoryStore>,
    /// The password hasher, to count verifications.
    pub hasher: Arc<FastPasswordHasher>,
    /// The keyring, to open sealed mails in the outbox.
    pub keyring: Arc<TestKeyring>,
}

impl InMemory {
    /// The domain over fresh in-memory adapters, with the clock at 2026-01-05 09:00 UTC (a
    /// Monday) and the random generator seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self::with_settings(seed, Settings::default())
    }

    /// Like [`new`](Self::new), with explicit settings.
    #[must_use]
    pub fn with_settings(seed: u64, settings: Settings) -> Self {
        let clock = Arc::new(FixedClock::default());
        let store = Arc::new(MemoryStore::new());
        let hasher = Arc::new(FastPasswordHasher::new());
        let keyring = Arc::new(TestKeyring::new(b"account-memory test key"));
        let ports = Ports {
            store: store.clone(),
            clock: clock.clone(),
            random: Arc::new(SeededRandom::new(seed)),
            passwords: hasher.clone(),
            keyring: keyring.clone(),
        };
        Self { accounts: Accounts::new(ports, settings), clock, store, hasher, keyring }
    }
}

impl InMemory {
    /// Every mail in the outbox (sent or not), opened, oldest first.
    pub async fn mails(&self) -> Vec<(MailKind, MailMessage)> {
        use account_core::ports::Keyring;
        let mut mails = self.store.outbox().await;
        mails.sort_by_key(|m| (m.created_at, m.id));
        mails
            .into_iter()
            .filter_map(|m| {
                let plain = self.keyring.open(&m.sealed).ok()?;
                Some((m.kind, MailMessage::decode(&plain)?))
            })
            .collect()
    }

    /// The newest mail of `kind` to `to`, if any.
    pub async fn last_mail(&self, kind: MailKind, to: &str) -> Option<MailMessage> {
        self.mails()
            .await
            .into_iter()
            .rev()
            .find(|(k, m)| *k == kind && m.to.as_str().eq_ignore_ascii_case(to))
            .map(|(_, m)| m)
    }
}

/// The six-digit code in a code mail's body (`Your code: 123456`).
#[must_use]
pub fn code_in(mail: &MailMessage) -> Option<String> {
    let rest = mail.body.split("Your code: ").nth(1)?;
    Some(rest.chars().take(6).collect())
}

/// The first token with `prefix` (such as `aci_`) in a mail's body.
#[must_use]
pub fn token_in(mail: &MailMessage, prefix: &str) -> Option<String> {
    let start = mail.body.find(prefix)?;
    Some(
        mail.body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect(),
    )
}
