//! The store ports: a [`Store`] opens units of work ([`Tx`]); each unit exposes one repository
//! per aggregate. A use case does all its reads and writes in one unit and commits once, so its
//! writes land together or not at all. Dropping a unit without committing rolls it back.
//!
//! Concurrency contract: write units must serialise conflicting use cases. The `lock_*`
//! methods return the current row and hold a lock on it, exclusive against other `lock_*`
//! calls and writes of that row, until the unit ends (`SELECT … FOR NO KEY UPDATE` on
//! PostgreSQL, which unlike `FOR UPDATE` does not block foreign-key checks of rows that
//! reference it; SQLite's `BEGIN IMMEDIATE` and the memory store's single writer serialise
//! whole units). Use cases take the lock before they check a rule that depends on the row
//! (headroom of a pool, licences of an organisation), so two concurrent units can never both
//! pass the check.
//!
//! A write refused with [`StoreError::NotFound`], or with [`StoreError::Conflict`] on one of
//! the named unique keys (username, login email, contact email, consumption event, product
//! name, idempotency key), changes nothing and leaves the unit usable (savepoints on
//! PostgreSQL), so a use case may react to it (try another username, report a duplicate) and
//! still commit. A conflict on [`UniqueKey::PrimaryKey`] means a bug (ids are random) and may
//! leave the unit unusable: it must be dropped.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::audit::{AuditCursor, AuditEntry};
use crate::domain::contact::ContactAddress;
use crate::domain::credits::{
    Allocation, ConsumptionRecord, ConsumptionTotal, CreditKind, CreditPool, EntryType, LedgerEntry,
};
use crate::domain::digest::ScheduledDigest;
use crate::domain::email::EmailAddress;
use crate::domain::email_change::EmailChange;
use crate::domain::idempotency::Outcome;
use crate::domain::mail::OutboxMail;
use crate::domain::member::{Member, MemberStatus};
use crate::domain::organisation::Organisation;
use crate::domain::products::Product;
use crate::domain::session::{ApiKey, Session};
use crate::domain::text::EventId;
use crate::domain::username::Username;
use crate::error::BoxError;
use crate::ids::{
    ApiKeyId, ContactId, LedgerEntryId, MailId, MemberId, OrganisationId, ProductId, SessionId,
};

/// Which uniqueness rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueKey {
    /// Two members with one username.
    Username,
    /// Two members with one login email (case-insensitively).
    LoginEmail,
    /// Two contact addresses of one organisation with one email (case-insensitively).
    ContactEmail,
    /// Two consumptions of one organisation with one event id.
    ConsumptionEvent,
    /// Two catalogue entries with one name (case-insensitively).
    ProductName,
    /// Two idempotency records with one scope and key.
    IdempotencyKey,
    /// A row with this primary key exists already.
    PrimaryKey,
}

/// A store failure, translated from the driver's.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken.
    #[error("unique constraint violated: {0:?}")]
    Conflict(UniqueKey),
    /// An update or delete targeted a row that does not exist.
    #[error("the record to change does not exist")]
    NotFound,
    /// The database cannot be reached, or no connection was free in time.
    #[error("the store is unavailable")]
    Unavailable(#[source] BoxError),
    /// A stored row could not be read back as a domain value.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// Anything else.
    #[error("store failure")]
    Other(#[source] BoxError),
}

/// A page request for lists ordered by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<C> {
    /// Continue after this cursor (exclusive); `None` for the first page.
    pub after: Option<C>,
    /// How many rows at most.
    pub limit: u32,
}

/// The committed state of a store as [`Store::change_stamp`] reads it: two equal stamps mean
/// that no unit committed between the two readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChangeStamp(u128);

impl ChangeStamp {
    /// A stamp from the store's own change counter, in whatever layout the store chooses.
    #[must_use]
    pub const fn new(value: u128) -> Self {
        Self(value)
    }
}

