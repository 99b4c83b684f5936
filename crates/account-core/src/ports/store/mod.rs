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

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::member::Member;
use crate::domain::organisation::Organisation;
use crate::domain::session::{ApiKey, Session};
use crate::error::BoxError;
use crate::ids::{ApiKeyId, MemberId, SessionId};

pub use self::audit::AuditRepo;
#[cfg(feature = "mocks")]
pub use self::audit::MockAuditRepo;
pub use self::catalogue::CatalogueRepo;
#[cfg(feature = "mocks")]
pub use self::catalogue::MockCatalogueRepo;
pub use self::contacts::ContactRepo;
#[cfg(feature = "mocks")]
pub use self::contacts::MockContactRepo;
#[cfg(feature = "mocks")]
pub use self::credits::MockCreditRepo;
pub use self::credits::{CreditRepo, LedgerCursor, LedgerFilter};
pub use self::digests::DigestRepo;
#[cfg(feature = "mocks")]
pub use self::digests::MockDigestRepo;
pub use self::email_changes::EmailChangeRepo;
#[cfg(feature = "mocks")]
pub use self::email_changes::MockEmailChangeRepo;
#[cfg(feature = "mocks")]
pub use self::idempotency::MockIdempotencyRepo;
pub use self::idempotency::{IdempotencyRecord, IdempotencyRepo};
pub use self::limits::LimitRepo;
#[cfg(feature = "mocks")]
pub use self::limits::MockLimitRepo;
pub use self::members::MemberRepo;
#[cfg(feature = "mocks")]
pub use self::members::MockMemberRepo;
#[cfg(feature = "mocks")]
pub use self::organisations::MockOrganisationRepo;
pub use self::organisations::OrganisationRepo;
#[cfg(feature = "mocks")]
pub use self::outbox::MockOutboxRepo;
pub use self::outbox::OutboxRepo;
#[cfg(feature = "mocks")]
pub use self::sessions::MockApiKeyRepo;
#[cfg(feature = "mocks")]
pub use self::sessions::MockSessionRepo;
pub use self::sessions::{ApiKeyRepo, SessionRepo};
pub use crate::domain::organisation::MemberCounts;

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

/// A session or API key whose use a store records (`last_seen_at`, `last_used_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    /// A session (log-in or impersonation).
    Session(SessionId),
    /// An API key.
    ApiKey(ApiKeyId),
}

impl Activity {
    /// The session's or key's id.
    #[must_use]
    pub fn uuid(self) -> uuid::Uuid {
        match self {
            Self::Session(id) => id.as_uuid(),
            Self::ApiKey(id) => id.as_uuid(),
        }
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

    /// Records that the sessions or keys in `used` were used at `at`, in a write unit of its
    /// own. Authentication calls it when a session's or key's recorded activity is older
    /// than `TOUCH_INTERVAL` (a minute), so reads stay reads. A store may skip an id whose
    /// activity it began to record less than that interval before `at` (the SQL store does,
    /// per process): of a busy client's concurrent requests that all find it due, one writes.
    ///
    /// The default writes every id in one unit.
    ///
    /// # Errors
    /// Driver failures; a missing session or key is not an error.
    async fn record_activity(
        &self,
        used: &[Activity],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        for activity in used {
            match *activity {
                Activity::Session(id) => tx.sessions().touch(id, at).await?,
                Activity::ApiKey(id) => tx.api_keys().touch(id, at).await?,
            }
        }
        tx.commit().await
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
    /// Idempotency-Key records.
    fn idempotency(&mut self) -> &mut dyn IdempotencyRepo;
    /// Abuse limits' state.
    fn limits(&mut self) -> &mut dyn LimitRepo;

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
