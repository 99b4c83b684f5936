//! Credits (rules 12 to 14): kinds, amounts, the organisation's pool per kind, members'
//! allocations, and the append-only ledger whose sums every balance equals.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::audit::Principal;
use super::text::{DataType, EventId, Provider, Reason};
use crate::ids::{LedgerEntryId, MemberId, OrganisationId};

/// A kind of credit. Each organisation has one pool per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditKind {
    /// Export credits.
    Export,
    /// Direct-dial credits.
    DirectDial,
    /// Calling credits.
    CallingCredits,
    /// Calling minutes.
    CallingMinutes,
}

impl CreditKind {
    /// Every kind, in display order.
    pub const ALL: [Self; 4] =
        [Self::Export, Self::DirectDial, Self::CallingCredits, Self::CallingMinutes];

    /// Stable name, as stored and as shown in the API.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Export => "export",
            Self::DirectDial => "direct_dial",
            Self::CallingCredits => "calling_credits",
            Self::CallingMinutes => "calling_minutes",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Why a number is not a credit amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CreditAmountError {
    /// Zero or negative.
    #[error("must be a whole number of at least 1")]
    NotPositive,
    /// Absurdly large.
    #[error("must be at most {max}")]
    TooLarge {
        /// The limit.
        max: i64,
    },
}

/// A positive amount of credits, at most one billion per operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct CreditAmount(i64);

impl CreditAmount {
    /// Largest amount moved by one operation.
    pub const MAX: i64 = 1_000_000_000;

    /// Checks an amount.
    ///
    /// # Errors
    /// [`CreditAmountError`] when it is not in `1..=MAX`.
    pub fn new(amount: i64) -> Result<Self, CreditAmountError> {
        if amount < 1 {
            Err(CreditAmountError::NotPositive)
        } else if amount > Self::MAX {
            Err(CreditAmountError::TooLarge { max: Self::MAX })
        } else {
            Ok(Self(amount))
        }
    }

    /// The amount.
    #[must_use]
    pub const fn get(self) -> i64 {
        self.0
    }
}

/// Not enough credits for a move; says how many there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("only {available} credits are available")]
pub struct Shortfall {
    /// What there is to take from: the pool's headroom, or the allocation's unspent credits.
    pub available: i64,
}

/// An organisation's pool of one kind. Every field equals a sum over the ledger:
/// `total = Σ grant − Σ expire`, `allocated = Σ allocate − Σ reclaim`,
/// `spent_from_pool = Σ consume by admins`. The fields change only through the moves below,
/// each of which checks its own rule, so the headroom can never become negative (rule 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditPool {
    org_id: OrganisationId,
    kind: CreditKind,
    total: i64,
    allocated: i64,
    spent_from_pool: i64,
}

impl CreditPool {
    /// An empty pool.
    #[must_use]
    pub const fn empty(org_id: OrganisationId, kind: CreditKind) -> Self {
        Self { org_id, kind, total: 0, allocated: 0, spent_from_pool: 0 }
    }

    /// A pool as a store kept it.
    #[must_use]
    pub const fn restore(
        org_id: OrganisationId,
        kind: CreditKind,
        total: i64,
        allocated: i64,
        spent_from_pool: i64,
    ) -> Self {
        Self { org_id, kind, total, allocated, spent_from_pool }
    }

    /// The organisation.
    #[must_use]
    pub const fn org_id(&self) -> OrganisationId {
        self.org_id
    }

    /// The kind.
    #[must_use]
    pub const fn kind(&self) -> CreditKind {
        self.kind
    }

    /// Granted and not expired.
    #[must_use]
    pub const fn total(&self) -> i64 {
        self.total
    }

    /// Handed to members (spent or not).
    #[must_use]
    pub const fn allocated(&self) -> i64 {
        self.allocated
    }

    /// Spent directly from the pool by admins.
    #[must_use]
    pub const fn spent_from_pool(&self) -> i64 {
        self.spent_from_pool
    }

    /// What can still be allocated or spent by an admin: never negative.
    #[must_use]
    pub const fn headroom(&self) -> i64 {
        self.total - self.allocated - self.spent_from_pool
    }

    /// Rule 12: hands `amount` of the unallocated headroom to `allocation`. Refused, changing
    /// nothing, when the headroom is smaller.
    ///
    /// # Errors
    /// [`Shortfall`] with the headroom.
    pub fn allocate(
        &mut self,
        allocation: &mut Allocation,
        amount: CreditAmount,
    ) -> Result<(), Shortfall> {
        let n = amount.get();
        if self.headroom() < n {
            return Err(Shortfall { available: self.headroom() });
        }
        self.allocated += n;
        allocation.allocated += n;
        Ok(())
    }

    /// Takes `amount` of the allocation's unspent credits back into the pool. Refused,
    /// changing nothing, when it has fewer unspent.
    ///
    /// # Errors
    /// [`Shortfall`] with the allocation's unspent credits.
    pub fn reclaim(
        &mut self,
        allocation: &mut Allocation,
        amount: CreditAmount,
    ) -> Result<(), Shortfall> {
        let n = amount.get();
        if allocation.available() < n {
            return Err(Shortfall { available: allocation.available() });
        }
        self.allocated -= n;
        allocation.allocated -= n;
        Ok(())
    }