/// Opens units of work.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Opens a read-write unit. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so that no unit fails half-way with "database is locked".
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had.
    async fn write(&self) -> Result<Box<dyn Tx>, StoreError>;

    /// Opens a read-only unit. Its `lock_*` methods behave like their plain reads; committing
    /// it is allowed and does nothing.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had.
    async fn read(&self) -> Result<Box<dyn Tx>, StoreError>;

    /// Opens a unit for lookups by key that need no snapshot: each read runs on its own and
    /// sees the latest committed data, with no transaction around the reads (on SQL stores no
    /// `BEGIN` / `COMMIT`: a lookup costs its statements only). Writes are refused, as in a
    /// read unit. Authentication uses it: it runs on every request and reads two rows by key,
    /// each of which it re-checks, so a snapshot across them buys nothing.
    ///
    /// The default opens a read unit.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection can be had.
    async fn lookup(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.read().await
    }

    /// Reads, without opening a unit or taking a connection, a stamp of the committed state:
    /// once any write unit has committed since a reading (in this process or in any other on
    /// the same database), the next reading differs. It may also differ with nothing changed
    /// (that only costs the caller a re-read); `None` when the store cannot tell.
    ///
    /// So a value read in a unit opened after a reading `s` is still the current value as long
    /// as the stamp still reads `s`. Authentication relies on that to serve a session it read
    /// before without reading it again, and still sees a revocation or a disabled member at
    /// once (rules 3, 18). It runs on every authenticated request, so it must be cheap.
    ///
    /// The default is `None`, and then nothing is kept.
    fn change_stamp(&self) -> Option<ChangeStamp> {
        None
    }

    /// Checks that the store answers (for readiness probes).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when it does not.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// One unit of work: every repository, and `commit`.
#[async_trait]
pub trait Tx: Send {
    /// Organisations.
    fn organisations(&mut self) -> &mut dyn OrganisationRepo;
    /// Members.
    fn members(&mut self) -> &mut dyn MemberRepo;
    /// Pools, allocations and the ledger.
    fn credits(&mut self) -> &mut dyn CreditRepo;
    /// Contact addresses.
    fn contacts(&mut self) -> &mut dyn ContactRepo;
    /// Sessions, impersonation sessions included.
    fn sessions(&mut self) -> &mut dyn SessionRepo;
    /// API keys.
    fn api_keys(&mut self) -> &mut dyn ApiKeyRepo;
    /// Email-change flows.
    fn email_changes(&mut self) -> &mut dyn EmailChangeRepo;
    /// The audit log.
    fn audit(&mut self) -> &mut dyn AuditRepo;
    /// The mail outbox.
    fn outbox(&mut self) -> &mut dyn OutboxRepo;
    /// The products catalogue.
    fn catalogue(&mut self) -> &mut dyn CatalogueRepo;
    /// Scheduled digests.
    fn digests(&mut self) -> &mut dyn DigestRepo;
    /// Idempotency records of the HTTP layer.
    fn idempotency(&mut self) -> &mut dyn IdempotencyRepo;

    /// A session and the (not erased) member it belongs to, as `sessions().get` then
    /// `members().get` would read them: what every authenticated request needs first. A store
    /// may read both at once (one joined statement instead of two round trips).
    ///
    /// # Errors
    /// Driver failures only.
    async fn session_and_member(
        &mut self,
        id: SessionId,
    ) -> Result<Option<(Session, Option<Member>)>, StoreError> {
        let Some(session) = self.sessions().get(id).await? else { return Ok(None) };
        let member = self.members().get(session.member_id).await?;
        Ok(Some((session, member)))
    }

    /// [`Tx::session_and_member`] and the member's organisation (absent with the member), as
    /// `organisations().get` would read it: what `GET /me` shows, read with the session that
    /// authenticates it. A store may read all three at once.
    ///
    /// # Errors
    /// Driver failures only.
    async fn session_member_and_organisation(
        &mut self,
        id: SessionId,
    ) -> Result<Option<(Session, Option<Member>, Option<Organisation>)>, StoreError> {
        let Some((session, member)) = self.session_and_member(id).await? else { return Ok(None) };
        let organisation = match &member {
            Some(m) => self.organisations().get(m.org_id).await?,
            None => None,
        };
        Ok(Some((session, member, organisation)))
    }

    /// An API key and its (not erased) member, as [`Tx::session_and_member`].
    ///
    /// # Errors
    /// Driver failures only.
    async fn api_key_and_member(
        &mut self,
        id: ApiKeyId,
    ) -> Result<Option<(ApiKey, Option<Member>)>, StoreError> {
        let Some(key) = self.api_keys().get(id).await? else { return Ok(None) };
        let member = self.members().get(key.member_id).await?;
        Ok(Some((key, member)))
    }

