//! `MemoryStore`: every store port over maps in memory. Write units are serialised by an
//! async mutex and work on a copy of the state that replaces it at commit, so a unit dropped
//! without commit leaves nothing behind. Cost is O(state) per write unit: fine for tests.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};

use account_core::domain::audit::{AuditCursor, AuditEntry};
use account_core::domain::contact::ContactAddress;
use account_core::domain::credits::{
    Allocation, ConsumptionRecord, ConsumptionTotal, CreditKind, CreditPool, EntryType, LedgerEntry,
};
use account_core::domain::digest::ScheduledDigest;
use account_core::domain::email::EmailAddress;
use account_core::domain::email_change::EmailChange;
use account_core::domain::idempotency::Outcome;
use account_core::domain::mail::OutboxMail;
use account_core::domain::member::{Member, MemberStatus, Role};
use account_core::domain::organisation::Organisation;
use account_core::domain::products::Product;
use account_core::domain::session::{ApiKey, Session};
use account_core::domain::text::EventId;
use account_core::domain::username::Username;
use account_core::ids::{
    ApiKeyId, ContactId, LedgerEntryId, MailId, MemberId, OrganisationId, ProductId, SessionId,
};
use account_core::ports::{
    ApiKeyRepo, AuditRepo, CatalogueRepo, ChangeStamp, ContactRepo, CreditRepo, DigestRepo,
    EmailChangeRepo, IdempotencyRecord, IdempotencyRepo, LedgerCursor, LedgerFilter, MemberCounts,
    MemberRepo, OrganisationRepo, OutboxRepo, Page, SessionRepo, Store, StoreError, Tx, UniqueKey,
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
}