    /// Takes every unspent credit of `allocation` back into the pool (rules 11 and 12: an
    /// erased member, or a sub-user made admin, keeps none); returns how many came back.
    pub fn reclaim_unspent(&mut self, allocation: &mut Allocation) -> Option<CreditAmount> {
        let unspent = CreditAmount::new(allocation.available()).ok()?;
        self.reclaim(allocation, unspent).ok()?;
        Some(unspent)
    }

    /// An admin spends `amount` of the headroom (rule 13). Refused when it is smaller.
    ///
    /// # Errors
    /// [`Shortfall`] with the headroom.
    pub fn spend(&mut self, amount: CreditAmount) -> Result<(), Shortfall> {
        let n = amount.get();
        if self.headroom() < n {
            return Err(Shortfall { available: self.headroom() });
        }
        self.spent_from_pool += n;
        Ok(())
    }

    /// Adds `amount` to the pool (billing's effect, through support).
    pub fn grant(&mut self, amount: CreditAmount) {
        self.total = self.total.saturating_add(amount.get());
    }

    /// Removes `amount` of unallocated credits from the pool. Refused when the headroom is
    /// smaller: allocated or spent credits never expire from under a member.
    ///
    /// # Errors
    /// [`Shortfall`] with the headroom.
    pub fn expire(&mut self, amount: CreditAmount) -> Result<(), Shortfall> {
        let n = amount.get();
        if self.headroom() < n {
            return Err(Shortfall { available: self.headroom() });
        }
        self.total -= n;
        Ok(())
    }
}

/// What one member holds of one kind: `allocated = Σ allocate − Σ reclaim` and
/// `used = Σ consume` for that member. It grows and shrinks only through the pool's moves
/// ([`CreditPool::allocate`], [`CreditPool::reclaim`]) and [`Allocation::spend`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    member_id: MemberId,
    org_id: OrganisationId,
    kind: CreditKind,
    allocated: i64,
    used: i64,
}

impl Allocation {
    /// A member's empty allocation.
    #[must_use]
    pub const fn empty(member_id: MemberId, org_id: OrganisationId, kind: CreditKind) -> Self {
        Self { member_id, org_id, kind, allocated: 0, used: 0 }
    }

    /// An allocation as a store kept it.
    #[must_use]
    pub const fn restore(
        member_id: MemberId,
        org_id: OrganisationId,
        kind: CreditKind,
        allocated: i64,
        used: i64,
    ) -> Self {
        Self { member_id, org_id, kind, allocated, used }
    }

    /// The member.
    #[must_use]
    pub const fn member_id(&self) -> MemberId {
        self.member_id
    }

    /// Their organisation.
    #[must_use]
    pub const fn org_id(&self) -> OrganisationId {
        self.org_id
    }

    /// The kind.
    #[must_use]
    pub const fn kind(&self) -> CreditKind {
        self.kind
    }

    /// Allocated to them, net of reclaims.
    #[must_use]
    pub const fn allocated(&self) -> i64 {
        self.allocated
    }

    /// Spent by them.
    #[must_use]
    pub const fn used(&self) -> i64 {
        self.used
    }

    /// Allocated and not yet spent.
    #[must_use]
    pub const fn available(&self) -> i64 {
        self.allocated - self.used
    }

    /// The member spends `amount` of their unspent credits (rule 13). Refused when they
    /// have fewer.
    ///
    /// # Errors
    /// [`Shortfall`] with the unspent credits.
    pub fn spend(&mut self, amount: CreditAmount) -> Result<(), Shortfall> {
        let n = amount.get();
        if self.available() < n {
            return Err(Shortfall { available: self.available() });
        }
        self.used += n;
        Ok(())
    }
}

/// What a ledger entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    /// Credits added to the pool (operator, billing).
    Grant,
    /// Pool headroom handed to a member.
    Allocate,
    /// A member's unspent credits taken back into the pool.
    Reclaim,
    /// Credits spent (by a member from their allocation, or by an admin from the pool).
    Consume,
    /// Unallocated credits removed from the pool (operator, billing).
    Expire,
}

impl EntryType {
    /// Stable name, as stored and as shown in the API.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Grant => "grant",
            Self::Allocate => "allocate",
            Self::Reclaim => "reclaim",
            Self::Consume => "consume",
            Self::Expire => "expire",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Grant, Self::Allocate, Self::Reclaim, Self::Consume, Self::Expire]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// What a consumption was for (rule 13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsumptionDetail {
    /// Data type (email, phone number, direct dial, export, call minute…).
    pub data_type: DataType,
    /// Provider.
    pub provider: Provider,
    /// The client's event id; a second consumption with the same id is the same consumption.
    pub event_id: EventId,
}