    /// A (not erased) member and its organisation, as `members().get` then
    /// `organisations().get` would read them: what `GET /me` shows. A store may read both at
    /// once.
    ///
    /// # Errors
    /// Driver failures only.
    async fn member_and_organisation(
        &mut self,
        id: MemberId,
    ) -> Result<Option<(Member, Option<Organisation>)>, StoreError> {
        let Some(member) = self.members().get(id).await? else { return Ok(None) };
        let organisation = self.organisations().get(member.org_id).await?;
        Ok(Some((member, organisation)))
    }

    /// The (not erased) members among `ids`, in any order, each once, as a `members().get`
    /// per id would read them; ids of no such member are left out. A store may read them at
    /// once (a team report names every member that consumed).
    ///
    /// # Errors
    /// Driver failures only.
    async fn members_by_id(&mut self, ids: &[MemberId]) -> Result<Vec<Member>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids.iter().copied().collect::<BTreeSet<MemberId>>() {
            if let Some(member) = self.members().get(id).await? {
                found.push(member);
            }
        }
        Ok(found)
    }

    /// Makes every write of this unit durable and visible, all at once.
    ///
    /// # Errors
    /// [`StoreError`] when the commit fails; then nothing of the unit was written.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Organisations.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait OrganisationRepo: Send {
    /// Adds an organisation.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with [`UniqueKey::PrimaryKey`] if the id exists.
    async fn insert(&mut self, org: &Organisation) -> Result<(), StoreError>;
    /// Reads one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, id: OrganisationId) -> Result<Option<Organisation>, StoreError>;
    /// Reads one and locks it until the unit ends: every change to membership, licences or
    /// contacts of the organisation locks it first, so those changes serialise.
    ///
    /// # Errors
    /// Driver failures only.
    async fn lock(&mut self, id: OrganisationId) -> Result<Option<Organisation>, StoreError>;
    /// Replaces one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if it does not exist.
    async fn update(&mut self, org: &Organisation) -> Result<(), StoreError>;
    /// Lists organisations by id.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list(&mut self, page: Page<OrganisationId>) -> Result<Vec<Organisation>, StoreError>;
}

pub use crate::domain::organisation::MemberCounts;

/// Members. Erased (deleted) members are invisible to every read.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait MemberRepo: Send {
    /// Adds a member.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with [`UniqueKey::Username`] or [`UniqueKey::LoginEmail`].
    async fn insert(&mut self, member: &Member) -> Result<(), StoreError>;
    /// Reads one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, id: MemberId) -> Result<Option<Member>, StoreError>;
    /// Reads one and locks it until the unit ends.
    ///
    /// # Errors
    /// Driver failures only.
    async fn lock(&mut self, id: MemberId) -> Result<Option<Member>, StoreError>;
    /// Reads the (not erased) members among `ids` and locks them until the unit ends, in
    /// ascending id order (the domain's lock order among members, `docs/architecture.md`);
    /// returns them in that order, each once. A member erased by a unit that committed while
    /// this one waited for its lock is absent.
    ///
    /// # Errors
    /// Driver failures only.
    async fn lock_many(&mut self, ids: &[MemberId]) -> Result<Vec<Member>, StoreError>;
    /// Finds a member by login email, case-insensitively.
    ///
    /// # Errors
    /// Driver failures only.
    async fn find_by_email(&mut self, email: &EmailAddress) -> Result<Option<Member>, StoreError>;
    /// Finds a member by username.
    ///
    /// # Errors
    /// Driver failures only.
    async fn find_by_username(&mut self, username: &Username)
    -> Result<Option<Member>, StoreError>;
    /// Replaces one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Conflict`] as for `insert`.
    async fn update(&mut self, member: &Member) -> Result<(), StoreError>;
    /// Erases a member's personal data (rule 11) at `at`: the id stays known to the ledger and
    /// the audit log but leads to nothing; reads no longer find it, and its username and login
    /// email may be used again.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is no such (unerased) member.
    async fn erase(&mut self, id: MemberId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Lists an organisation's members by id, optionally of one status.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list(
        &mut self,
        org: OrganisationId,
        status: Option<MemberStatus>,
        page: Page<MemberId>,
    ) -> Result<Vec<Member>, StoreError>;
    /// Counts an organisation's members.
    ///
    /// # Errors
    /// Driver failures only.
    async fn counts(&mut self, org: OrganisationId) -> Result<MemberCounts, StoreError>;
}

