//! `MemoryStore`: every store port over maps in memory. Write units are serialised by an
//! async mutex and work on a copy of the state that replaces it at commit, so a unit dropped
//! without commit leaves nothing behind. Cost is O(state) per write unit: fine for tests.

mod audit;
mod catalogue;
mod contacts;
mod credits;
mod digests;
mod email_changes;
mod idempotency;
mod limits;
mod members;
mod organisations;
mod outbox;
mod sessions;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::Mutex as SyncMutex;

use account_core::domain::audit::AuditEntry;
use account_core::domain::contact::ContactAddress;
use account_core::domain::credits::{Allocation, CreditKind, CreditPool, LedgerEntry};
use account_core::domain::digest::ScheduledDigest;
use account_core::domain::email_change::EmailChange;
use account_core::domain::mail::OutboxMail;
use account_core::domain::member::Member;
use account_core::domain::organisation::Organisation;
use account_core::domain::products::Product;
use account_core::domain::session::{ApiKey, Session};
use account_core::ids::{
    ApiKeyId, ContactId, MailId, MemberId, OrganisationId, ProductId, SessionId,
};
use account_core::ports::{
    ApiKeyRepo, AuditRepo, CatalogueRepo, ContactRepo, CreditRepo, DigestRepo, EmailChangeRepo,
    IdempotencyRecord, IdempotencyRepo, LimitRepo, MemberRepo, OrganisationRepo, OutboxRepo, Page,
    SessionRepo, Store, StoreError, Tx,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Everything the store holds.
#[derive(Debug, Clone, Default)]
struct State {
    orgs: BTreeMap<OrganisationId, Organisation>,
    members: BTreeMap<MemberId, Member>,
    erased: BTreeSet<MemberId>,
    pools: BTreeMap<(OrganisationId, CreditKind), CreditPool>,
    allocations: BTreeMap<(MemberId, CreditKind), Allocation>,
    ledger: Vec<LedgerEntry>,
    contacts: BTreeMap<ContactId, ContactAddress>,
    sessions: BTreeMap<SessionId, Session>,
    api_keys: BTreeMap<ApiKeyId, ApiKey>,
    email_changes: BTreeMap<MemberId, EmailChange>,
    audit: Vec<AuditEntry>,
    outbox: BTreeMap<MailId, OutboxMail>,
    products: BTreeMap<ProductId, Product>,
    digests: BTreeMap<MemberId, ScheduledDigest>,
    idempotency: BTreeMap<(String, String), IdempotencyRecord>,
    limits: BTreeMap<String, DateTime<Utc>>,
    known_clients: BTreeMap<String, DateTime<Utc>>,
}

/// An in-memory store. Cloning shares the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    faults: Arc<SyncMutex<Vec<&'static str>>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next call of the write operation `op` fail with [`StoreError::Other`], to
    /// test that a use case failing half-way leaves nothing behind. `op` names a repository
    /// method, such as `"audit.append"` or `"credits.put_allocation"`.
    pub fn fail_next(&self, op: &'static str) {
        self.faults.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(op);
    }

    /// Every ledger entry, oldest first (for invariant checks in tests).
    pub async fn ledger(&self) -> Vec<LedgerEntry> {
        self.state.lock().await.ledger.clone()
    }

    /// Every allocation (for invariant checks in tests).
    pub async fn allocations(&self) -> Vec<Allocation> {
        self.state.lock().await.allocations.values().copied().collect()
    }

    /// Every audit entry, oldest first.
    pub async fn audit_entries(&self) -> Vec<AuditEntry> {
        self.state.lock().await.audit.clone()
    }

    /// Every outbox mail, sent or not.
    pub async fn outbox(&self) -> Vec<OutboxMail> {
        self.state.lock().await.outbox.values().cloned().collect()
    }

    /// True if `id` was erased (deleted account).
    pub async fn is_erased(&self, id: MemberId) -> bool {
        self.state.lock().await.erased.contains(&id)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        let guard = self.state.clone().lock_owned().await;
        let work = Some(guard.clone());
        Ok(Box::new(MemTx { guard, work, faults: self.faults.clone() }))
    }

    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        let guard = self.state.clone().lock_owned().await;
        Ok(Box::new(MemTx { guard, work: None, faults: self.faults.clone() }))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

struct MemTx {
    guard: OwnedMutexGuard<State>,
    /// The working copy of a write unit; `None` for read units.
    work: Option<State>,
    faults: Arc<SyncMutex<Vec<&'static str>>>,
}

impl MemTx {
    fn s(&self) -> &State {
        self.work.as_ref().unwrap_or(&self.guard)
    }

    /// Fails once if a fault was injected for `op`.
    fn check_fault(&self, op: &'static str) -> Result<(), StoreError> {
        let mut faults = self.faults.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match faults.iter().position(|f| *f == op) {
            Some(i) => {
                faults.remove(i);
                Err(StoreError::Other(format!("injected fault in {op}").into()))
            }
            None => Ok(()),
        }
    }

    /// The working copy, after checking for an injected fault on `op`.
    fn w(&mut self, op: &'static str) -> Result<&mut State, StoreError> {
        self.check_fault(op)?;
        self.work.as_mut().ok_or_else(|| StoreError::Other("write in a read-only unit".into()))
    }
}

#[async_trait]
impl Tx for MemTx {
    fn organisations(&mut self) -> &mut dyn OrganisationRepo {
        self
    }
    fn members(&mut self) -> &mut dyn MemberRepo {
        self
    }
    fn credits(&mut self) -> &mut dyn CreditRepo {
        self
    }
    fn contacts(&mut self) -> &mut dyn ContactRepo {
        self
    }
    fn sessions(&mut self) -> &mut dyn SessionRepo {
        self
    }
    fn api_keys(&mut self) -> &mut dyn ApiKeyRepo {
        self
    }
    fn email_changes(&mut self) -> &mut dyn EmailChangeRepo {
        self
    }
    fn audit(&mut self) -> &mut dyn AuditRepo {
        self
    }
    fn outbox(&mut self) -> &mut dyn OutboxRepo {
        self
    }
    fn catalogue(&mut self) -> &mut dyn CatalogueRepo {
        self
    }
    fn digests(&mut self) -> &mut dyn DigestRepo {
        self
    }
    fn idempotency(&mut self) -> &mut dyn IdempotencyRepo {
        self
    }
    fn limits(&mut self) -> &mut dyn LimitRepo {
        self
    }

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let Some(work) = self.work.take() else { return Ok(()) };
        self.check_fault("commit")?;
        *self.guard = work;
        Ok(())
    }
}

fn page<T: Clone, C: Copy>(
    items: impl Iterator<Item = T>,
    page: Page<C>,
    past: impl Fn(&T, C) -> bool,
) -> Vec<T> {
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    items.filter(|t| page.after.is_none_or(|c| past(t, c))).take(limit).collect()
}
