//! Mocks of every port (feature `mocks`), for failure-path tests: a mockall mock per trait,
//! and [`MockTx`], a unit of work that hands out one mock per repository and counts commits.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::ports::{
    ApiKeyRepo, AuditRepo, CatalogueRepo, ContactRepo, CreditRepo, DigestRepo, EmailChangeRepo,
    IdempotencyRepo, LimitRepo, MemberRepo, OrganisationRepo, OutboxRepo, SessionRepo, StoreError,
    Tx,
};
pub use crate::ports::{
    MockApiKeyRepo, MockAuditRepo, MockCatalogueRepo, MockClock, MockContactRepo, MockCreditRepo,
    MockDigestRepo, MockEmailChangeRepo, MockIdempotencyRepo, MockKeyring, MockLimitRepo,
    MockMailer, MockMemberRepo, MockOrganisationRepo, MockOutboxRepo, MockPasswordHasher,
    MockRandom, MockSessionRepo, MockStore,
};

/// A unit of work made of repository mocks. Set expectations on the public fields; read
/// [`commits`](Self::commits) afterwards to see whether the use case committed.
#[derive(Default)]
#[allow(missing_docs)]
pub struct MockTx {
    pub organisations: MockOrganisationRepo,
    pub members: MockMemberRepo,
    pub credits: MockCreditRepo,
    pub contacts: MockContactRepo,
    pub sessions: MockSessionRepo,
    pub api_keys: MockApiKeyRepo,
    pub email_changes: MockEmailChangeRepo,
    pub audit: MockAuditRepo,
    pub outbox: MockOutboxRepo,
    pub catalogue: MockCatalogueRepo,
    pub digests: MockDigestRepo,
    pub idempotency: MockIdempotencyRepo,
    pub limits: MockLimitRepo,
    /// Incremented by each successful `commit`.
    pub commits: Arc<AtomicUsize>,
    /// When set, `commit` fails with this message instead of succeeding.
    pub fail_commit: Option<String>,
}

impl std::fmt::Debug for MockTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockTx")
            .field("commits", &self.commits.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Tx for MockTx {
    fn organisations(&mut self) -> &mut dyn OrganisationRepo {
        &mut self.organisations
    }
    fn members(&mut self) -> &mut dyn MemberRepo {
        &mut self.members
    }
    fn credits(&mut self) -> &mut dyn CreditRepo {
        &mut self.credits
    }
    fn contacts(&mut self) -> &mut dyn ContactRepo {
        &mut self.contacts
    }
    fn sessions(&mut self) -> &mut dyn SessionRepo {
        &mut self.sessions
    }
    fn api_keys(&mut self) -> &mut dyn ApiKeyRepo {
        &mut self.api_keys
    }
    fn email_changes(&mut self) -> &mut dyn EmailChangeRepo {
        &mut self.email_changes
    }
    fn audit(&mut self) -> &mut dyn AuditRepo {
        &mut self.audit
    }
    fn outbox(&mut self) -> &mut dyn OutboxRepo {
        &mut self.outbox
    }
    fn catalogue(&mut self) -> &mut dyn CatalogueRepo {
        &mut self.catalogue
    }
    fn digests(&mut self) -> &mut dyn DigestRepo {
        &mut self.digests
    }
    fn idempotency(&mut self) -> &mut dyn IdempotencyRepo {
        &mut self.idempotency
    }
    fn limits(&mut self) -> &mut dyn LimitRepo {
        &mut self.limits
    }
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        if let Some(message) = self.fail_commit {
            return Err(StoreError::Other(message.into()));
        }
        self.commits.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}
