//! Pools, allocations, the append-only ledger and consumption sums for usage reports.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Page, StoreError};
use crate::domain::credits::{
    Allocation, ConsumptionRecord, ConsumptionSums, ConsumptionTotal, CreditKind, CreditPool,
    EntryType, LedgerEntry,
};
use crate::domain::text::EventId;
use crate::ids::{LedgerEntryId, MemberId, OrganisationId};

/// Which ledger entries to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerFilter {
    /// Only entries of this member.
    pub member: Option<MemberId>,
    /// Only this kind.
    pub kind: Option<CreditKind>,
    /// Only this type.
    pub entry_type: Option<EntryType>,
    /// Only entries that name this member: as the member whose credits moved or were spent
    /// (`member_id`), as the actor, or as the member the actor was acting as. What a member's
    /// own export holds of the ledger.
    pub naming: Option<MemberId>,
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
    /// # Errors [`StoreError::Conflict`] with
    /// [`UniqueKey::PrimaryKey`](super::UniqueKey::PrimaryKey) if it exists.
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
    /// # Errors [`StoreError::Conflict`] with
    /// [`UniqueKey::ConsumptionEvent`](super::UniqueKey::ConsumptionEvent) when a consumption with
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
    /// [`Self::consumption_totals`] summed the two ways a usage report shows them: per
    /// period, and per spender, kind, data type and provider over all the periods
    /// ([`ConsumptionSums::of`] the totals, which is what this default does). A store that can
    /// add up both in its statement overrides it, so that a year's report moves a dozen
    /// periods' and a dozen details' sums instead of their cross product. One consistent read,
    /// as the totals.
    ///
    /// # Errors
    /// Driver failures only.
    async fn consumption_sums(
        &mut self,
        org: OrganisationId,
        spender: Option<MemberId>,
        bounds: &[DateTime<Utc>],
    ) -> Result<ConsumptionSums, StoreError> {
        let totals = self.consumption_totals(org, spender, bounds).await?;
        Ok(ConsumptionSums::of(&totals, bounds.len().saturating_sub(1)))
    }
}