/// Which ledger entries to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerFilter {
    /// Only entries of this member.
    pub member: Option<MemberId>,
    /// Only this kind.
    pub kind: Option<CreditKind>,
    /// Only this type.
    pub entry_type: Option<EntryType>,
}

/// Where a page of the ledger continues (exclusive), oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerCursor {
    /// Time of the last entry seen.
    pub at: DateTime<Utc>,
    /// Id of the last entry seen.
    pub id: LedgerEntryId,
}

/// Pools, allocations and the append-only ledger.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait CreditRepo: Send {
    /// Adds a pool (one per kind, when the organisation is created).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with [`UniqueKey::PrimaryKey`] if it exists.
    async fn insert_pool(&mut self, pool: &CreditPool) -> Result<(), StoreError>;
    /// An organisation's pools, in [`CreditKind::ALL`] order.
    ///
    /// # Errors
    /// Driver failures only.
    async fn pools(&mut self, org: OrganisationId) -> Result<Vec<CreditPool>, StoreError>;
    /// Reads a pool and locks it until the unit ends. Every change to a pool's headroom locks
    /// it first: this is what keeps concurrent allocations from overdrawing it.
    ///
    /// # Errors
    /// Driver failures only.
    async fn lock_pool(
        &mut self,
        org: OrganisationId,
        kind: CreditKind,
    ) -> Result<Option<CreditPool>, StoreError>;
    /// Replaces a pool's balances.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if it does not exist.
    async fn update_pool(&mut self, pool: &CreditPool) -> Result<(), StoreError>;
    /// Reads a member's allocation of one kind and locks it until the unit ends (an absent
    /// one reads as `None`; `put_allocation` creates it).
    ///
    /// # Errors
    /// Driver failures only.
    async fn lock_allocation(
        &mut self,
        member: MemberId,
        kind: CreditKind,
    ) -> Result<Option<Allocation>, StoreError>;
    /// Creates or replaces an allocation.
    ///
    /// # Errors
    /// Driver failures only.
    async fn put_allocation(&mut self, allocation: &Allocation) -> Result<(), StoreError>;
    /// A member's allocations (only kinds that were ever allocated).
    ///
    /// # Errors
    /// Driver failures only.
    async fn allocations_of_member(
        &mut self,
        member: MemberId,
    ) -> Result<Vec<Allocation>, StoreError>;
    /// Every allocation in an organisation.
    ///
    /// # Errors
    /// Driver failures only.
    async fn allocations_of_org(
        &mut self,
        org: OrganisationId,
    ) -> Result<Vec<Allocation>, StoreError>;
    /// Appends a ledger entry.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with [`UniqueKey::ConsumptionEvent`] when a consumption with
    /// the same organisation and event id exists.
    async fn append(&mut self, entry: &LedgerEntry) -> Result<(), StoreError>;
    /// One ledger entry of an organisation, by id.
    ///
    /// # Errors
    /// Driver failures only.
    async fn entry(
        &mut self,
        org: OrganisationId,
        id: LedgerEntryId,
    ) -> Result<Option<LedgerEntry>, StoreError>;
    /// The consumption recorded under an event id, if any.
    ///
    /// # Errors
    /// Driver failures only.
    async fn find_consumption(
        &mut self,
        org: OrganisationId,
        event_id: &EventId,
    ) -> Result<Option<LedgerEntry>, StoreError>;
    /// A page of the ledger, oldest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn ledger(
        &mut self,
        org: OrganisationId,
        filter: LedgerFilter,
        page: Page<LedgerCursor>,
    ) -> Result<Vec<LedgerEntry>, StoreError>;
    /// Consumptions in `[from, to)`, optionally of one spender, for usage reports, oldest
    /// first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn consumption(
        &mut self,
        org: OrganisationId,
        spender: Option<MemberId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ConsumptionRecord>, StoreError>;
    /// Consumption summed per period, spender, kind, data type and provider, optionally of
    /// one spender: period `i` is `[bounds[i], bounds[i + 1])`, so `bounds` ascend and there
    /// are `bounds.len() - 1` periods (none with fewer than two bounds); consumption outside
    /// `[first, last)` is not counted. Rows with nothing spent are absent; no given order.
    /// The store adds up (SQL `GROUP BY`), so a report over a year of a busy member moves a
    /// few rows, not one per consumption. The sums are one consistent read, in a lookup unit
    /// too: never half of a consumption committed meanwhile.
    ///
    /// # Errors
    /// Driver failures only.
    async fn consumption_totals(
        &mut self,
        org: OrganisationId,
        spender: Option<MemberId>,
        bounds: &[DateTime<Utc>],
    ) -> Result<Vec<ConsumptionTotal>, StoreError>;
}

