//! Members: insert, read, lock (one or several, in id order), find by email or username, update,
//! erase, list, count, and move between plans.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{MemberCounts, Page, StoreError};
use crate::domain::email::EmailAddress;
use crate::domain::member::{Member, MemberStatus};
use crate::domain::text::PlanName;
use crate::domain::username::Username;
use crate::ids::{MemberId, OrganisationId};

/// Members. Erased (deleted) members are invisible to every read.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait MemberRepo: Send {
    /// Adds a member.
    ///
    /// # Errors [`StoreError::Conflict`] with [`UniqueKey::Username`](super::UniqueKey::Username)
    /// or [`UniqueKey::LoginEmail`](super::UniqueKey::LoginEmail).
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
    /// Counts an organisation's members, by status, role and plan.
    ///
    /// # Errors
    /// Driver failures only.
    async fn counts(&mut self, org: OrganisationId) -> Result<MemberCounts, StoreError>;
    /// Moves every (not erased) member of `org` on plan `from` to plan `to`; returns how many
    /// moved. The caller holds the organisation's lock.
    ///
    /// # Errors
    /// Driver failures only.
    async fn move_to_plan(
        &mut self,
        org: OrganisationId,
        from: &PlanName,
        to: &PlanName,
    ) -> Result<u64, StoreError>;
}
