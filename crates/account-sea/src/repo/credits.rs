//! `CreditRepo` over `credit_pools`, `allocations` and `ledger_entries`. A ledger row also
//! stores its spender (`member_id`, or the acting member for pool-level entries), so usage
//! reports of one member are one index range.

use account_core::domain::audit::Principal;
use account_core::domain::credits::{
    Allocation, ConsumptionDetail, ConsumptionRecord, ConsumptionTotal, CreditKind, CreditPool,
    EntryType, LedgerEntry,
};
use account_core::domain::text::{DataType, EventId, Provider, Reason};
use account_core::ids::{LedgerEntryId, MemberId, OrganisationId};
use account_core::ports::{CreditRepo, LedgerCursor, LedgerFilter, Page, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Alias, CaseStatement, Expr, ExprTrait, Func, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{micros, parse, parse_opt};
use crate::entity::{allocations, credit_pools, ledger_entries};
use crate::error::{corrupt, db_err};
use crate::store::SeaTx;

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

fn pool(m: credit_pools::Model) -> Result<CreditPool, StoreError> {
    Ok(CreditPool {
        org_id: OrganisationId::from_uuid(m.org_id),
        kind: kind("credit_pools.kind", &m.kind)?,
        total: m.total,
        allocated: m.allocated,
        spent_from_pool: m.spent_from_pool,
    })
}

fn allocation(m: allocations::Model) -> Result<Allocation, StoreError> {
    Ok(Allocation {
        member_id: MemberId::from_uuid(m.member_id),
        org_id: OrganisationId::from_uuid(m.org_id),
        kind: kind("allocations.kind", &m.kind)?,
        allocated: m.allocated,
        used: m.used,
    })
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
        spender_id: Set(e.member_id.or_else(|| e.actor.member()).map(|m| m.as_uuid())),
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
            data_type: parse("ledger_entries.data_type", DataType::parse(&data_type))?,
            provider: parse("ledger_entries.provider", Provider::parse(&provider))?,
            event_id: parse("ledger_entries.event_id", EventId::parse(&event_id))?,
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
        reason: parse_opt("ledger_entries.reason", m.reason.as_deref(), Reason::parse)?,
        consumption,
    })
}

/// Allocations in the memory store's order: by member, then kind.
fn sorted(mut items: Vec<Allocation>) -> Vec<Allocation> {
    items.sort_by_key(|a| (a.member_id, a.kind));
    items
}

#[async_trait]
impl CreditRepo for SeaTx {
    async fn insert_pool(&mut self, p: &CreditPool) -> Result<(), StoreError> {
        let row = credit_pools::ActiveModel {
            org_id: Set(p.org_id.as_uuid()),
            kind: Set(p.kind.as_str().to_owned()),
            total: Set(p.total),
            allocated: Set(p.allocated),
            spent_from_pool: Set(p.spent_from_pool),
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
        pools.sort_by_key(|p| CreditKind::ALL.iter().position(|k| *k == p.kind));
        Ok(pools)
    }

    async fn lock_pool(
        &mut self,
        org: OrganisationId,
        kind: CreditKind,
    ) -> Result<Option<CreditPool>, StoreError> {
        let select = credit_pools::Entity::find_by_id((org.as_uuid(), kind.as_str().to_owned()));
        let found = self.locking(select).one(&self.r()).await.map_err(db_err)?;
        found.map(pool).transpose()
    }

    async fn update_pool(&mut self, p: &CreditPool) -> Result<(), StoreError> {
        let changes = credit_pools::ActiveModel {
            total: Set(p.total),
            allocated: Set(p.allocated),
            spent_from_pool: Set(p.spent_from_pool),
            ..credit_pools::ActiveModel::default()
        };
        let done = credit_pools::Entity::update_many()
            .set(changes)
            .filter(credit_pools::Column::OrgId.eq(p.org_id.as_uuid()))
            .filter(credit_pools::Column::Kind.eq(p.kind.as_str()))
            .exec(&self.w()?)
            .await
            .map_err(db_err)?;
        if done.rows_affected == 0 {
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
            member_id: Set(a.member_id.as_uuid()),
            kind: Set(a.kind.as_str().to_owned()),
            org_id: Set(a.org_id.as_uuid()),
            allocated: Set(a.allocated),
            used: Set(a.used),
        };
        let upsert =
            OnConflict::columns([allocations::Column::MemberId, allocations::Column::Kind])
                .update_columns([
                    allocations::Column::OrgId,
                    allocations::Column::Allocated,
                    allocations::Column::Used,
                ])
                .to_owned();
        allocations::Entity::insert(row)
            .on_conflict(upsert)
            .exec_without_returning(&self.w()?)
            .await
            .map_err(db_err)?;
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
        if entry.consumption.is_some() {
            // Only consumptions can break a rule (their event id).
            self.exec_guarded(insert).await?;
        } else {
            insert.exec_without_returning(&self.w()?).await.map_err(db_err)?;
        }
        Ok(())
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
        use ledger_entries::Column as C;
        let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
            return Ok(Vec::new());
        };
        let periods = bounds.len() - 1;
        if periods == 0 {
            return Ok(Vec::new());
        }
        // The period of a row: the first inner bound it lies before, else the last period.
        let index = |i: usize| Expr::val(i64::try_from(i).unwrap_or(i64::MAX));
        let period: Expr = if periods == 1 {
            index(0)
        } else {
            bounds[1..periods]
                .iter()
                .enumerate()
                .fold(CaseStatement::new(), |case, (i, bound)| {
                    case.case(Expr::col(C::At).lt(micros(*bound)), index(i))
                })
                .finally(index(periods - 1))
                .into()
        };
        let rows: Vec<(i64, Option<Uuid>, String, Option<String>, Option<String>, i64)> =
            ledger_entries::Entity::find()
                .select_only()
                .column_as(period, "period")
                .column(C::SpenderId)
                .column(C::Kind)
                .column(C::DataType)
                .column(C::Provider)
                .column_as(
                    Expr::from(Func::cast_as(Expr::col(C::Amount).sum(), Alias::new("bigint"))),
                    "amount",
                )
                .filter(consumed(org, spender, *first, *last))
                // As `consumption`: a consumption without its detail is not reported.
                .filter(C::DataType.is_not_null())
                .filter(C::Provider.is_not_null())
                .group_by(Expr::col(Alias::new("period")))
                .group_by(C::SpenderId)
                .group_by(C::Kind)
                .group_by(C::DataType)
                .group_by(C::Provider)
                .into_tuple()
                .all(&self.r())
                .await
                .map_err(db_err)?;
        rows.into_iter()
            .map(|(period, spender, k, data_type, provider, amount)| {
                let column = "ledger_entries.data_type/provider";
                let (Some(data_type), Some(provider)) = (data_type, provider) else {
                    return Err(corrupt(column));
                };
                Ok(ConsumptionTotal {
                    period: usize::try_from(period).map_err(|_| corrupt("period"))?,
                    spender: spender.map(MemberId::from_uuid),
                    kind: kind("ledger_entries.kind", &k)?,
                    data_type: parse("ledger_entries.data_type", DataType::parse(&data_type))?,
                    provider: parse("ledger_entries.provider", Provider::parse(&provider))?,
                    amount,
                })
            })
            .collect()
    }
}
