//! Credits (rules 12 to 14): the team overview, allocation and reclaim by admins, consumption
//! (idempotent on the client's event id), and usage reports bucketed in the viewer's zone.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::auth::Authenticated;
use super::common::{
    Denied, Failure, acting_admin, integration_member, lock_members, locked_admin, member_of_org,
    op_error, session_only,
};
use super::idempotency::{Keyed, Scope};
use super::{Actor, Context, templates};
use crate::domain::audit::{AuditAction, AuditTarget, Principal};
use crate::domain::credits::{
    Allocation, ConsumptionDetail, ConsumptionTotal, CreditAmount, CreditKind, CreditPool,
    EntryType, LedgerEntry,
};
use crate::domain::idempotency::{IdempotencyKey, KeyConflict, Outcome};
use crate::domain::mail::MailKind;
use crate::domain::member::{Member, MemberStatus, Role};
use crate::domain::text::{DataType, EventId, Provider, Reason};
use crate::domain::timezone::Timezone;
use crate::error::{InternalError, ValidationErrors};
use crate::ids::{LedgerEntryId, MemberId, OrganisationId};
use crate::ports::{LedgerCursor, LedgerFilter, Page, StoreError, Tx, UniqueKey};

/// Longest period a usage report covers.
pub const MAX_REPORT_DAYS: i64 = 731;

/// Allocating or reclaiming failed.
#[derive(Debug, thiserror::Error)]
pub enum AllocateError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// No such member in the caller's organisation.
    #[error("no such member in your organisation")]
    MemberNotFound,
    /// Admins spend from the pool directly; only sub-users hold allocations.
    #[error("admins spend from the team pool directly; allocate to sub-users only")]
    TargetIsAdmin,
    /// The member is disabled: re-enable them first.
    #[error("the member is disabled; re-enable them before allocating")]
    TargetDisabled,
    /// The pool's unallocated headroom is smaller than the amount (rule 12).
    #[error("only {available} {kind} credits are unallocated in the team pool", kind = .kind.as_str())]
    InsufficientHeadroom {
        /// The kind.
        kind: CreditKind,
        /// What is left to allocate.
        available: i64,
    },
    /// The member has fewer unspent credits than the amount to reclaim.
    #[error("the member has only {available} unspent {kind} credits", kind = .kind.as_str())]
    InsufficientUnspent {
        /// The kind.
        kind: CreditKind,
        /// What the member has unspent.
        available: i64,
    },
    /// The Idempotency-Key cannot be used for this request.
    #[error(transparent)]
    IdempotencyKey(KeyConflict),
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(AllocateError);

impl From<KeyConflict> for AllocateError {
    fn from(e: KeyConflict) -> Self {
        Self::IdempotencyKey(e)
    }
}

/// Recording a consumption failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// Not enough credits: the member's unspent allocation, or for an admin the pool's headroom.
    #[error("only {available} {kind} credits are available", kind = .kind.as_str())]
    InsufficientCredits {
        /// The kind.
        kind: CreditKind,
        /// What is available.
        available: i64,
    },
    /// The event id was used before for a different consumption.
    #[error("this event id was already used for a different consumption")]
    EventIdReused,
    /// Another request with the same event id is being recorded right now; retry.
    #[error("a consumption with this event id is being recorded; retry to get its result")]
    EventIdInFlight,
    /// The Idempotency-Key cannot be used for this request.
    #[error(transparent)]
    IdempotencyKey(KeyConflict),
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(ConsumeError);

impl From<KeyConflict> for ConsumeError {
    fn from(e: KeyConflict) -> Self {
        Self::IdempotencyKey(e)
    }
}

/// Building a usage report failed.
#[derive(Debug, thiserror::Error)]
pub enum UsageReportError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// No such member in the caller's organisation.
    #[error("no such member in your organisation")]
    MemberNotFound,
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(UsageReportError);

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

/// The result of an allocation or reclaim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationOutcome {
    /// The member's allocation afterwards.
    pub allocation: Allocation,
    /// The pool afterwards.
    pub pool: CreditPool,
    /// The ledger entry written.
    pub entry_id: LedgerEntryId,
    /// True when this is the replay of an earlier call with the same Idempotency-Key.
    pub replayed: bool,
}