/// An in-memory store. Cloning shares the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    faults: Arc<SyncMutex<Vec<&'static str>>>,
    /// Write units committed so far: the change stamp.
    commits: Arc<AtomicU64>,
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
        Ok(Box::new(MemTx {
            guard,
            work,
            faults: self.faults.clone(),
            commits: self.commits.clone(),
        }))
    }

    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        let guard = self.state.clone().lock_owned().await;
        Ok(Box::new(MemTx {
            guard,
            work: None,
            faults: self.faults.clone(),
            commits: self.commits.clone(),
        }))
    }

    fn change_stamp(&self) -> Option<ChangeStamp> {
        Some(ChangeStamp::new(u128::from(self.commits.load(Ordering::SeqCst))))
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
    commits: Arc<AtomicU64>,
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

    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let Some(work) = self.work.take() else { return Ok(()) };
        self.check_fault("commit")?;
        *self.guard = work;
        // Counted while the state is still locked: whoever reads the old count read it
        // before this commit could be seen.
        self.commits.fetch_add(1, Ordering::SeqCst);
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

#[async_trait]
impl OrganisationRepo for MemTx {
    async fn insert(&mut self, org: &Organisation) -> Result<(), StoreError> {
        let s = self.w("organisations.insert")?;
        if s.orgs.contains_key(&org.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        s.orgs.insert(org.id, org.clone());
        Ok(())
    }
    async fn get(&mut self, id: OrganisationId) -> Result<Option<Organisation>, StoreError> {
        Ok(self.s().orgs.get(&id).cloned())
    }
    async fn lock(&mut self, id: OrganisationId) -> Result<Option<Organisation>, StoreError> {
        Ok(self.s().orgs.get(&id).cloned())
    }
    async fn update(&mut self, org: &Organisation) -> Result<(), StoreError> {
        let s = self.w("organisations.update")?;
        let slot = s.orgs.get_mut(&org.id).ok_or(StoreError::NotFound)?;
        *slot = org.clone();
        Ok(())
    }
    async fn list(&mut self, p: Page<OrganisationId>) -> Result<Vec<Organisation>, StoreError> {
        Ok(page(self.s().orgs.values().cloned(), p, |o, c| o.id > c))
    }
}

fn check_member_unique(s: &State, m: &Member) -> Result<(), StoreError> {
    for other in s.members.values().filter(|o| o.id != m.id) {
        if other.username == m.username {
            return Err(StoreError::Conflict(UniqueKey::Username));
        }
        if other.email.key() == m.email.key() {
            return Err(StoreError::Conflict(UniqueKey::LoginEmail));
        }
    }
    Ok(())
}

#[async_trait]
impl MemberRepo for MemTx {
    async fn insert(&mut self, member: &Member) -> Result<(), StoreError> {
        let s = self.w("members.insert")?;
        if s.members.contains_key(&member.id) || s.erased.contains(&member.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        check_member_unique(s, member)?;
        s.members.insert(member.id, member.clone());
        Ok(())
    }
    async fn get(&mut self, id: MemberId) -> Result<Option<Member>, StoreError> {
        Ok(self.s().members.get(&id).cloned())
    }
    async fn lock(&mut self, id: MemberId) -> Result<Option<Member>, StoreError> {
        Ok(self.s().members.get(&id).cloned())
    }
    async fn lock_many(&mut self, ids: &[MemberId]) -> Result<Vec<Member>, StoreError> {
        let ids: BTreeSet<MemberId> = ids.iter().copied().collect();
        Ok(ids.into_iter().filter_map(|id| self.s().members.get(&id).cloned()).collect())
    }
    async fn find_by_email(&mut self, email: &EmailAddress) -> Result<Option<Member>, StoreError> {
        let key = email.key();
        Ok(self.s().members.values().find(|m| m.email.key() == key).cloned())
    }
    async fn find_by_username(
        &mut self,
        username: &Username,
    ) -> Result<Option<Member>, StoreError> {
        Ok(self.s().members.values().find(|m| &m.username == username).cloned())
    }
    async fn update(&mut self, member: &Member) -> Result<(), StoreError> {
        let s = self.w("members.update")?;
        if !s.members.contains_key(&member.id) {
            return Err(StoreError::NotFound);
        }
        check_member_unique(s, member)?;
        s.members.insert(member.id, member.clone());
        Ok(())
    }
    async fn erase(&mut self, id: MemberId, _at: DateTime<Utc>) -> Result<(), StoreError> {
        let s = self.w("members.erase")?;
        s.members.remove(&id).ok_or(StoreError::NotFound)?;
        s.erased.insert(id);
        Ok(())
    }
    async fn list(
        &mut self,
        org: OrganisationId,
        status: Option<MemberStatus>,
        p: Page<MemberId>,
    ) -> Result<Vec<Member>, StoreError> {
        let items = self
            .s()
            .members
            .values()
            .filter(|m| m.org_id == org && status.is_none_or(|st| m.status == st))
            .cloned();
        Ok(page(items, p, |m, c| m.id > c))
    }
    async fn counts(&mut self, org: OrganisationId) -> Result<MemberCounts, StoreError> {
        let mut c = MemberCounts::default();
        for m in self.s().members.values().filter(|m| m.org_id == org) {
            match m.status {
                MemberStatus::Enabled => {
                    c.enabled += 1;
                    if m.role == Role::Admin {
                        c.enabled_admins += 1;
                    }
                }
                MemberStatus::Disabled => c.disabled += 1,
            }
        }
        Ok(c)
    }
}

fn spender(e: &LedgerEntry) -> Option<MemberId> {
    e.member_id.or_else(|| e.actor.member())
}

/// A consumption of `org` (of `who`, when given) in `[from, to)`: what usage reports read.
fn consumed(
    e: &LedgerEntry,
    org: OrganisationId,
    who: Option<MemberId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> bool {
    e.org_id == org
        && e.entry_type == EntryType::Consume
        && e.at >= from
        && e.at < to
        && who.is_none_or(|m| spender(e) == Some(m))
}

#[async_trait]
impl CreditRepo for MemTx {
    async fn insert_pool(&mut self, pool: &CreditPool) -> Result<(), StoreError> {
        let s = self.w("credits.insert_pool")?;
        if s.pools.contains_key(&(pool.org_id(), pool.kind())) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        s.pools.insert((pool.org_id(), pool.kind()), *pool);
        Ok(())
    }
    async fn pools(&mut self, org: OrganisationId) -> Result<Vec<CreditPool>, StoreError> {
        Ok(CreditKind::ALL.iter().filter_map(|k| self.s().pools.get(&(org, *k)).copied()).collect())
    }
    async fn lock_pool(
        &mut self,
        org: OrganisationId,
        kind: CreditKind,
    ) -> Result<Option<CreditPool>, StoreError> {
        Ok(self.s().pools.get(&(org, kind)).copied())
    }
    async fn update_pool(&mut self, pool: &CreditPool) -> Result<(), StoreError> {
        let s = self.w("credits.update_pool")?;
        let slot = s.pools.get_mut(&(pool.org_id(), pool.kind())).ok_or(StoreError::NotFound)?;
        *slot = *pool;
        Ok(())
    }
    async fn lock_allocation(
        &mut self,
        member: MemberId,
        kind: CreditKind,
    ) -> Result<Option<Allocation>, StoreError> {
        Ok(self.s().allocations.get(&(member, kind)).copied())
    }
    async fn put_allocation(&mut self, allocation: &Allocation) -> Result<(), StoreError> {
        let s = self.w("credits.put_allocation")?;
        s.allocations.insert((allocation.member_id(), allocation.kind()), *allocation);
        Ok(())
    }
    async fn allocations_of_member(
        &mut self,
        member: MemberId,
    ) -> Result<Vec<Allocation>, StoreError> {
        Ok(self.s().allocations.values().filter(|a| a.member_id() == member).copied().collect())
    }
    async fn allocations_of_org(
        &mut self,
        org: OrganisationId,
    ) -> Result<Vec<Allocation>, StoreError> {
        Ok(self.s().allocations.values().filter(|a| a.org_id() == org).copied().collect())
    }
    async fn append(&mut self, entry: &LedgerEntry) -> Result<(), StoreError> {
        let s = self.w("credits.append")?;
        if s.ledger.iter().any(|e| e.id == entry.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        if let Some(detail) = &entry.consumption {
            let dup = s.ledger.iter().any(|e| {
                e.org_id == entry.org_id
                    && e.consumption.as_ref().is_some_and(|d| d.event_id == detail.event_id)
            });
            if dup {
                return Err(StoreError::Conflict(UniqueKey::ConsumptionEvent));
            }
        }
        s.ledger.push(entry.clone());
        Ok(())
    }
    async fn entry(
        &mut self,
        org: OrganisationId,
        id: LedgerEntryId,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        Ok(self.s().ledger.iter().find(|e| e.org_id == org && e.id == id).cloned())
    }
    async fn find_consumption(
        &mut self,
        org: OrganisationId,
        event_id: &EventId,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        Ok(self
            .s()
            .ledger
            .iter()
            .find(|e| {
                e.org_id == org && e.consumption.as_ref().is_some_and(|d| &d.event_id == event_id)
            })
            .cloned())
    }
    async fn ledger(
        &mut self,
        org: OrganisationId,
        filter: LedgerFilter,
        p: Page<LedgerCursor>,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut items: Vec<LedgerEntry> = self
            .s()
            .ledger
            .iter()
            .filter(|e| {
                e.org_id == org
                    && filter.member.is_none_or(|m| e.member_id == Some(m))
                    && filter.kind.is_none_or(|k| e.kind == k)
                    && filter.entry_type.is_none_or(|t| e.entry_type == t)
            })
            .cloned()
            .collect();
        items.sort_by_key(|e| (e.at, e.id));
        Ok(page(items.into_iter(), p, |e, c| (e.at, e.id) > (c.at, c.id)))
    }
    async fn consumption(
        &mut self,
        org: OrganisationId,
        who: Option<MemberId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ConsumptionRecord>, StoreError> {
        Ok(self
            .s()
            .ledger
            .iter()
            .filter(|e| consumed(e, org, who, from, to))
            .filter_map(|e| {
                let d = e.consumption.as_ref()?;
                Some(ConsumptionRecord {
                    at: e.at,
                    spender: spender(e),
                    from_pool: e.member_id.is_none(),
                    kind: e.kind,
                    amount: e.amount,
                    data_type: d.data_type.clone(),
                    provider: d.provider.clone(),
                })
            })
            .collect())
    }
    async fn consumption_totals(
        &mut self,
        org: OrganisationId,
        who: Option<MemberId>,
        bounds: &[DateTime<Utc>],
    ) -> Result<Vec<ConsumptionTotal>, StoreError> {
        let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
            return Ok(Vec::new());
        };
        let mut sums: BTreeMap<_, ConsumptionTotal> = BTreeMap::new();
        for e in &self.s().ledger {
            let Some(d) = e.consumption.as_ref() else { continue };
            if !consumed(e, org, who, *first, *last) {
                continue;
            }
            // The period whose [start, next start) holds `at`.
            let period = bounds.partition_point(|b| *b <= e.at) - 1;
            let key = (
                period,
                spender(e),
                e.kind,
                d.data_type.as_str().to_owned(),
                d.provider.as_str().to_owned(),
            );
            sums.entry(key)
                .or_insert_with(|| ConsumptionTotal {
                    period,
                    spender: spender(e),
                    kind: e.kind,
                    data_type: d.data_type.clone(),
                    provider: d.provider.clone(),
                    amount: 0,
                })
                .amount += e.amount;
        }
        Ok(sums.into_values().collect())
    }
}

#[async_trait]
impl ContactRepo for MemTx {
    async fn insert(&mut self, contact: &ContactAddress) -> Result<(), StoreError> {
        let s = self.w("contacts.insert")?;
        if s.contacts.contains_key(&contact.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        if s.contacts
            .values()
            .any(|c| c.org_id == contact.org_id && c.email.key() == contact.email.key())
        {
            return Err(StoreError::Conflict(UniqueKey::ContactEmail));
        }
        s.contacts.insert(contact.id, contact.clone());
        Ok(())
    }
    async fn list(&mut self, org: OrganisationId) -> Result<Vec<ContactAddress>, StoreError> {
        let mut items: Vec<_> =
            self.s().contacts.values().filter(|c| c.org_id == org).cloned().collect();
        items.sort_by_key(|c| (c.created_at, c.id));
        Ok(items)
    }
    async fn update(&mut self, contact: &ContactAddress) -> Result<(), StoreError> {
        let s = self.w("contacts.update")?;
        let slot = s.contacts.get_mut(&contact.id).ok_or(StoreError::NotFound)?;
        *slot = contact.clone();
        Ok(())
    }
    async fn delete(&mut self, id: ContactId) -> Result<(), StoreError> {
        let s = self.w("contacts.delete")?;
        s.contacts.remove(&id).map(|_| ()).ok_or(StoreError::NotFound)
    }
}

fn remove_sessions(s: &mut State, doomed: &BTreeSet<SessionId>) {
    s.sessions.retain(|id, session| {
        !doomed.contains(id)
            && !session.impersonation.as_ref().is_some_and(|i| doomed.contains(&i.admin_session_id))
    });
}

#[async_trait]
impl SessionRepo for MemTx {
    async fn insert(&mut self, session: &Session) -> Result<(), StoreError> {
        let s = self.w("sessions.insert")?;
        if s.sessions.contains_key(&session.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        s.sessions.insert(session.id, session.clone());
        Ok(())
    }
    async fn get(&mut self, id: SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.s().sessions.get(&id).cloned())
    }
    async fn touch(&mut self, id: SessionId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let s = self.w("sessions.touch")?;
        if let Some(session) = s.sessions.get_mut(&id) {
            session.last_seen_at = session.last_seen_at.max(at);
        }
        Ok(())
    }
    async fn delete(&mut self, id: SessionId) -> Result<(), StoreError> {
        let s = self.w("sessions.delete")?;
        remove_sessions(s, &BTreeSet::from([id]));
        Ok(())
    }
    async fn delete_for_member(
        &mut self,
        member: MemberId,
        keep: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let s = self.w("sessions.delete_for_member")?;
        let doomed: BTreeSet<SessionId> = s
            .sessions
            .values()
            .filter(|x| x.member_id == member && Some(x.id) != keep)
            .map(|x| x.id)
            .collect();
        remove_sessions(s, &doomed);
        Ok(doomed.len() as u64)
    }
    async fn list_for_member(&mut self, member: MemberId) -> Result<Vec<Session>, StoreError> {
        let mut items: Vec<_> =
            self.s().sessions.values().filter(|x| x.member_id == member).cloned().collect();
        items.sort_by_key(|x| (x.created_at, x.id));
        Ok(items)
    }
    async fn children(&mut self, admin_session: SessionId) -> Result<Vec<Session>, StoreError> {
        Ok(self
            .s()
            .sessions
            .values()
            .filter(|x| {
                x.impersonation.as_ref().is_some_and(|i| i.admin_session_id == admin_session)
            })
            .cloned()
            .collect())
    }
    async fn delete_expired(&mut self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let s = self.w("sessions.delete_expired")?;
        let doomed: BTreeSet<SessionId> =
            s.sessions.values().filter(|x| x.expires_at <= now).map(|x| x.id).collect();
        let before = s.sessions.len();
        remove_sessions(s, &doomed);
        Ok((before - s.sessions.len()) as u64)
    }
}

#[async_trait]
impl ApiKeyRepo for MemTx {
    async fn insert(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        let s = self.w("api_keys.insert")?;
        if s.api_keys.contains_key(&key.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        s.api_keys.insert(key.id, key.clone());
        Ok(())
    }
    async fn get(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.s().api_keys.get(&id).cloned())
    }
    async fn list_for_member(&mut self, member: MemberId) -> Result<Vec<ApiKey>, StoreError> {
        let mut items: Vec<_> =
            self.s().api_keys.values().filter(|k| k.member_id == member).cloned().collect();
        items.sort_by_key(|k| (k.created_at, k.id));
        Ok(items)
    }
    async fn touch(&mut self, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let s = self.w("api_keys.touch")?;
        if let Some(key) = s.api_keys.get_mut(&id) {
            key.last_used_at = Some(key.last_used_at.map_or(at, |t| t.max(at)));
        }
        Ok(())
    }
    async fn delete(&mut self, id: ApiKeyId) -> Result<(), StoreError> {
        let s = self.w("api_keys.delete")?;
        s.api_keys.remove(&id).map(|_| ()).ok_or(StoreError::NotFound)
    }
    async fn delete_for_member(&mut self, member: MemberId) -> Result<u64, StoreError> {
        let s = self.w("api_keys.delete_for_member")?;
        let before = s.api_keys.len();
        s.api_keys.retain(|_, k| k.member_id != member);
        Ok((before - s.api_keys.len()) as u64)
    }
}

#[async_trait]
impl EmailChangeRepo for MemTx {
    async fn get(&mut self, member: MemberId) -> Result<Option<EmailChange>, StoreError> {
        Ok(self.s().email_changes.get(&member).cloned())
    }
    async fn put(&mut self, flow: &EmailChange) -> Result<(), StoreError> {
        let s = self.w("email_changes.put")?;
        s.email_changes.insert(flow.member_id, flow.clone());
        Ok(())
    }
    async fn delete(&mut self, member: MemberId) -> Result<(), StoreError> {
        let s = self.w("email_changes.delete")?;
        s.email_changes.remove(&member);
        Ok(())
    }
}

#[async_trait]
impl AuditRepo for MemTx {
    async fn append(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        let s = self.w("audit.append")?;
        if s.audit.iter().any(|e| e.id == entry.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        s.audit.push(entry.clone());
        Ok(())
    }
    async fn list(
        &mut self,
        org: OrganisationId,
        p: Page<AuditCursor>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut items: Vec<_> =
            self.s().audit.iter().filter(|e| e.org_id == Some(org)).cloned().collect();
        items.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
        Ok(page(items.into_iter(), p, |e, c| (e.at, e.id) < (c.at, c.id)))
    }
}

#[async_trait]
impl OutboxRepo for MemTx {
    async fn enqueue(&mut self, mail: &OutboxMail) -> Result<(), StoreError> {
        let s = self.w("outbox.enqueue")?;
        if s.outbox.contains_key(&mail.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        s.outbox.insert(mail.id, mail.clone());
        Ok(())
    }
    async fn claim_due(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, StoreError> {
        let s = self.w("outbox.claim_due")?;
        let mut due: Vec<&mut OutboxMail> = s
            .outbox
            .values_mut()
            .filter(|m| m.sent_at.is_none() && m.next_attempt_at <= now)
            .collect();
        due.sort_by_key(|m| (m.next_attempt_at, m.created_at, m.id));
        let mut claimed = Vec::new();
        for mail in due.into_iter().take(usize::try_from(limit).unwrap_or(usize::MAX)) {
            claimed.push(mail.clone());
            mail.next_attempt_at = lease_until;
        }
        Ok(claimed)
    }
    async fn mark_sent(&mut self, id: MailId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let s = self.w("outbox.mark_sent")?;
        let mail = s.outbox.get_mut(&id).ok_or(StoreError::NotFound)?;
        mail.sent_at = Some(at);
        mail.sealed.clear();
        Ok(())
    }
    async fn reschedule(
        &mut self,
        id: MailId,
        attempts: u32,
        next: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError> {
        let s = self.w("outbox.reschedule")?;
        let mail = s.outbox.get_mut(&id).ok_or(StoreError::NotFound)?;
        mail.attempts = attempts;
        mail.next_attempt_at = next;
        mail.last_error = Some(error.to_owned());
        Ok(())
    }
    async fn pending(&mut self, limit: u32) -> Result<Vec<OutboxMail>, StoreError> {
        let mut items: Vec<_> =
            self.s().outbox.values().filter(|m| m.sent_at.is_none()).cloned().collect();
        items.sort_by_key(|m| (m.created_at, m.id));
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(items)
    }
}

#[async_trait]
impl CatalogueRepo for MemTx {
    async fn list(&mut self) -> Result<Vec<Product>, StoreError> {
        let mut items: Vec<_> = self.s().products.values().cloned().collect();
        items.sort_by_key(|p| p.name.key());
        Ok(items)
    }
    async fn insert(&mut self, product: &Product) -> Result<(), StoreError> {
        let s = self.w("catalogue.insert")?;
        if s.products.contains_key(&product.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        if s.products.values().any(|p| p.name.key() == product.name.key()) {
            return Err(StoreError::Conflict(UniqueKey::ProductName));
        }
        s.products.insert(product.id, product.clone());
        Ok(())
    }
    async fn update(&mut self, product: &Product) -> Result<(), StoreError> {
        let s = self.w("catalogue.update")?;
        if s.products.values().any(|p| p.id != product.id && p.name.key() == product.name.key()) {
            return Err(StoreError::Conflict(UniqueKey::ProductName));
        }
        let slot = s.products.get_mut(&product.id).ok_or(StoreError::NotFound)?;
        *slot = product.clone();
        Ok(())
    }
    async fn get(&mut self, id: ProductId) -> Result<Option<Product>, StoreError> {
        Ok(self.s().products.get(&id).cloned())
    }
}

#[async_trait]
impl DigestRepo for MemTx {
    async fn get(&mut self, member: MemberId) -> Result<Option<ScheduledDigest>, StoreError> {
        Ok(self.s().digests.get(&member).copied())
    }
    async fn put(&mut self, digest: &ScheduledDigest) -> Result<(), StoreError> {
        let s = self.w("digests.put")?;
        s.digests.insert(digest.member_id, *digest);
        Ok(())
    }
    async fn delete(&mut self, member: MemberId) -> Result<(), StoreError> {
        let s = self.w("digests.delete")?;
        s.digests.remove(&member);
        Ok(())
    }
    async fn due(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ScheduledDigest>, StoreError> {
        let mut items: Vec<_> =
            self.s().digests.values().filter(|d| d.due_at <= now).copied().collect();
        items.sort_by_key(|d| (d.due_at, d.member_id));
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(items)
    }
}

#[async_trait]
impl IdempotencyRepo for MemTx {
    async fn get(
        &mut self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(self.s().idempotency.get(&(scope.to_owned(), key.to_owned())).cloned())
    }
    async fn insert(&mut self, record: &IdempotencyRecord) -> Result<(), StoreError> {
        let s = self.w("idempotency.insert")?;
        let k = (record.scope.clone(), record.key.clone());
        if s.idempotency.contains_key(&k) {
            return Err(StoreError::Conflict(UniqueKey::IdempotencyKey));
        }
        s.idempotency.insert(k, record.clone());
        Ok(())
    }
    async fn complete(
        &mut self,
        scope: &str,
        key: &str,
        outcome: &Outcome,
    ) -> Result<(), StoreError> {
        let s = self.w("idempotency.complete")?;
        let record = s
            .idempotency
            .get_mut(&(scope.to_owned(), key.to_owned()))
            .ok_or(StoreError::NotFound)?;
        record.outcome = Some(outcome.clone());
        Ok(())
    }
    async fn delete(&mut self, scope: &str, key: &str) -> Result<(), StoreError> {
        let s = self.w("idempotency.delete")?;
        s.idempotency.remove(&(scope.to_owned(), key.to_owned()));
        Ok(())
    }
    async fn purge(&mut self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let s = self.w("idempotency.purge")?;
        let n = s.idempotency.len();
        s.idempotency.retain(|_, r| r.created_at >= before);
        Ok((n - s.idempotency.len()) as u64)
    }
}
