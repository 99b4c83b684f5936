//! `CreditRepo` over `credit_pools`, `allocations` and `ledger_entries`. A ledger row also
//! stores its spender (`member_id`, or the acting member for pool-level entries), so usage
//! reports of one member are one index range. Consumptions are also summed per UTC day and
//! month (`consumption_rollups`, see [`rollups`]), which usage reports read.

use std::collections::{BTreeMap, HashMap};

use account_core::domain::audit::Principal;
use account_core::domain::credits::{
    Allocation, ConsumptionDetail, ConsumptionRecord, ConsumptionSum, ConsumptionSums,
    ConsumptionTotal, CreditKind, CreditPool, EntryType, LedgerEntry,
};
use account_core::domain::text::{DataType, EventId, Provider, Reason};
use account_core::ids::{LedgerEntryId, MemberId, OrganisationId};
use account_core::ports::{CreditRepo, LedgerCursor, LedgerFilter, Page, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{
    Alias, CaseStatement, Expr, ExprTrait, Func, OnConflict, SelectStatement, UnionType,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, Statement,
};
use uuid::Uuid;

use super::rollups::{self, Piece, Plan, Unit};
use super::{micros, parse, parse_opt};
use crate::entity::{allocations, consumption_rollups, credit_pools, ledger_entries};
use crate::error::{corrupt, db_err};
use crate::store::{Queued, SeaTx};

fn kind(column: &str, stored: &str) -> Result<CreditKind, StoreError> {
    CreditKind::parse(stored).ok_or_else(|| corrupt(column))
}

/// The consumptions of `org` (of one spender when given) in `[from, to)`: what usage reports
/// read, row by row or summed.
fn consumed(
    org: OrganisationId,
    spender: Option<MemberId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Condition {
    use ledger_entries::Column as C;
    Condition::all()
        .add(C::OrgId.eq(org.as_uuid()))
        .add(C::EntryType.eq(EntryType::Consume.as_str()))
        .add(C::At.gte(micros(from)))
        .add(C::At.lt(micros(to)))
        .add_option(spender.map(|s| C::SpenderId.eq(s.as_uuid())))
}

/// The key under which a write unit holds a pool it locked (`SeaTx::hold`).
fn pool_key(org: Uuid, kind: CreditKind) -> String {
    format!("credit_pools:{org}:{}", kind.as_str())
}

fn pool(m: credit_pools::Model) -> Result<CreditPool, StoreError> {
    Ok(CreditPool::restore(
        OrganisationId::from_uuid(m.org_id),
        kind("credit_pools.kind", &m.kind)?,
        m.total,
        m.allocated,
        m.spent_from_pool,
    ))
}

fn allocation(m: allocations::Model) -> Result<Allocation, StoreError> {
    Ok(Allocation::restore(
        MemberId::from_uuid(m.member_id),
        OrganisationId::from_uuid(m.org_id),
        kind("allocations.kind", &m.kind)?,
        m.allocated,
        m.used,
    ))
}

/// How a principal is stored: a kind and, for a member, the id.
pub(crate) fn principal_columns(p: Principal) -> (&'static str, Option<Uuid>) {
    match p {
        Principal::Member(id) => ("member", Some(id.as_uuid())),
        Principal::Operator => ("operator", None),
        Principal::System => ("system", None),
    }
}

/// Reads a principal back.
pub(crate) fn principal(
    table: &str,
    kind: &str,
    member: Option<Uuid>,
) -> Result<Principal, StoreError> {
    match (kind, member) {
        ("member", Some(id)) => Ok(Principal::Member(MemberId::from_uuid(id))),
        ("operator", None) => Ok(Principal::Operator),
        ("system", None) => Ok(Principal::System),
        _ => Err(corrupt(&format!("{table}.actor_*"))),
    }
}

/// Who spent: the member, or the acting member for pool-level entries.
fn spender_of(e: &LedgerEntry) -> Option<Uuid> {
    e.member_id.or_else(|| e.actor.member()).map(|m| m.as_uuid())
}

fn ledger_row(e: &LedgerEntry) -> ledger_entries::ActiveModel {
    let (actor_kind, actor_member_id) = principal_columns(e.actor);
    let detail = e.consumption.as_ref();
    ledger_entries::ActiveModel {
        id: Set(e.id.as_uuid()),
        org_id: Set(e.org_id.as_uuid()),
        kind: Set(e.kind.as_str().to_owned()),
        entry_type: Set(e.entry_type.as_str().to_owned()),
        amount: Set(e.amount),
        member_id: Set(e.member_id.map(|m| m.as_uuid())),
        actor_kind: Set(actor_kind.to_owned()),
        actor_member_id: Set(actor_member_id),
        acting_as: Set(e.acting_as.map(|m| m.as_uuid())),
        spender_id: Set(spender_of(e)),
        at: Set(micros(e.at)),
        reason: Set(e.reason.as_ref().map(|r| r.as_str().to_owned())),
        data_type: Set(detail.map(|d| d.data_type.as_str().to_owned())),
        provider: Set(detail.map(|d| d.provider.as_str().to_owned())),
        event_id: Set(detail.map(|d| d.event_id.as_str().to_owned())),
    }
}

fn ledger_entry(m: ledger_entries::Model) -> Result<LedgerEntry, StoreError> {
    let consumption = match (m.data_type, m.provider, m.event_id) {
        (Some(data_type), Some(provider), Some(event_id)) => Some(ConsumptionDetail {
            data_type: parse("ledger_entries.data_type", DataType::from_stored(&data_type))?,
            provider: parse("ledger_entries.provider", Provider::from_stored(&provider))?,
            event_id: parse("ledger_entries.event_id", EventId::from_stored(&event_id))?,
        }),
        (None, None, None) => None,
        _ => return Err(corrupt("ledger_entries.data_type/provider/event_id")),
    };
    Ok(LedgerEntry {
        id: LedgerEntryId::from_uuid(m.id),
        org_id: OrganisationId::from_uuid(m.org_id),
        kind: kind("ledger_entries.kind", &m.kind)?,
        entry_type: EntryType::parse(&m.entry_type)
            .ok_or_else(|| corrupt("ledger_entries.entry_type"))?,
        amount: m.amount,
        member_id: m.member_id.map(MemberId::from_uuid),
        actor: principal("ledger_entries", &m.actor_kind, m.actor_member_id)?,
        acting_as: m.acting_as.map(MemberId::from_uuid),
        at: m.at,
        reason: parse_opt("ledger_entries.reason", m.reason.as_deref(), Reason::from_stored)?,
        consumption,
    })
}

/// Allocations in the memory store's order: by member, then kind.
fn sorted(mut items: Vec<Allocation>) -> Vec<Allocation> {
    items.sort_by_key(|a| (a.member_id(), a.kind()));
    items
}

#[async_trait]
impl CreditRepo for SeaTx {
    async fn insert_pool(&mut self, p: &CreditPool) -> Result<(), StoreError> {
        let row = credit_pools::ActiveModel {
            org_id: Set(p.org_id().as_uuid()),
            kind: Set(p.kind().as_str().to_owned()),
            total: Set(p.total()),
            allocated: Set(p.allocated()),
            spent_from_pool: Set(p.spent_from_pool()),
        };
        self.exec_guarded(credit_pools::Entity::insert(row)).await?;
        Ok(())
    }

    async fn pools(&mut self, org: OrganisationId) -> Result<Vec<CreditPool>, StoreError> {
        let rows = credit_pools::Entity::find()
            .filter(credit_pools::Column::OrgId.eq(org.as_uuid()))
            .all(&self.r())
            .await
            .map_err(db_err)?;
        let mut pools = rows.into_iter().map(pool).collect::<Result<Vec<_>, _>>()?;
        pools.sort_by_key(|p| CreditKind::ALL.iter().position(|k| *k == p.kind()));
        Ok(pools)
    }

    async fn lock_pool(
        &mut self,
        org: OrganisationId,
        kind: CreditKind,
    ) -> Result<Option<CreditPool>, StoreError> {
        let select = credit_pools::Entity::find_by_id((org.as_uuid(), kind.as_str().to_owned()));
        let found = self.locking(select).one(&self.r()).await.map_err(db_err)?;
        if found.is_some() {
            self.hold(pool_key(org.as_uuid(), kind));
        }
        found.map(pool).transpose()
    }

    async fn update_pool(&mut self, p: &CreditPool) -> Result<(), StoreError> {
        let changes = credit_pools::ActiveModel {
            total: Set(p.total()),
            allocated: Set(p.allocated()),
            spent_from_pool: Set(p.spent_from_pool()),
            ..credit_pools::ActiveModel::default()
        };
        let update = credit_pools::Entity::update_many()
            .set(changes)
            .filter(credit_pools::Column::OrgId.eq(p.org_id().as_uuid()))
            .filter(credit_pools::Column::Kind.eq(p.kind().as_str()));
        // A pool this unit locked is there: its update may wait in the unit's queue.
        let changed = if self.holds(&pool_key(p.org_id().as_uuid(), p.kind())) {
            self.write_later(update, Queued::UpdateOne).await?
        } else {
            Some(update.exec(&self.w()?).await.map_err(db_err)?.rows_affected)
        };
        if changed == Some(0) {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn lock_allocation(
        &mut self,
        member: MemberId,
        kind: CreditKind,
    ) -> Result<Option<Allocation>, StoreError> {
        let select = allocations::Entity::find_by_id((member.as_uuid(), kind.as_str().to_owned()));
        let found = self.locking(select).one(&self.r()).await.map_err(db_err)?;
        found.map(allocation).transpose()
    }

    async fn put_allocation(&mut self, a: &Allocation) -> Result<(), StoreError> {
        let row = allocations::ActiveModel {
            member_id: Set(a.member_id().as_uuid()),
            kind: Set(a.kind().as_str().to_owned()),
            org_id: Set(a.org_id().as_uuid()),
            allocated: Set(a.allocated()),
            used: Set(a.used()),
        };
        let upsert =
            OnConflict::columns([allocations::Column::MemberId, allocations::Column::Kind])
                .update_columns([
                    allocations::Column::OrgId,
                    allocations::Column::Allocated,
                    allocations::Column::Used,
                ])
                .to_owned();
        self.write_later(allocations::Entity::insert(row).on_conflict(upsert), Queued::Insert(1))
            .await?;
        Ok(())
    }

    async fn allocations_of_member(
        &mut self,
        member: MemberId,
    ) -> Result<Vec<Allocation>, StoreError> {
        let rows = allocations::Entity::find()
            .filter(allocations::Column::MemberId.eq(member.as_uuid()))
            .all(&self.r())
            .await
            .map_err(db_err)?;
        Ok(sorted(rows.into_iter().map(allocation).collect::<Result<_, _>>()?))
    }

    async fn allocations_of_org(
        &mut self,
        org: OrganisationId,
    ) -> Result<Vec<Allocation>, StoreError> {
        let rows = allocations::Entity::find()
            .filter(allocations::Column::OrgId.eq(org.as_uuid()))
            .all(&self.r())
            .await
            .map_err(db_err)?;
        Ok(sorted(rows.into_iter().map(allocation).collect::<Result<_, _>>()?))
    }

    async fn append(&mut self, entry: &LedgerEntry) -> Result<(), StoreError> {
        let insert = ledger_entries::Entity::insert(ledger_row(entry));
        if let Some(detail) = &entry.consumption {
            // Only consumptions can break a rule (their event id).
            self.exec_guarded(insert).await?;
            if entry.entry_type == EntryType::Consume {
                self.add_to_rollups(entry, detail).await?;
            }
        } else {
            self.write_later(insert, Queued::Insert(1)).await?;
        }
        Ok(())
    }

    async fn entry(
        &mut self,
        org: OrganisationId,
        id: LedgerEntryId,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        let found = ledger_entries::Entity::find_by_id(id.as_uuid())
            .filter(ledger_entries::Column::OrgId.eq(org.as_uuid()))
            .one(&self.r())
            .await
            .map_err(db_err)?;
        found.map(ledger_entry).transpose()
    }

    async fn find_consumption(
        &mut self,
        org: OrganisationId,
        event_id: &EventId,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        let found = ledger_entries::Entity::find()
            .filter(ledger_entries::Column::OrgId.eq(org.as_uuid()))
            .filter(ledger_entries::Column::EventId.eq(event_id.as_str()))
            .one(&self.r())
            .await
            .map_err(db_err)?;
        found.map(ledger_entry).transpose()
    }

    async fn ledger(
        &mut self,
        org: OrganisationId,
        filter: LedgerFilter,
        page: Page<LedgerCursor>,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        use ledger_entries::Column as C;
        let mut select = ledger_entries::Entity::find().filter(C::OrgId.eq(org.as_uuid()));
        if let Some(member) = filter.member {
            select = select.filter(C::MemberId.eq(member.as_uuid()));
        }
        if let Some(kind) = filter.kind {
            select = select.filter(C::Kind.eq(kind.as_str()));
        }
        if let Some(entry_type) = filter.entry_type {
            select = select.filter(C::EntryType.eq(entry_type.as_str()));
        }
        if let Some(named) = filter.naming {
            let id = named.as_uuid();
            select = select.filter(
                Condition::any()
                    .add(C::MemberId.eq(id))
                    .add(C::ActorMemberId.eq(id))
                    .add(C::ActingAs.eq(id)),
            );
        }
        if let Some(after) = page.after {
            let at = micros(after.at);
            select = select.filter(
                Condition::any()
                    .add(C::At.gt(at))
                    .add(Condition::all().add(C::At.eq(at)).add(C::Id.gt(after.id.as_uuid()))),
            );
        }
        let rows = select
            .order_by_asc(C::At)
            .order_by_asc(C::Id)
            .limit(u64::from(page.limit))
            .all(&self.r())
            .await
            .map_err(db_err)?;
        rows.into_iter().map(ledger_entry).collect()
    }

    async fn consumption(
        &mut self,
        org: OrganisationId,
        spender: Option<MemberId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ConsumptionRecord>, StoreError> {
        use ledger_entries::Column as C;
        let rows = ledger_entries::Entity::find()
            .filter(consumed(org, spender, from, to))
            .order_by_asc(C::At)
            .order_by_asc(C::Id)
            .all(&self.r())
            .await
            .map_err(db_err)?;
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            let spender = row.spender_id.map(MemberId::from_uuid);
            let entry = ledger_entry(row)?;
            // As the memory store: a consumption without its detail is not reported.
            let Some(detail) = entry.consumption else { continue };
            records.push(ConsumptionRecord {
                at: entry.at,
                spender,
                from_pool: entry.member_id.is_none(),
                kind: entry.kind,
                amount: entry.amount,
                data_type: detail.data_type,
                provider: detail.provider,
            });
        }
        Ok(records)
    }

    async fn consumption_totals(
        &mut self,
        org: OrganisationId,
        spender: Option<MemberId>,
        bounds: &[DateTime<Utc>],
    ) -> Result<Vec<ConsumptionTotal>, StoreError> {
        let mut totals: BTreeMap<(usize, Option<Uuid>, usize), i64> = BTreeMap::new();
        let details = self
            .add_up_sums(org, spender, bounds, |period, spender, detail, amount| {
                *totals.entry((period, spender, detail)).or_default() += amount;
            })
            .await?;
        totals
            .into_iter()
            .filter(|(_, amount)| *amount != 0)
            .map(|((period, spender, detail), amount)| {
                let (kind, data_type, provider) = details.get(detail)?;
                Ok(ConsumptionTotal {
                    period,
                    spender: spender.map(MemberId::from_uuid),
                    kind,
                    data_type,
                    provider,
                    amount,
                })
            })
            .collect()
    }

    /// The same rows as [`Self::consumption_totals`], added up per period and per detail
    /// as they arrive: no sum per period and detail, and each detail's names parsed and
    /// cloned once, not once per period.
    async fn consumption_sums(
        &mut self,
        org: OrganisationId,
        spender: Option<MemberId>,
        bounds: &[DateTime<Utc>],
    ) -> Result<ConsumptionSums, StoreError> {
        let mut per_period = vec![0; bounds.len().saturating_sub(1)];
        let mut per_detail: BTreeMap<(Option<Uuid>, usize), i64> = BTreeMap::new();
        let details = self
            .add_up_sums(org, spender, bounds, |period, spender, detail, amount| {
                if let Some(slot) = per_period.get_mut(period) {
                    *slot += amount;
                    *per_detail.entry((spender, detail)).or_default() += amount;
                }
            })
            .await?;
        let per_detail = per_detail
            .into_iter()
            .filter(|(_, amount)| *amount != 0)
            .map(|((spender, detail), amount)| {
                let (kind, data_type, provider) = details.get(detail)?;
                Ok(ConsumptionSum {
                    spender: spender.map(MemberId::from_uuid),
                    kind,
                    data_type,
                    provider,
                    amount,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(ConsumptionSums { per_period, per_detail }.sorted())
    }
}

impl SeaTx {
    /// Reads the sums of `bounds` (one statement) and hands each summed row to `add` once per
    /// period it counts in: `add(period, spender, detail, signed amount)`, the detail an index
    /// into the parsed details returned.
    async fn add_up_sums(
        &self,
        org: OrganisationId,
        spender: Option<MemberId>,
        bounds: &[DateTime<Utc>],
        mut add: impl FnMut(usize, Option<Uuid>, usize, i64) + Send,
    ) -> Result<ParsedDetails, StoreError> {
        let mut details = Details::default();
        if let Some(sums) = Sums::of(org, spender, bounds) {
            for (label, spender, k, data_type, provider, amount) in
                self.sum_rows(&sums.query).await?
            {
                let detail = details.index(k, data_type, provider);
                for (period, sign) in sums.effects(label)? {
                    add(period, spender, detail, sign * amount);
                }
            }
        }
        details.parsed()
    }
}

/// The (kind, data type, provider) of summed rows, each kept and parsed once: a report has a
/// few distinct ones and up to hundreds of rows, so sums are keyed by their index, and no
/// strings are cloned or compared per row.
#[derive(Default)]
struct Details(HashMap<(String, String, String), usize>);

impl Details {
    /// The index of a row's detail.
    fn index(&mut self, k: String, data_type: String, provider: String) -> usize {
        let next = self.0.len();
        *self.0.entry((k, data_type, provider)).or_insert(next)
    }

    /// Every detail parsed, by index.
    fn parsed(self) -> Result<ParsedDetails, StoreError> {
        let mut details: Vec<_> = self.0.into_iter().collect();
        details.sort_unstable_by_key(|(_, i)| *i);
        details
            .into_iter()
            .map(|((k, data_type, provider), _)| detail_of(&k, &data_type, &provider))
            .collect::<Result<_, _>>()
            .map(ParsedDetails)
    }
}

/// [`Details`] parsed, by index.
struct ParsedDetails(Vec<(CreditKind, DataType, Provider)>);

impl ParsedDetails {
    /// The detail of index `i`.
    fn get(&self, i: usize) -> Result<(CreditKind, DataType, Provider), StoreError> {
        self.0.get(i).cloned().ok_or_else(|| corrupt("usage sum"))
    }
}

/// A consumption's kind, data type and provider, parsed from their stored text.
fn detail_of(
    k: &str,
    data_type: &str,
    provider: &str,
) -> Result<(CreditKind, DataType, Provider), StoreError> {
    Ok((
        kind("ledger_entries.kind", k)?,
        parse("ledger_entries.data_type", DataType::from_stored(data_type))?,
        parse("ledger_entries.provider", Provider::from_stored(provider))?,
    ))
}

/// The statement that sums a usage report's consumption per label, spender, kind, data type
/// and provider, and how its labels count in the report's periods.
struct Sums {
    /// `None` when the raw consumptions are summed per period (labels are the periods).
    plan: Option<Plan>,
    query: SelectStatement,
}

impl Sums {
    /// The sums of `bounds` (`consumption_totals`' arguments), or `None` when there is
    /// nothing to read.
    fn of(
        org: OrganisationId,
        spender: Option<MemberId>,
        bounds: &[DateTime<Utc>],
    ) -> Option<Self> {
        let (first, last) = (bounds.first()?, bounds.last()?);
        let periods = bounds.len() - 1;
        if periods == 0 {
            return None;
        }
        let plan = rollups::plan(bounds);
        let query = match &plan {
            // Bounds less than a day apart: the raw consumptions, summed per period.
            None => {
                let inner = bounds[1..periods].iter().enumerate().map(|(i, b)| (*b, label(i)));
                Some(raw_sums(org, spender, (*first, *last), inner, label(periods - 1), None))
            }
            Some(plan) => planned_sums(org, spender, plan),
        }?;
        Some(Self { plan, query })
    }

    /// The periods, each with its sign, that a row labelled `label` counts in.
    fn effects(&self, label: i64) -> Result<Vec<(usize, i64)>, StoreError> {
        match &self.plan {
            Some(plan) => plan.effects(label),
            None => usize::try_from(label).ok().map(|period| vec![(period, 1)]),
        }
        .ok_or_else(|| corrupt("usage sum label"))
    }
}

/// The sums of `plan`, one statement so one snapshot in any unit: the roll-ups per period
/// (labelled as [`Plan::piece_label`] says), then the raw windows (labels −1, −2, …);
/// `None` when there is nothing to read.
fn planned_sums(
    org: OrganisationId,
    spender: Option<MemberId>,
    plan: &Plan,
) -> Option<SelectStatement> {
    use ledger_entries::Column as C;
    let window_label = Plan::window_label;
    let mut query = rollup_sums(org, spender, plan);
    if let (Some(w0), Some(wn)) = (plan.windows.first(), plan.windows.last()) {
        // A row's window: the first whose end it lies before (windows ascend, disjoint).
        let ends = plan.windows.iter().enumerate().map(|(i, w)| (w.to, window_label(i)));
        let within = plan.windows.iter().fold(Condition::any(), |any, w| {
            any.add(Condition::all().add(C::At.gte(micros(w.from))).add(C::At.lt(micros(w.to))))
        });
        let last = window_label(plan.windows.len() - 1);
        let raw = raw_sums(org, spender, (w0.from, wn.to), ends, last, Some(within));
        query = match query {
            Some(mut q) => Some(q.union(UnionType::All, raw).to_owned()),
            None => Some(raw),
        };
    }
    query
}

/// A summed row: a label (period or raw window), spender (none for NULL or the nil id), kind,
/// data type, provider, amount.
type Sum = (i64, Option<Uuid>, String, String, String, i64);

fn label(i: usize) -> i64 {
    i64::try_from(i).unwrap_or(i64::MAX)
}

/// `CASE WHEN <column> < t₀ THEN l₀ WHEN … ELSE <last> END`: the label of the first threshold
/// a value lies before, from `(threshold, label)` pairs, else `last`.
fn first_before<V: Into<sea_orm::Value>>(
    column: &Expr,
    thresholds: impl IntoIterator<Item = (V, i64)>,
    last: i64,
) -> Expr {
    let mut case = CaseStatement::new();
    let mut any = false;
    for (threshold, l) in thresholds {
        case = case.case(column.clone().lt(threshold), Expr::val(l));
        any = true;
    }
    if any { case.finally(Expr::val(last)).into() } else { Expr::val(last) }
}

/// The consumptions of `[from, to)` (and in `within`, when given), summed per label,
/// spender, kind, data type and provider; a row's label is that of the first threshold it
/// lies before (see [`first_before`]).
fn raw_sums(
    org: OrganisationId,
    spender: Option<MemberId>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    thresholds: impl IntoIterator<Item = (DateTime<Utc>, i64)>,
    last: i64,
    within: Option<Condition>,
) -> SelectStatement {
    use ledger_entries::Column as C;
    let thresholds = thresholds.into_iter().map(|(t, l)| (micros(t), l));
    let select = ledger_entries::Entity::find()
        .filter(consumed(org, spender, from, to))
        .filter(within.unwrap_or_else(Condition::all))
        // As `consumption`: a consumption without its detail is not reported.
        .filter(C::DataType.is_not_null())
        .filter(C::Provider.is_not_null());
    let label = first_before(&Expr::col(C::At), thresholds, last);
    summed(select, label, [C::SpenderId, C::Kind, C::DataType, C::Provider, C::Amount])
}

/// `select` summed per `label` (as `period`), spender, kind, data type and provider, the
/// sum as `amount`: the shape of every usage sum ([`SeaTx::sum_rows`] reads it).
fn summed<E: EntityTrait>(
    select: Select<E>,
    label: Expr,
    [spender, kind, data_type, provider, amount]: [E::Column; 5],
) -> SelectStatement {
    let sum = Expr::from(Func::cast_as(Expr::col(amount).sum(), Alias::new("bigint")));
    shaped(select, label, [spender, kind, data_type, provider], sum)
        .group_by(Expr::col(Alias::new("period")))
        .group_by(spender)
        .group_by(kind)
        .group_by(data_type)
        .group_by(provider)
        .into_query()
}

/// [`summed`]'s shape without the sum, for rows already one per label and key.
fn listed<E: EntityTrait>(
    select: Select<E>,
    label: Expr,
    [spender, kind, data_type, provider, amount]: [E::Column; 5],
) -> SelectStatement {
    shaped(select, label, [spender, kind, data_type, provider], Expr::col(amount)).into_query()
}

/// The columns of a usage sum: `label` as `period`, the key columns, `amount`.
fn shaped<E: EntityTrait>(
    select: Select<E>,
    label: Expr,
    [spender, kind, data_type, provider]: [E::Column; 4],
    amount: Expr,
) -> Select<E> {
    select
        .select_only()
        .column_as(label, "period")
        .column(spender)
        .column(kind)
        .column(data_type)
        .column(provider)
        .column_as(amount, "amount")
}

/// The roll-ups of `plan`'s pieces, summed per label, spender, kind, data type and
/// provider; `None` when the plan has no pieces. One arm per contiguous range of one unit and
/// sign, joined by `UNION ALL` (the caller adds up rows that meet on the same key, with the
/// sign their label gives); an arm whose pieces are each one day or one month lists its rows
/// without `GROUP BY`, as they are one per label and key already (a year by month: no sort
/// of its twelve months' rows). Each arm's
/// conditions are all equalities and one range, so even a plan made for any parameters (what
/// PostgreSQL settles on for a prepared statement after five runs) reads the roll-up index
/// over that range only. With the ranges `OR`ed in one `WHERE`, that generic plan read every
/// roll-up of the spender and filtered (4,539 rows read for 495 on the bench's member:
/// 0.94 ms against 0.57 ms).
fn rollup_sums(
    org: OrganisationId,
    spender: Option<MemberId>,
    plan: &Plan,
) -> Option<SelectStatement> {
    use consumption_rollups::Column as R;
    let mut arms = Vec::new();
    for (unit, sign) in [(Unit::Day, 1), (Unit::Month, 1), (Unit::Day, -1), (Unit::Month, -1)] {
        for run in rollups::runs_of(plan, unit, sign) {
            let (Some(first), Some(last)) = (run.first(), run.last()) else { continue };
            let thresholds = run.iter().map(|p| (p.to, plan.piece_label(p)));
            let period = first_before(&Expr::col(R::Start), thresholds, plan.piece_label(last));
            let select = consumption_rollups::Entity::find()
                .filter(R::OrgId.eq(org.as_uuid()))
                .filter(Condition::all().add_option(spender.map(|s| R::SpenderId.eq(s.as_uuid()))))
                .filter(R::Unit.eq(unit.as_str()))
                .filter(R::Start.gte(first.from))
                .filter(R::Start.lt(last.to));
            let columns = [R::SpenderId, R::Kind, R::DataType, R::Provider, R::Amount];
            arms.push(if run.iter().all(Piece::is_single_start) {
                // One start per label: the rows are the sums already (no sort to group).
                listed(select, period, columns)
            } else {
                summed(select, period, columns)
            });
        }
    }
    let mut arms = arms.into_iter();
    let mut query = arms.next()?;
    for arm in arms {
        query.union(UnionType::All, arm);
    }
    Some(query)
}

/// A sums query's row as the database answers it: the detail columns may be NULL (which
/// [`SeaTx::sums`] refuses as corrupt).
type SumRow = (i64, Option<Uuid>, String, Option<String>, Option<String>, i64);

/// A [`SumRow`] in [`folded`]'s JSON: the spender as hex text, empty for NULL.
type FoldedRow = (i64, String, String, Option<String>, Option<String>, i64);

/// `query` (for SQLite) with its rows folded into one JSON array of arrays, one per row, in
/// [`Sum`]'s column order with the spender as hex text. The wrapper adds no parameters, so
/// `query`'s placeholders stay as they are.
fn folded(query: &SelectStatement) -> Statement {
    let inner = DbBackend::Sqlite.build(query);
    let sql = format!(
        "SELECT json_group_array(json_array(period, lower(hex(spender_id)), kind, data_type, \
         provider, amount)) FROM ({}) AS sums",
        inner.sql
    );
    Statement { sql, ..inner }
}

impl SeaTx {
    /// Runs a sums query ([`raw_sums`], [`rollup_sums`], or their union). On SQLite its rows
    /// come back folded into one ([`folded`]): a year's report sums to a few hundred rows,
    /// and each row is a hand-off from the connection's thread (about a third of the report's
    /// CPU time went to moving them one by one). PostgreSQL sends rows in one stream, and
    /// building the JSON there cost more than it saved, so it answers them as they are.
    async fn sum_rows(&self, query: &SelectStatement) -> Result<Vec<Sum>, StoreError> {
        let rows: Vec<SumRow> = if self.backend() == DbBackend::Postgres {
            let rows = self.r().query_all(query).await.map_err(db_err)?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.try_get_by_index(0)?,
                        row.try_get_by_index(1)?,
                        row.try_get_by_index(2)?,
                        row.try_get_by_index(3)?,
                        row.try_get_by_index(4)?,
                        row.try_get_by_index(5)?,
                    ))
                })
                .collect::<Result<_, sea_orm::DbErr>>()
                .map_err(db_err)?
        } else {
            let row = self.r().query_one_raw(folded(query)).await;
            let json: Option<String> =
                row.map_err(db_err)?.map(|r| r.try_get_by_index(0)).transpose().map_err(db_err)?;
            let folded: Vec<FoldedRow> = serde_json::from_str(json.as_deref().unwrap_or("[]"))
                .map_err(|_| corrupt("usage sums (JSON)"))?;
            folded
                .into_iter()
                .map(|(label, spender, k, data_type, provider, amount)| {
                    // `hex` of a NULL spender is empty.
                    let spender = (!spender.is_empty())
                        .then(|| Uuid::parse_str(&spender).map_err(|_| corrupt("spender_id")))
                        .transpose()?;
                    Ok((label, spender, k, data_type, provider, amount))
                })
                .collect::<Result<_, StoreError>>()?
        };
        rows.into_iter()
            .map(|(label, spender, k, data_type, provider, amount)| {
                let (Some(data_type), Some(provider)) = (data_type, provider) else {
                    return Err(corrupt("ledger_entries.data_type/provider"));
                };
                Ok((label, spender.filter(|s| !s.is_nil()), k, data_type, provider, amount))
            })
            .collect()
    }

    /// Adds a consumption to its UTC day's and month's roll-ups, in the unit that appends it.
    async fn add_to_rollups(
        &self,
        e: &LedgerEntry,
        detail: &ConsumptionDetail,
    ) -> Result<(), StoreError> {
        use consumption_rollups::{ActiveModel, Column as R, Entity};
        let at = micros(e.at);
        let row = |unit: Unit, start: i64| ActiveModel {
            org_id: Set(e.org_id.as_uuid()),
            spender_id: Set(spender_of(e).unwrap_or_else(Uuid::nil)),
            unit: Set(unit.as_str().to_owned()),
            start: Set(start),
            kind: Set(e.kind.as_str().to_owned()),
            data_type: Set(detail.data_type.as_str().to_owned()),
            provider: Set(detail.provider.as_str().to_owned()),
            amount: Set(e.amount),
        };
        let key = [R::OrgId, R::SpenderId, R::Unit, R::Start, R::Kind, R::DataType, R::Provider];
        let add =
            Expr::col((Entity, R::Amount)).add(Expr::col((Alias::new("excluded"), R::Amount)));
        let upsert = Entity::insert_many([
            row(Unit::Day, rollups::day_start(at)),
            row(Unit::Month, rollups::month_start(at)),
        ])
        .on_conflict(OnConflict::columns(key).value(R::Amount, add).to_owned());
        self.write_later(upsert, Queued::Insert(2)).await?;
        Ok(())
    }
}