/// A consumption to record (rule 13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeInput {
    /// Kind, as its stable name.
    pub kind: String,
    /// Amount.
    pub amount: i64,
    /// Data type (email, phone_number, direct_dial, export, call_minute…).
    pub data_type: String,
    /// Provider.
    pub provider: String,
    /// The client's event id.
    pub event_id: String,
}

/// The recorded consumption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeOutcome {
    /// The ledger entry.
    pub entry: LedgerEntry,
    /// True when the event id (or the Idempotency-Key) was recorded before and this is that
    /// same consumption.
    pub replayed: bool,
    /// What the spender has left of that kind afterwards (as of this call).
    pub available: i64,
}

/// Report granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Local days.
    Day,
    /// ISO weeks, Monday to Sunday, named by their Monday.
    Week,
    /// Calendar months, named by their first day.
    Month,
}

/// Whose usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageScope {
    /// The caller's own.
    Own,
    /// The whole team, with a per-member breakdown (admins).
    Team,
    /// One member (admins; anyone for themselves).
    Member(MemberId),
}

/// A usage report request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    /// Whose usage.
    pub scope: UsageScope,
    /// First local day, inclusive.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// Granularity.
    pub bucket: Bucket,
    /// An IANA zone overriding the viewer's preference.
    pub timezone: Option<String>,
}

/// One bucket of the series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagePoint {
    /// First local day of the bucket.
    pub start: NaiveDate,
    /// Credits spent in it.
    pub total: i64,
}

/// One member's share of a team report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberUsage {
    /// The member (`None` if the spender was not a member).
    pub member_id: Option<MemberId>,
    /// Their display name; `None` once they deleted their account.
    pub name: Option<String>,
    /// Credits they spent.
    pub total: i64,
    /// Per data type.
    pub by_data_type: Vec<(DataType, i64)>,
}