/// Contact addresses.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ContactRepo: Send {
    /// Adds one.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with [`UniqueKey::ContactEmail`].
    async fn insert(&mut self, contact: &ContactAddress) -> Result<(), StoreError>;
    /// An organisation's addresses, oldest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list(&mut self, org: OrganisationId) -> Result<Vec<ContactAddress>, StoreError>;
    /// Replaces one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn update(&mut self, contact: &ContactAddress) -> Result<(), StoreError>;
    /// Removes one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn delete(&mut self, id: ContactId) -> Result<(), StoreError>;
}

/// Sessions, impersonation sessions included.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SessionRepo: Send {
    /// Adds one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn insert(&mut self, session: &Session) -> Result<(), StoreError>;
    /// Reads one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, id: SessionId) -> Result<Option<Session>, StoreError>;
    /// Records activity.
    ///
    /// # Errors
    /// Driver failures only (a missing session is not an error).
    async fn touch(&mut self, id: SessionId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Ends one, and every impersonation session hanging on it.
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete(&mut self, id: SessionId) -> Result<(), StoreError>;
    /// Ends every session acting as `member` except `keep`, and every impersonation session
    /// hanging on the ended ones; returns how many sessions acting as `member` ended.
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete_for_member(
        &mut self,
        member: MemberId,
        keep: Option<SessionId>,
    ) -> Result<u64, StoreError>;
    /// Every session acting as `member`, oldest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list_for_member(&mut self, member: MemberId) -> Result<Vec<Session>, StoreError>;
    /// The impersonation sessions hanging on an admin's session.
    ///
    /// # Errors
    /// Driver failures only.
    async fn children(&mut self, admin_session: SessionId) -> Result<Vec<Session>, StoreError>;
    /// Deletes sessions whose absolute end is at or before `now` (and the impersonation
    /// sessions hanging on them); returns how many.
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete_expired(&mut self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// API keys.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ApiKeyRepo: Send {
    /// Adds one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn insert(&mut self, key: &ApiKey) -> Result<(), StoreError>;
    /// Reads one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError>;
    /// A member's keys, oldest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list_for_member(&mut self, member: MemberId) -> Result<Vec<ApiKey>, StoreError>;
    /// Records use.
    ///
    /// # Errors
    /// Driver failures only (a missing key is not an error).
    async fn touch(&mut self, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Removes one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn delete(&mut self, id: ApiKeyId) -> Result<(), StoreError>;
    /// Removes all of a member's keys; returns how many.
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete_for_member(&mut self, member: MemberId) -> Result<u64, StoreError>;
}

/// Email-change flows, at most one per member.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait EmailChangeRepo: Send {
    /// The member's flow, if any.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, member: MemberId) -> Result<Option<EmailChange>, StoreError>;
    /// Creates or replaces the member's flow.
    ///
    /// # Errors
    /// Driver failures only.
    async fn put(&mut self, flow: &EmailChange) -> Result<(), StoreError>;
    /// Removes the member's flow, if any.
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete(&mut self, member: MemberId) -> Result<(), StoreError>;
}

/// The audit log (append-only).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AuditRepo: Send {
    /// Appends an entry.
    ///
    /// # Errors
    /// Driver failures only.
    async fn append(&mut self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// A page of an organisation's log, newest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list(
        &mut self,
        org: OrganisationId,
        page: Page<AuditCursor>,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// The mail outbox.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait OutboxRepo: Send {
    /// Adds a mail request.
    ///
    /// # Errors
    /// Driver failures only.
    async fn enqueue(&mut self, mail: &OutboxMail) -> Result<(), StoreError>;
    /// Takes up to `limit` unsent mails due at `now` and leases them until `lease_until` (their
    /// `next_attempt_at` becomes it), so that other workers skip them meanwhile. Must not hand
    /// one mail to two concurrent callers (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
    ///
    /// # Errors
    /// Driver failures only.
    async fn claim_due(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<OutboxMail>, StoreError>;
    /// Records delivery and forgets the sealed content.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn mark_sent(&mut self, id: MailId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Records a failed attempt and when to try again.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn reschedule(
        &mut self,
        id: MailId,
        attempts: u32,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Mails not yet sent, oldest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn pending(&mut self, limit: u32) -> Result<Vec<OutboxMail>, StoreError>;
}

/// The products catalogue.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait CatalogueRepo: Send {
    /// Every entry, active or not, by name.
    ///
    /// # Errors
    /// Driver failures only.
    async fn list(&mut self) -> Result<Vec<Product>, StoreError>;
    /// Adds one.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with [`UniqueKey::ProductName`].
    async fn insert(&mut self, product: &Product) -> Result<(), StoreError>;
    /// Replaces one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Conflict`] with [`UniqueKey::ProductName`].
    async fn update(&mut self, product: &Product) -> Result<(), StoreError>;
    /// Reads one.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, id: ProductId) -> Result<Option<Product>, StoreError>;
}

/// Scheduled digests, at most one per member.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait DigestRepo: Send {
    /// The member's scheduled digest.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(&mut self, member: MemberId) -> Result<Option<ScheduledDigest>, StoreError>;
    /// Creates or replaces the member's schedule.
    ///
    /// # Errors
    /// Driver failures only.
    async fn put(&mut self, digest: &ScheduledDigest) -> Result<(), StoreError>;
    /// Removes the member's schedule, if any.
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete(&mut self, member: MemberId) -> Result<(), StoreError>;
    /// Up to `limit` digests due at `now`, earliest first.
    ///
    /// # Errors
    /// Driver failures only.
    async fn due(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ScheduledDigest>, StoreError>;
}

/// What an idempotency key recorded: who and what it is scoped to, the request's
/// fingerprint, and what the use case did. The record is inserted first in the use case's
/// unit and completed with the outcome in the same unit, so a committed record always holds
/// its outcome (`None` only in records an older server left).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Who and what the key is scoped to, such as `member:<id>:allocate`.
    pub scope: String,
    /// The client's key.
    pub key: String,
    /// A keyed digest of the request, to refuse the same key for another request.
    pub fingerprint: String,
    /// What the use case did.
    pub outcome: Option<Outcome>,
    /// When the key was first used.
    pub created_at: DateTime<Utc>,
}

/// Idempotency records.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait IdempotencyRepo: Send {
    /// Reads a record.
    ///
    /// # Errors
    /// Driver failures only.
    async fn get(
        &mut self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Reserves a key: the first statement of a use case's unit, so that it is also the
    /// first lock the unit takes. While another unit holds an uncommitted record of the same
    /// scope and key, this waits for that unit to end (PostgreSQL's unique index does; the
    /// other stores serialise write units whole), then reserves the key or reports it taken.
    /// A refused insert leaves the unit usable.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] with [`UniqueKey::IdempotencyKey`] if it is taken.
    async fn insert(&mut self, record: &IdempotencyRecord) -> Result<(), StoreError>;
    /// Records the outcome of a key reserved in this unit.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn complete(
        &mut self,
        scope: &str,
        key: &str,
        outcome: &Outcome,
    ) -> Result<(), StoreError>;
    /// Forgets a key (one past its retention, before it is reserved again).
    ///
    /// # Errors
    /// Driver failures only.
    async fn delete(&mut self, scope: &str, key: &str) -> Result<(), StoreError>;
    /// Forgets records older than `before`; returns how many.
    ///
    /// # Errors
    /// Driver failures only.
    async fn purge(&mut self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
