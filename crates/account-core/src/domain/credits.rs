//! Credits (rules 12 to 14): kinds, amounts, the organisation's pool per kind, members'
//! allocations, and the append-only ledger whose sums every balance equals.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::Principal;
use super::text::{DataType, EventId, Provider, Reason};
use crate::ids::{LedgerEntryId, MemberId, OrganisationId};

/// A kind of credit. Each organisation has one pool per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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

/// An organisation's pool of one kind. Every field equals a sum over the ledger:
/// `total = Σ grant − Σ expire`, `allocated = Σ allocate − Σ reclaim`,
/// `spent_from_pool = Σ consume by admins`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CreditPool {
    /// The organisation.
    pub org_id: OrganisationId,
    /// The kind.
    pub kind: CreditKind,
    /// Granted and not expired.
    pub total: i64,
    /// Handed to members (spent or not).
    pub allocated: i64,
    /// Spent directly from the pool by admins.
    pub spent_from_pool: i64,
}

impl CreditPool {
    /// An empty pool.
    #[must_use]
    pub const fn empty(org_id: OrganisationId, kind: CreditKind) -> Self {
        Self { org_id, kind, total: 0, allocated: 0, spent_from_pool: 0 }
    }

    /// What can still be allocated or spent by an admin: never negative.
    #[must_use]
    pub const fn headroom(&self) -> i64 {
        self.total - self.allocated - self.spent_from_pool
    }
}

/// What one member holds of one kind: `allocated = Σ allocate − Σ reclaim` and
/// `used = Σ consume` for that member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Allocation {
    /// The member.
    pub member_id: MemberId,
    /// Their organisation.
    pub org_id: OrganisationId,
    /// The kind.
    pub kind: CreditKind,
    /// Allocated to them, net of reclaims.
    pub allocated: i64,
    /// Spent by them.
    pub used: i64,
}

impl Allocation {
    /// A member's empty allocation.
    #[must_use]
    pub const fn empty(member_id: MemberId, org_id: OrganisationId, kind: CreditKind) -> Self {
        Self { member_id, org_id, kind, allocated: 0, used: 0 }
    }

    /// Allocated and not yet spent.
    #[must_use]
    pub const fn available(&self) -> i64 {
        self.allocated - self.used
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