/// One append-only ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Its id.
    pub id: LedgerEntryId,
    /// The organisation.
    pub org_id: OrganisationId,
    /// The kind.
    pub kind: CreditKind,
    /// What it did.
    pub entry_type: EntryType,
    /// How much (always positive; the type gives the direction).
    pub amount: i64,
    /// The member whose allocation moved or was spent; `None` for pool-level entries (grant,
    /// expire, and an admin spending from the pool, whose `actor` names them). After the member
    /// deletes their account the id no longer leads to any personal data.
    pub member_id: Option<MemberId>,
    /// Who did it (the admin, when impersonating).
    pub actor: Principal,
    /// Whom the actor was acting as, when impersonating.
    pub acting_as: Option<MemberId>,
    /// When.
    pub at: DateTime<Utc>,
    /// Why (optional for consumption).
    pub reason: Option<Reason>,
    /// Consumption details, for `Consume` entries.
    pub consumption: Option<ConsumptionDetail>,
}

/// Consumption summed over one period of a usage report, for one spender, kind, data type
/// and provider (see `CreditRepo::consumption_totals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumptionTotal {
    /// The period: the index `i` of `[bounds[i], bounds[i + 1])` in the bounds asked for.
    pub period: usize,
    /// Who spent (as in [`ConsumptionRecord::spender`]).
    pub spender: Option<MemberId>,
    /// The kind.
    pub kind: CreditKind,
    /// Data type.
    pub data_type: DataType,
    /// Provider.
    pub provider: Provider,
    /// The sum of the amounts.
    pub amount: i64,
}

/// Consumption over the periods of a usage report, summed the two ways the report shows it:
/// per period (its series), and per spender, kind, data type and provider over all the
/// periods (its breakdowns). A year's report by month of one member is a dozen periods and a
/// dozen details, where [`ConsumptionTotal`]s are their cross product (see
/// `CreditRepo::consumption_sums`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsumptionSums {
    /// Entry `i` sums period `i` (`[bounds[i], bounds[i + 1])`); one entry per period, zeros
    /// included.
    pub per_period: Vec<i64>,
    /// Per spender, kind, data type and provider, over every period; none that sums to zero,
    /// sorted by spender, kind, data type and provider.
    pub per_detail: Vec<ConsumptionSum>,
}

/// Consumption of one spender, kind, data type and provider, summed over a usage report's
/// periods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumptionSum {
    /// Who spent (as in [`ConsumptionRecord::spender`]).
    pub spender: Option<MemberId>,
    /// The kind.
    pub kind: CreditKind,
    /// Data type.
    pub data_type: DataType,
    /// Provider.
    pub provider: Provider,
    /// The sum of the amounts.
    pub amount: i64,
}

impl ConsumptionSum {
    /// The order [`ConsumptionSums::per_detail`] is in.
    fn key(&self) -> (Option<MemberId>, CreditKind, &str, &str) {
        (self.spender, self.kind, self.data_type.as_str(), self.provider.as_str())
    }
}

impl ConsumptionSums {
    /// The sums of `totals`, over `periods` periods: what `CreditRepo::consumption_sums`
    /// answers, whichever way a store adds up. Totals of a period outside `0..periods` count
    /// in no period and in no detail.
    #[must_use]
    pub fn of(totals: &[ConsumptionTotal], periods: usize) -> Self {
        let mut per_period = vec![0; periods];
        let mut details: std::collections::BTreeMap<_, ConsumptionSum> =
            std::collections::BTreeMap::new();
        for t in totals {
            let Some(slot) = per_period.get_mut(t.period) else { continue };
            *slot += t.amount;
            let key = (t.spender, t.kind, t.data_type.as_str(), t.provider.as_str());
            details
                .entry(key)
                .or_insert_with(|| ConsumptionSum {
                    spender: t.spender,
                    kind: t.kind,
                    data_type: t.data_type.clone(),
                    provider: t.provider.clone(),
                    amount: 0,
                })
                .amount += t.amount;
        }
        let per_detail = details.into_values().filter(|d| d.amount != 0).collect();
        Self { per_period, per_detail }
    }

    /// `per_detail` put in its order (spender, kind, data type, provider), for stores that
    /// add up in an order of their own.
    #[must_use]
    pub fn sorted(mut self) -> Self {
        self.per_detail.sort_by(|a, b| a.key().cmp(&b.key()));
        self
    }

    /// Every period's sum added up.
    #[must_use]
    pub fn total(&self) -> i64 {
        self.per_period.iter().sum()
    }
}

/// A consumption as the usage report reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumptionRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// Who spent: the member whose allocation was spent, or the admin who spent from the
    /// pool. `None` only when the spender was not a member (never, today).
    pub spender: Option<MemberId>,
    /// True when spent from the pool (by an admin) rather than from an allocation.
    pub from_pool: bool,
    /// The kind.
    pub kind: CreditKind,
    /// How much.
    pub amount: i64,
    /// Data type.
    pub data_type: DataType,
    /// Provider.
    pub provider: Provider,
}
