//! Pools, allocations, the ledger and consumption sums in memory.

use std::collections::BTreeMap;

use account_core::domain::credits::{
    Allocation, ConsumptionRecord, ConsumptionTotal, CreditKind, CreditPool, EntryType, LedgerEntry,
};
use account_core::domain::text::EventId;
use account_core::ids::{LedgerEntryId, MemberId, OrganisationId};
use account_core::ports::{CreditRepo, LedgerCursor, LedgerFilter, Page, StoreError, UniqueKey};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{MemTx, page};

fn spender(e: &LedgerEntry) -> Option<MemberId> {
    e.member_id.or_else(|| e.actor.member())
}

/// Whether the entry names `m`: as the member whose credits moved, the actor, or the member
/// acted as.
fn names(e: &LedgerEntry, m: MemberId) -> bool {
    e.member_id == Some(m) || e.actor.member() == Some(m) || e.acting_as == Some(m)
}

/// A consumption of `org` (of `who`, when given) in `[from, to)`: what usage reports read.
fn consumed(
    e: &LedgerEntry,
    org: OrganisationId,
    who: Option<MemberId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> bool {
    e.org_id == org
        && e.entry_type == EntryType::Consume
        && e.at >= from
        && e.at < to
        && who.is_none_or(|m| spender(e) == Some(m))
}

#[async_trait]
impl CreditRepo for MemTx {
    async fn insert_pool(&mut self, pool: &CreditPool) -> Result<(), StoreError> {
        let s = self.w("credits.insert_pool")?;
        if s.pools.contains_key(&(pool.org_id(), pool.kind())) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        s.pools.insert((pool.org_id(), pool.kind()), *pool);
        Ok(())
    }
    async fn pools(&mut self, org: OrganisationId) -> Result<Vec<CreditPool>, StoreError> {
        Ok(CreditKind::ALL.iter().filter_map(|k| self.s().pools.get(&(org, *k)).copied()).collect())
    }
    async fn lock_pool(
        &mut self,
        org: OrganisationId,
        kind: CreditKind,
    ) -> Result<Option<CreditPool>, StoreError> {
        Ok(self.s().pools.get(&(org, kind)).copied())
    }
    async fn update_pool(&mut self, pool: &CreditPool) -> Result<(), StoreError> {
        let s = self.w("credits.update_pool")?;
        let slot = s.pools.get_mut(&(pool.org_id(), pool.kind())).ok_or(StoreError::NotFound)?;
        *slot = *pool;
        Ok(())
    }
    async fn lock_allocation(
        &mut self,
        member: MemberId,
        kind: CreditKind,
    ) -> Result<Option<Allocation>, StoreError> {
        Ok(self.s().allocations.get(&(member, kind)).copied())
    }
    async fn put_allocation(&mut self, allocation: &Allocation) -> Result<(), StoreError> {
        let s = self.w("credits.put_allocation")?;
        s.allocations.insert((allocation.member_id(), allocation.kind()), *allocation);
        Ok(())
    }
    async fn allocations_of_member(
        &mut self,
        member: MemberId,
    ) -> Result<Vec<Allocation>, StoreError> {
        Ok(self.s().allocations.values().filter(|a| a.member_id() == member).copied().collect())
    }
    async fn allocations_of_org(
        &mut self,
        org: OrganisationId,
    ) -> Result<Vec<Allocation>, StoreError> {
        Ok(self.s().allocations.values().filter(|a| a.org_id() == org).copied().collect())
    }
    async fn append(&mut self, entry: &LedgerEntry) -> Result<(), StoreError> {
        let s = self.w("credits.append")?;
        if s.ledger.iter().any(|e| e.id == entry.id) {
            return Err(StoreError::Conflict(UniqueKey::PrimaryKey));
        }
        if let Some(detail) = &entry.consumption {
            let dup = s.ledger.iter().any(|e| {
                e.org_id == entry.org_id
                    && e.consumption.as_ref().is_some_and(|d| d.event_id == detail.event_id)
            });
            if dup {
                return Err(StoreError::Conflict(UniqueKey::ConsumptionEvent));
            }
        }
        s.ledger.push(entry.clone());
        Ok(())
    }
    async fn entry(
        &mut self,
        org: OrganisationId,
        id: LedgerEntryId,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        Ok(self.s().ledger.iter().find(|e| e.org_id == org && e.id == id).cloned())
    }
    async fn find_consumption(
        &mut self,
        org: OrganisationId,
        event_id: &EventId,
    ) -> Result<Option<LedgerEntry>, StoreError> {
        Ok(self
            .s()
            .ledger
            .iter()
            .find(|e| {
                e.org_id == org && e.consumption.as_ref().is_some_and(|d| &d.event_id == event_id)
            })
            .cloned())
    }
    async fn ledger(
        &mut self,
        org: OrganisationId,
        filter: LedgerFilter,
        p: Page<LedgerCursor>,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut items: Vec<LedgerEntry> = self
            .s()
            .ledger
            .iter()
            .filter(|e| {
                e.org_id == org
                    && filter.member.is_none_or(|m| e.member_id == Some(m))
                    && filter.kind.is_none_or(|k| e.kind == k)
                    && filter.entry_type.is_none_or(|t| e.entry_type == t)
                    && filter.naming.is_none_or(|m| names(e, m))
            })
            .cloned()
            .collect();
        items.sort_by_key(|e| (e.at, e.id));
        Ok(page(items.into_iter(), p, |e, c| (e.at, e.id) > (c.at, c.id)))
    }
    async fn consumption(
        &mut self,
        org: OrganisationId,
        who: Option<MemberId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ConsumptionRecord>, StoreError> {
        Ok(self
            .s()
            .ledger
            .iter()
            .filter(|e| consumed(e, org, who, from, to))
            .filter_map(|e| {
                let d = e.consumption.as_ref()?;
                Some(ConsumptionRecord {
                    at: e.at,
                    spender: spender(e),
                    from_pool: e.member_id.is_none(),
                    kind: e.kind,
                    amount: e.amount,
                    data_type: d.data_type.clone(),
                    provider: d.provider.clone(),
                })
            })
            .collect())
    }
    async fn consumption_totals(
        &mut self,
        org: OrganisationId,
        who: Option<MemberId>,
        bounds: &[DateTime<Utc>],
    ) -> Result<Vec<ConsumptionTotal>, StoreError> {
        let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else {
            return Ok(Vec::new());
        };
        let mut sums: BTreeMap<_, ConsumptionTotal> = BTreeMap::new();
        for e in &self.s().ledger {
            let Some(d) = e.consumption.as_ref() else { continue };
            if !consumed(e, org, who, *first, *last) {
                continue;
            }
            // The period whose [start, next start) holds `at`.
            let period = bounds.partition_point(|b| *b <= e.at) - 1;
            let key = (
                period,
                spender(e),
                e.kind,
                d.data_type.as_str().to_owned(),
                d.provider.as_str().to_owned(),
            );
            sums.entry(key)
                .or_insert_with(|| ConsumptionTotal {
                    period,
                    spender: spender(e),
                    kind: e.kind,
                    data_type: d.data_type.clone(),
                    provider: d.provider.clone(),
                    amount: 0,
                })
                .amount += e.amount;
        }
        Ok(sums.into_values().collect())
    }
}
