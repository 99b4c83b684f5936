//! Use cases, split by aggregate. Each takes the [`Actor`] calling it (or an
//! [`Operator`](operator::Operator)), checks permissions itself, does its work in one unit of
//! work and commits once.

pub mod actor;
pub mod api_keys;
pub mod audit_log;
pub mod auth;
mod common;
pub mod contacts;
pub mod credits;
pub mod digests;
pub mod email_change;
pub mod export;
pub mod housekeeping;
mod idempotency;
pub mod impersonation;
mod limits;
pub mod mail;
pub mod operator;
pub mod organisation;
pub mod password_reset;
pub mod profile;
pub mod team;
mod templates;

use std::sync::Arc;

use chrono::Duration;

use crate::ports::{Clock, Keyring, PasswordHasher, Random, Store};

pub use actor::{Actor, Credential};
pub use common::Denied;

/// The adapters the use cases run on.
#[derive(Clone)]
pub struct Ports {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness (a CSPRNG in production).
    pub random: Arc<dyn Random>,
    /// Password hashing.
    pub passwords: Arc<dyn PasswordHasher>,
    /// Keyed digests and sealing.
    pub keyring: Arc<dyn Keyring>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ports { .. }")
    }
}

/// Tunable policy. Rules fixed by the brief (code lifetime, tries, impersonation length) are
/// constants in the domain, not settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A session unused for this long ends.
    pub session_idle: Duration,
    /// A session ends this long after log-in, whatever the activity.
    pub session_absolute: Duration,
    /// How long an invitation to set a password stays valid.
    pub invitation_ttl: Duration,
    /// Base URL of the product, for links in mails (no trailing slash).
    pub public_url: String,
    /// The product's name, for mail subjects and greetings.
    pub product_name: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            session_idle: Duration::minutes(30),
            session_absolute: Duration::hours(12),
            invitation_ttl: Duration::days(7),
            public_url: "http://127.0.0.1:8080".to_owned(),
            product_name: "Accounts".to_owned(),
        }
    }
}

pub(crate) struct Context {
    pub ports: Ports,
    pub settings: Settings,
    /// Last id timestamp and counter, so that ids made in one process sort in creation order
    /// even within one millisecond (RFC 9562, method 1).
    pub ids: std::sync::Mutex<(u64, u16)>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Context { .. }")
    }
}

/// The whole domain: build it once from [`Ports`] and [`Settings`], then call the services.
/// Cloning is cheap.
#[derive(Clone)]
pub struct Accounts {
    ctx: Arc<Context>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").field("settings", &self.ctx.settings).finish_non_exhaustive()
    }
}

impl Accounts {
    /// Builds the domain over its adapters.
    #[must_use]
    pub fn new(ports: Ports, settings: Settings) -> Self {
        Self { ctx: Arc::new(Context { ports, settings, ids: std::sync::Mutex::new((0, 0)) }) }
    }

    /// The settings in force.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.ctx.settings
    }

    /// Whether the store answers: for readiness checks.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`](crate::ports::StoreError::Unavailable) when it does not.
    pub async fn ping(&self) -> Result<(), crate::ports::StoreError> {
        self.ctx.ports.store.ping().await
    }

    /// The time by the domain's clock (what a page shows as "today").
    #[must_use]
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.ctx.now()
    }

    /// Fills `dest` from the domain's random source (the console's form keys).
    pub fn fill_random(&self, dest: &mut [u8]) {
        self.ctx.ports.random.fill(dest);
    }

    /// A keyed digest of an adapter's own secret (an operator or metrics token, a form
    /// token's key) under `context`, by the domain's keyring.
    #[must_use]
    pub fn digest(&self, context: &str, secret: &[u8]) -> crate::domain::secret::SecretDigest {
        self.ctx.ports.keyring.digest(context, secret)
    }

    /// Whether `secret` has the digest `expected` under `context`, in constant time.
    #[must_use]
    pub fn verify_digest(
        &self,
        context: &str,
        secret: &[u8],
        expected: &crate::domain::secret::SecretDigest,
    ) -> bool {
        self.ctx.ports.keyring.verify(context, secret, expected)
    }

    /// Log-in, sessions, invitations.
    #[must_use]
    pub fn auth(&self) -> auth::AuthService<'_> {
        auth::AuthService::new(&self.ctx)
    }

    /// Password resets (rule 22).
    #[must_use]
    pub fn password_reset(&self) -> password_reset::PasswordResetService<'_> {
        password_reset::PasswordResetService::new(&self.ctx)
    }

    /// The caller's own profile, preferences, products, password and account.
    #[must_use]
    pub fn profile(&self) -> profile::ProfileService<'_> {
        profile::ProfileService::new(&self.ctx)
    }

    /// Changing the login email.
    #[must_use]
    pub fn email_change(&self) -> email_change::EmailChangeService<'_> {
        email_change::EmailChangeService::new(&self.ctx)
    }

    /// API keys.
    #[must_use]
    pub fn api_keys(&self) -> api_keys::ApiKeyService<'_> {
        api_keys::ApiKeyService::new(&self.ctx)
    }

    /// The admin's team page: members, licences.
    #[must_use]
    pub fn team(&self) -> team::TeamService<'_> {
        team::TeamService::new(&self.ctx)
    }

    /// Credits: pools, allocation, consumption, usage reports.
    #[must_use]
    pub fn credits(&self) -> credits::CreditService<'_> {
        credits::CreditService::new(&self.ctx)
    }

    /// The organisation's customer info.
    #[must_use]
    pub fn organisation(&self) -> organisation::OrganisationService<'_> {
        organisation::OrganisationService::new(&self.ctx)
    }

    /// Contact addresses.
    #[must_use]
    pub fn contacts(&self) -> contacts::ContactService<'_> {
        contacts::ContactService::new(&self.ctx)
    }

    /// Impersonation.
    #[must_use]
    pub fn impersonation(&self) -> impersonation::ImpersonationService<'_> {
        impersonation::ImpersonationService::new(&self.ctx)
    }

    /// The audit log.
    #[must_use]
    pub fn audit(&self) -> audit_log::AuditService<'_> {
        audit_log::AuditService::new(&self.ctx)
    }

    /// Exports: a member's own data, and the organisation's ledger and audit log, streamed
    /// page by page.
    #[must_use]
    pub fn export(&self) -> export::ExportService {
        export::ExportService::new(self.ctx.clone())
    }

    /// What support staff do.
    #[must_use]
    pub fn operator(&self) -> operator::OperatorService<'_> {
        operator::OperatorService::new(&self.ctx)
    }

    /// Mail delivery from the outbox.
    #[must_use]
    pub fn mail(&self) -> mail::MailService<'_> {
        mail::MailService::new(&self.ctx)
    }

    /// Weekly usage digests.
    #[must_use]
    pub fn digests(&self) -> digests::DigestService<'_> {
        digests::DigestService::new(&self.ctx)
    }

    /// Forgetting what has expired.
    #[must_use]
    pub fn housekeeping(&self) -> housekeeping::HousekeepingService<'_> {
        housekeeping::HousekeepingService::new(&self.ctx)
    }
}