/// A usage report (rule 14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    /// First local day.
    pub from: NaiveDate,
    /// Last local day.
    pub to: NaiveDate,
    /// The zone days are counted in.
    pub timezone: Timezone,
    /// Granularity.
    pub bucket: Bucket,
    /// Credits spent in the period.
    pub total: i64,
    /// Per kind.
    pub by_kind: Vec<(CreditKind, i64)>,
    /// Per data type.
    pub by_data_type: Vec<(DataType, i64)>,
    /// Per provider.
    pub by_provider: Vec<(Provider, i64)>,
    /// Every bucket of the period, zeros included.
    pub series: Vec<UsagePoint>,
    /// Per member, for team reports; empty otherwise.
    pub members: Vec<MemberUsage>,
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
    /// [`Denied`] through [`AllocateError::Denied`]-like access errors.
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

    /// Hands `amount` of the pool's headroom to a sub-user (rule 12). Never overdraws the
    /// pool, even under concurrent calls: the pool row is locked before the check. With an
    /// idempotency key, a retry of the same request replays the first outcome.
    ///
    /// # Errors
    /// [`AllocateError`].
    pub async fn allocate(
        &self,
        actor: &Actor,
        member: MemberId,
        kind: CreditKind,
        amount: i64,
        reason: Option<&str>,
        key: Option<&IdempotencyKey>,
    ) -> Result<AllocationOutcome, AllocateError> {
        self.move_credits(actor, (member, kind, amount, reason), key, EntryType::Allocate).await
    }

    /// Takes back `amount` of a member's unspent allocation into the pool. With an
    /// idempotency key, a retry of the same request replays the first outcome.
    ///
    /// # Errors
    /// [`AllocateError`].
    pub async fn reclaim(
        &self,
        actor: &Actor,
        member: MemberId,
        kind: CreditKind,
        amount: i64,
        reason: Option<&str>,
        key: Option<&IdempotencyKey>,
    ) -> Result<AllocationOutcome, AllocateError> {
        self.move_credits(actor, (member, kind, amount, reason), key, EntryType::Reclaim).await
    }

    async fn move_credits(
        &self,
        actor: &Actor,
        (member_id, kind, amount, reason): (MemberId, CreditKind, i64, Option<&str>),
        key: Option<&IdempotencyKey>,
        entry_type: EntryType,
    ) -> Result<AllocationOutcome, AllocateError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let mut e = ValidationErrors::new();
        let amount = e.check("amount", CreditAmount::new(amount));
        let reason =
            e.check_opt("reason", reason.filter(|r| !r.trim().is_empty()).map(Reason::parse));
        let (Some(amount), Some(reason)) = (amount, reason) else {
            return Err(AllocateError::Validation(e));
        };
        let operation = match entry_type {
            EntryType::Allocate => "allocateCredits",
            _ => "reclaimCredits",
        };
        let keyed = ctx.keyed(
            key,
            Scope::Member(actor.member(), operation),
            &[
                &member_id.to_string(),
                kind.as_str(),
                &amount.get().to_string(),
                reason.as_ref().map_or("", Reason::as_str),
            ],
        );
        let mut tx = ctx.ports.store.write().await?;
        // Lock order: the key, the members (the admin and the target), the pool, the
        // allocation.
        if let Some(keyed) = &keyed
            && let Some(outcome) = ctx.reserve::<AllocateError>(tx.as_mut(), keyed).await?
        {
            let Outcome::CreditsMoved { allocation, pool, entry } = outcome else {
                return Err(KeyConflict::Reused.into());
            };
            return Ok(AllocationOutcome { allocation, pool, entry_id: entry, replayed: true });
        }
        let locked = locked_admin(tx.as_mut(), actor, &[member_id]).await?;
        let target = locked.member(member_id).ok_or(AllocateError::MemberNotFound)?;
        if target.role == Role::Admin {
            return Err(AllocateError::TargetIsAdmin);
        }
        if entry_type == EntryType::Allocate && target.status != MemberStatus::Enabled {
            return Err(AllocateError::TargetDisabled);
        }
        let org = locked.actor.org_id;
        let mut pool = lock_pool(tx.as_mut(), org, kind).await?;
        let mut allocation = tx
            .credits()
            .lock_allocation(member_id, kind)
            .await?
            .unwrap_or(Allocation::empty(member_id, org, kind));
        let n = amount.get();
        if entry_type == EntryType::Allocate {
            pool.allocate(&mut allocation, amount).map_err(|short| {
                AllocateError::InsufficientHeadroom { kind, available: short.available }
            })?;
        } else {
            pool.reclaim(&mut allocation, amount).map_err(|short| {
                AllocateError::InsufficientUnspent { kind, available: short.available }
            })?;
        }
        tx.credits().update_pool(&pool).await?;
        tx.credits().put_allocation(&allocation).await?;
        let entry = ledger_entry(
            ctx,
            (actor.principal(), actor.acting_as()),
            &pool,
            entry_type,
            n,
            Some(member_id),
            reason,
            None,
        );
        tx.credits().append(&entry).await?;
        let action = if entry_type == EntryType::Allocate {
            AuditAction::CreditsAllocated
        } else {
            AuditAction::CreditsReclaimed
        };
        ctx.audit_by(
            tx.as_mut(),
            actor,
            action,
            AuditTarget::Member(member_id),
            format!("kind={} amount={n}", kind.as_str()),
        )
        .await?;
        let outcome = Outcome::CreditsMoved { allocation, pool, entry: entry.id };
        ctx.complete(tx.as_mut(), keyed.as_ref(), &outcome).await?;
        tx.commit().await?;
        Ok(AllocationOutcome { allocation, pool, entry_id: entry.id, replayed: false })
    }

    /// Records a consumption (rule 13): a sub-user spends their allocation, an admin the
    /// pool's headroom. The same event id with the same content returns the first record; with
    /// other content it is refused. With an idempotency key, a retry of the same request
    /// replays the first outcome.
    ///
    /// # Errors
    /// [`ConsumeError`].
    pub async fn consume(
        &self,
        actor: &Actor,
        input: &ConsumeInput,
        key: Option<&IdempotencyKey>,
    ) -> Result<ConsumeOutcome, ConsumeError> {
        let ctx = self.ctx;
        let mut e = ValidationErrors::new();
        let kind = CreditKind::parse(&input.kind);
        if kind.is_none() {
            e.push("kind", "must be one of export, direct_dial, calling_credits, calling_minutes");
        }
        let amount = e.check("amount", CreditAmount::new(input.amount));
        let data_type = e.check("data_type", DataType::parse(&input.data_type));
        let provider = e.check("provider", Provider::parse(&input.provider));
        let event_id = e.check("event_id", EventId::parse(&input.event_id));
        let (Some(kind), Some(amount), Some(data_type), Some(provider), Some(event_id)) =
            (kind, amount, data_type, provider, event_id)
        else {
            return Err(ConsumeError::Validation(e));
        };
        let detail = ConsumptionDetail { data_type, provider, event_id };
        let keyed = ctx.keyed(
            key,
            Scope::Member(actor.member(), "recordConsumption"),
            &[
                kind.as_str(),
                &amount.get().to_string(),
                detail.data_type.as_str(),
                detail.provider.as_str(),
                detail.event_id.as_str(),
            ],
        );
        match self.consume_once(actor, kind, amount, &detail, keyed.as_ref()).await {
            // Another unit recorded the event id while this one ran (PostgreSQL: this
            // unit's insert waited for it): run again, which replays that consumption.
            Err(ConsumeError::EventIdInFlight) => {
                self.consume_once(actor, kind, amount, &detail, keyed.as_ref()).await
            }
            other => other,
        }
    }

    async fn consume_once(
        &self,
        actor: &Actor,
        kind: CreditKind,
        amount: CreditAmount,
        detail: &ConsumptionDetail,
        keyed: Option<&Keyed>,
    ) -> Result<ConsumeOutcome, ConsumeError> {
        let ctx = self.ctx;
        let n = amount.get();
        let mut tx = ctx.ports.store.write().await?;
        // Lock order: the key, the member, then the pool (an admin) or their allocation (a
        // sub-user).
        if let Some(keyed) = keyed
            && let Some(outcome) = ctx.reserve::<ConsumeError>(tx.as_mut(), keyed).await?
        {
            let Outcome::Consumed { entry, available } = outcome else {
                return Err(KeyConflict::Reused.into());
            };
            let entry = tx.credits().entry(actor.org(), entry).await?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the consumption {entry} of an idempotency key is gone"
                ))
            })?;
            return Ok(ConsumeOutcome { entry, replayed: true, available });
        }
        let member = lock_members(tx.as_mut(), actor, &[]).await?.actor;
        let from_pool = member.role == Role::Admin;
        if let Some(previous) =
            tx.credits().find_consumption(member.org_id, &detail.event_id).await?
        {
            let same_spender = if from_pool {
                previous.member_id.is_none() && previous.actor.member() == Some(member.id)
            } else {
                previous.member_id == Some(member.id)
            };
            let same = same_spender
                && previous.kind == kind
                && previous.amount == n
                && previous.consumption.as_ref() == Some(detail);
            if !same {
                return Err(ConsumeError::EventIdReused);
            }
            let available = available_to(tx.as_mut(), &member, kind).await?;
            return Ok(ConsumeOutcome { entry: previous, replayed: true, available });
        }
        let (pool, available_after, alert) = if from_pool {
            let mut pool = lock_pool(tx.as_mut(), member.org_id, kind).await?;
            pool.spend(amount).map_err(|short| ConsumeError::InsufficientCredits {
                kind,
                available: short.available,
            })?;
            tx.credits().update_pool(&pool).await?;
            (pool, pool.headroom(), false)
        } else {
            let mut allocation = tx
                .credits()
                .lock_allocation(member.id, kind)
                .await?
                .unwrap_or(Allocation::empty(member.id, member.org_id, kind));
            let before = allocation.available();
            allocation.spend(amount).map_err(|short| ConsumeError::InsufficientCredits {
                kind,
                available: short.available,
            })?;
            tx.credits().put_allocation(&allocation).await?;
            let threshold = allocation.allocated() / 10;
            let alert = before >= threshold && allocation.available() < threshold;
            (CreditPool::empty(member.org_id, kind), allocation.available(), alert)
        };
        let spender = if from_pool { None } else { Some(member.id) };
        let entry = ledger_entry(
            ctx,
            (actor.principal(), actor.acting_as()),
            &pool,
            EntryType::Consume,
            n,
            spender,
            None,
            Some(detail.clone()),
        );
        match tx.credits().append(&entry).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueKey::ConsumptionEvent)) => {
                return Err(ConsumeError::EventIdInFlight);
            }
            Err(other) => return Err(other.into()),
        }
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::CreditsConsumed,
            AuditTarget::CreditPool(kind),
            format!("kind={} amount={n} entry={}", kind.as_str(), entry.id),
        )
        .await?;
        if alert && member.preferences.notifications.low_credit_alerts {
            let text = format!(
                "You have {available_after} {} credits left, less than a tenth of what was \
                 allocated to you. Ask your admin for more.",
                kind.as_str()
            );
            let mail = templates::notice(
                &ctx.settings,
                &member.email,
                "Your credits are running low",
                &text,
            );
            ctx.send_mail(tx.as_mut(), MailKind::LowCredits, &mail).await?;
        }
        let outcome = Outcome::Consumed { entry: entry.id, available: available_after };
        ctx.complete(tx.as_mut(), keyed, &outcome).await?;
        tx.commit().await?;
        Ok(ConsumeOutcome { entry, replayed: false, available: available_after })
    }

    /// A usage report (rule 14): admins see the team, each member, and themselves; others
    /// only themselves. Days are counted in the viewer's time zone unless one is given.
    ///
    /// # Errors
    /// [`UsageReportError`].
    pub async fn usage_report(
        &self,
        actor: &Actor,
        query: &UsageQuery,
    ) -> Result<UsageReport, UsageReportError> {
        // The sums are one consistent read by themselves; the rest are lookups by key.
        let mut tx = self.ctx.ports.store.lookup().await?;
        let viewer = integration_member(tx.as_mut(), actor).await?;
        report_for(tx.as_mut(), &viewer, query).await
    }

    /// [`Self::usage_report`] for a session's caller, with the member authentication read
    /// and checked: the viewer is not read again, so a report of one's own usage is the sums'
    /// statement alone.
    ///
    /// # Errors
    /// [`UsageReportError`].
    pub async fn session_usage_report(
        &self,
        auth: &Authenticated,
        query: &UsageQuery,
    ) -> Result<UsageReport, UsageReportError> {
        let mut tx = self.ctx.ports.store.lookup().await?;
        report_for(tx.as_mut(), auth.member(), query).await
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

/// The usage report `viewer` asks for (rule 14), read on `tx`.
async fn report_for(
    tx: &mut dyn Tx,
    viewer: &Member,
    query: &UsageQuery,
) -> Result<UsageReport, UsageReportError> {
    let mut e = ValidationErrors::new();
    let timezone = match &query.timezone {
        Some(tz) => e.check("timezone", Timezone::parse(tz)),
        None => Some(viewer.preferences.timezone),
    };
    if query.to < query.from {
        e.push("to", "must not be before from");
    } else if (query.to - query.from).num_days() >= MAX_REPORT_DAYS {
        e.push("to", format!("the period must be at most {MAX_REPORT_DAYS} days"));
    }
    let Some(timezone) = timezone.filter(|_| e.is_empty()) else {
        return Err(UsageReportError::Validation(e));
    };
    let spender = match query.scope {
        UsageScope::Own => Some(viewer.id),
        UsageScope::Member(id) if id == viewer.id => Some(viewer.id),
        UsageScope::Team | UsageScope::Member(_) if viewer.role != Role::Admin => {
            return Err(Denied::NotAdmin.into());
        }
        UsageScope::Team => None,
        UsageScope::Member(id) => {
            member_of_org(tx, viewer.org_id, id).await?.ok_or(UsageReportError::MemberNotFound)?;
            Some(id)
        }
    };
    let starts = series_starts(query);
    let bounds = series_bounds(query, timezone, &starts);
    let totals = tx.credits().consumption_totals(viewer.org_id, spender, &bounds).await?;
    let mut report = build_report(query, timezone, &starts, &totals);
    if query.scope == UsageScope::Team {
        report.members = member_breakdown(tx, &totals).await?;
    }
    Ok(report)
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

async fn available_to(
    tx: &mut dyn Tx,
    member: &Member,
    kind: CreditKind,
) -> Result<i64, StoreError> {
    if member.role == Role::Admin {
        let pools = tx.credits().pools(member.org_id).await?;
        Ok(pools.iter().find(|p| p.kind() == kind).map_or(0, CreditPool::headroom))
    } else {
        let allocations = tx.credits().allocations_of_member(member.id).await?;
        Ok(allocations.iter().find(|a| a.kind() == kind).map_or(0, Allocation::available))
    }
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

/// Returns a member's unspent allocations to the pool (account deletion, promotion to
/// admin). For each kind in order, locks the pool and then the allocation: the domain's lock
/// order (the caller holds the member's lock already).
pub(crate) async fn reclaim_unspent(
    ctx: &Context,
    tx: &mut dyn Tx,
    actor: &Actor,
    member: &Member,
    reason: Option<Reason>,
) -> Result<(), Failure> {
    for kind in CreditKind::ALL {
        let mut pool = lock_pool(tx, member.org_id, kind).await?;
        let Some(mut allocation) = tx.credits().lock_allocation(member.id, kind).await? else {
            continue;
        };
        let Some(unspent) = pool.reclaim_unspent(&mut allocation) else { continue };
        tx.credits().update_pool(&pool).await?;
        tx.credits().put_allocation(&allocation).await?;
        let entry = ledger_entry(
            ctx,
            (actor.principal(), actor.acting_as()),
            &pool,
            EntryType::Reclaim,
            unspent.get(),
            Some(member.id),
            reason.clone(),
            None,
        );
        tx.credits().append(&entry).await?;
        ctx.audit_by(
            tx,
            actor,
            AuditAction::CreditsReclaimed,
            AuditTarget::Member(member.id),
            format!("kind={} amount={}", kind.as_str(), unspent.get()),
        )
        .await?;
    }
    Ok(())
}

/// UTC bounds `[start, end)` of the local days `from..=to` in `tz`.
pub(crate) fn local_period_bounds(
    from: NaiveDate,
    to: NaiveDate,
    tz: Timezone,
) -> (DateTime<Utc>, DateTime<Utc>) {
    (start_of_local_day(from, tz), start_of_local_day(to + Duration::days(1), tz))
}

fn start_of_local_day(day: NaiveDate, tz: Timezone) -> DateTime<Utc> {
    let zone = tz.tz();
    // Midnight may not exist (a DST gap at 00:00): take the first instant of that local day.
    (0..=120)
        .find_map(|minutes| {
            let local = day.and_hms_opt(0, 0, 0)? + Duration::minutes(minutes);
            zone.from_local_datetime(&local).earliest()
        })
        .map_or_else(
            || Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default()),
            |t| t.with_timezone(&Utc),
        )
}

fn bucket_start(day: NaiveDate, bucket: Bucket) -> NaiveDate {
    match bucket {
        Bucket::Day => day,
        Bucket::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        Bucket::Month => day.with_day(1).unwrap_or(day),
    }
}

fn next_bucket(start: NaiveDate, bucket: Bucket) -> NaiveDate {
    match bucket {
        Bucket::Day => start + Duration::days(1),
        Bucket::Week => start + Duration::days(7),
        Bucket::Month => {
            let (y, m) = if start.month() == 12 {
                (start.year() + 1, 1)
            } else {
                (start.year(), start.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(start + Duration::days(31))
        }
    }
}

fn sorted<K: Ord + Clone>(map: BTreeMap<K, i64>) -> Vec<(K, i64)> {
    map.into_iter().collect()
}

/// The first day of each bucket of the report's series: the bucket holding `from`, then
/// each next one up to the bucket holding `to`.
fn series_starts(query: &UsageQuery) -> Vec<NaiveDate> {
    let mut starts = Vec::new();
    let mut start = bucket_start(query.from, query.bucket);
    while start <= query.to {
        starts.push(start);
        start = next_bucket(start, query.bucket);
    }
    starts
}

/// The instants where the series' buckets begin in `timezone`, clipped to the period (the
/// first bucket counts from `from`), then the end of `to`: the store's period bounds.
fn series_bounds(
    query: &UsageQuery,
    timezone: Timezone,
    starts: &[NaiveDate],
) -> Vec<DateTime<Utc>> {
    let (first, end) = local_period_bounds(query.from, query.to, timezone);
    let mut bounds = Vec::with_capacity(starts.len() + 1);
    bounds.push(first);
    bounds.extend(starts.iter().skip(1).map(|day| start_of_local_day(*day, timezone)));
    bounds.push(end);
    bounds
}

/// Adds the store's sums into totals and a gap-free series of local buckets (one per entry of
/// `starts`, the sums' periods).
pub(crate) fn build_report(
    query: &UsageQuery,
    timezone: Timezone,
    starts: &[NaiveDate],
    totals: &[ConsumptionTotal],
) -> UsageReport {
    let mut by_kind = BTreeMap::new();
    let mut by_data_type: BTreeMap<String, (DataType, i64)> = BTreeMap::new();
    let mut by_provider: BTreeMap<String, (Provider, i64)> = BTreeMap::new();
    let mut per_bucket = vec![0_i64; starts.len()];
    let mut total = 0;
    for t in totals {
        total += t.amount;
        *by_kind.entry(t.kind).or_insert(0) += t.amount;
        by_data_type
            .entry(t.data_type.as_str().to_owned())
            .or_insert((t.data_type.clone(), 0))
            .1 += t.amount;
        by_provider.entry(t.provider.as_str().to_owned()).or_insert((t.provider.clone(), 0)).1 +=
            t.amount;
        if let Some(bucket) = per_bucket.get_mut(t.period) {
            *bucket += t.amount;
        }
    }
    let series = starts
        .iter()
        .zip(per_bucket)
        .map(|(start, total)| UsagePoint { start: *start, total })
        .collect();
    UsageReport {
        from: query.from,
        to: query.to,
        timezone,
        bucket: query.bucket,
        total,
        by_kind: sorted(by_kind),
        by_data_type: by_data_type.into_values().collect(),
        by_provider: by_provider.into_values().collect(),
        series,
        members: Vec::new(),
    }
}

async fn member_breakdown(
    tx: &mut dyn Tx,
    totals: &[ConsumptionTotal],
) -> Result<Vec<MemberUsage>, StoreError> {
    type PerType = BTreeMap<String, (DataType, i64)>;
    let mut per_member: BTreeMap<Option<MemberId>, (i64, PerType)> = BTreeMap::new();
    for r in totals {
        let slot = per_member.entry(r.spender).or_default();
        slot.0 += r.amount;
        slot.1.entry(r.data_type.as_str().to_owned()).or_insert((r.data_type.clone(), 0)).1 +=
            r.amount;
    }
    // Every spender's name in one read (a team may have hundreds of spenders).
    let ids: Vec<MemberId> = per_member.keys().flatten().copied().collect();
    let names: BTreeMap<MemberId, String> = tx
        .members_by_id(&ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m.profile.display_name()))
        .collect();
    let mut out = Vec::with_capacity(per_member.len());
    for (member_id, (total, types)) in per_member {
        let name = member_id.and_then(|id| names.get(&id).cloned());
        out.push(MemberUsage {
            member_id,
            name,
            total,
            by_data_type: types.into_values().collect(),
        });
    }
    out.sort_by(|a, b| b.total.cmp(&a.total).then(a.member_id.cmp(&b.member_id)));
    Ok(out)
}
