//! Credits (rules 12 to 14): the team overview, allocation and reclaim by admins, consumption
//! (idempotent on the client's event id), and usage reports bucketed in the viewer's zone.

mod allocation;
mod consumption;
mod usage;

use super::common::{acting_admin, integration_member};
use super::{Actor, Context};
use crate::domain::audit::Principal;
use crate::domain::credits::{
    Allocation, ConsumptionDetail, CreditKind, CreditPool, EntryType, LedgerEntry,
};
use crate::domain::member::{Member, Role};
use crate::domain::text::Reason;
use crate::ids::{MemberId, OrganisationId};
use crate::ports::{LedgerCursor, LedgerFilter, Page, StoreError, Tx};

pub(crate) use allocation::reclaim_unspent;
pub use allocation::{AllocateError, AllocationOutcome};
pub use consumption::{ConsumeError, ConsumeInput, ConsumeOutcome};
pub(crate) use usage::monthly_periods;
pub use usage::{
    Bucket, MAX_REPORT_DAYS, MemberUsage, UsagePoint, UsageQuery, UsageReport, UsageReportError,
    UsageScope,
};

/// A pool as the team page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOverview {
    /// The kind.
    pub kind: CreditKind,
    /// Granted and not expired.
    pub total: i64,
    /// Handed to members.
    pub allocated: i64,
    /// Spent, by members and from the pool.
    pub used: i64,
    /// Unallocated and unspent.
    pub headroom: i64,
}

/// One kind of a member's credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    /// The kind.
    pub kind: CreditKind,
    /// Allocated to the member (for an admin: the pool's unallocated credits).
    pub allocated: i64,
    /// Spent.
    pub used: i64,
    /// What can still be spent.
    pub available: i64,
}

/// What the caller can spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyCredits {
    /// True for admins, who spend the team pool's headroom.
    pub spends_from_pool: bool,
    /// One balance per kind.
    pub balances: Vec<Balance>,
}

/// Credits.
#[derive(Debug)]
pub struct CreditService<'a> {
    ctx: &'a Context,
}

impl<'a> CreditService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// The team pools with totals, allocations and use (admins).
    ///
    /// # Errors
    /// [`AccessError`](crate::services::profile::AccessError).
    pub async fn overview(
        &self,
        actor: &Actor,
    ) -> Result<Vec<PoolOverview>, super::profile::AccessError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let admin = acting_admin(tx.as_mut(), actor).await?;
        Ok(pool_overview(tx.as_mut(), admin.org_id).await?)
    }

    /// What the caller can spend, per kind.
    ///
    /// # Errors
    /// Access errors.
    pub async fn my_credits(
        &self,
        actor: &Actor,
    ) -> Result<MyCredits, super::profile::AccessError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let member = integration_member(tx.as_mut(), actor).await?;
        Ok(credits_of(tx.as_mut(), &member).await?)
    }

    /// A page of the organisation's ledger, oldest first (admins).
    ///
    /// # Errors
    /// Access errors.
    pub async fn ledger(
        &self,
        actor: &Actor,
        filter: LedgerFilter,
        page: Page<LedgerCursor>,
    ) -> Result<Vec<LedgerEntry>, super::profile::AccessError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let admin = acting_admin(tx.as_mut(), actor).await?;
        Ok(tx.credits().ledger(admin.org_id, filter, page).await?)
    }
}

/// What `member` can spend, per kind: an admin the pool's unallocated credits, anyone else
/// their allocations.
pub(crate) async fn credits_of(tx: &mut dyn Tx, member: &Member) -> Result<MyCredits, StoreError> {
    if member.role == Role::Admin {
        let pools = tx.credits().pools(member.org_id).await?;
        let balances = pools
            .iter()
            .map(|p| Balance {
                kind: p.kind(),
                allocated: p.total() - p.allocated(),
                used: p.spent_from_pool(),
                available: p.headroom(),
            })
            .collect();
        return Ok(MyCredits { spends_from_pool: true, balances });
    }
    let allocations = tx.credits().allocations_of_member(member.id).await?;
    Ok(MyCredits {
        spends_from_pool: false,
        balances: balances_of(member.id, member.org_id, &allocations),
    })
}

/// Balances of one member for every kind, zeros included.
pub(crate) fn balances_of(
    member: MemberId,
    org: OrganisationId,
    allocations: &[Allocation],
) -> Vec<Balance> {
    CreditKind::ALL
        .into_iter()
        .map(|kind| {
            let a = allocations
                .iter()
                .find(|a| a.kind() == kind)
                .copied()
                .unwrap_or(Allocation::empty(member, org, kind));
            Balance { kind, allocated: a.allocated(), used: a.used(), available: a.available() }
        })
        .collect()
}

/// The pools of an organisation with use summed over members.
pub(crate) async fn pool_overview(
    tx: &mut dyn Tx,
    org: OrganisationId,
) -> Result<Vec<PoolOverview>, StoreError> {
    let pools = tx.credits().pools(org).await?;
    let allocations = tx.credits().allocations_of_org(org).await?;
    Ok(pools
        .iter()
        .map(|p| {
            let member_use: i64 =
                allocations.iter().filter(|a| a.kind() == p.kind()).map(Allocation::used).sum();
            PoolOverview {
                kind: p.kind(),
                total: p.total(),
                allocated: p.allocated(),
                used: p.spent_from_pool() + member_use,
                headroom: p.headroom(),
            }
        })
        .collect())
}

/// Locks a pool; every organisation has one per kind from its creation.
pub(crate) async fn lock_pool(
    tx: &mut dyn Tx,
    org: OrganisationId,
    kind: CreditKind,
) -> Result<CreditPool, StoreError> {
    tx.credits().lock_pool(org, kind).await?.ok_or_else(|| {
        StoreError::Corrupt(format!("organisation {org} has no {} pool", kind.as_str()))
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn ledger_entry(
    ctx: &Context,
    (actor, acting_as): (Principal, Option<MemberId>),
    pool: &CreditPool,
    entry_type: EntryType,
    amount: i64,
    member_id: Option<MemberId>,
    reason: Option<Reason>,
    consumption: Option<ConsumptionDetail>,
) -> LedgerEntry {
    LedgerEntry {
        id: ctx.new_id(),
        org_id: pool.org_id(),
        kind: pool.kind(),
        entry_type,
        amount,
        member_id,
        actor,
        acting_as,
        at: ctx.now(),
        reason,
        consumption,
    }
}
