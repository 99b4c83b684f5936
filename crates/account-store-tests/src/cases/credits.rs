//! `CreditRepo`: pools, allocations, the ledger and consumption reports.

use account_core::domain::audit::Principal;
use account_core::domain::credits::{
    ConsumptionDetail, ConsumptionRecord, ConsumptionSum, ConsumptionSums, ConsumptionTotal,
    CreditKind, CreditPool, EntryType, LedgerEntry,
};
use account_core::domain::text::{DataType, EventId, Provider, Reason};
use account_core::ids::MemberId;
use account_core::ports::{LedgerCursor, LedgerFilter, Page, UniqueKey};

use super::Factory;
use crate::fixtures::{
    allocate, allocation, assert_conflict, assert_not_found, at, consume, grant, id, member,
    organisation, pools, read, seed_members, seed_org_with_admin, write,
};

pub(crate) async fn pools_insert_list_lock_update(f: Factory) {
    let store = f.fresh().await;
    let org = organisation(1);
    let other = organisation(2);
    let mut tx = write(&store).await;
    tx.organisations().insert(&org).await.unwrap();
    tx.organisations().insert(&other).await.unwrap();
    // Inserted in reverse; listed in `CreditKind::ALL` order.
    for pool in pools(org.id).into_iter().rev() {
        tx.credits().insert_pool(&pool).await.unwrap();
    }
    tx.credits().insert_pool(&CreditPool::empty(other.id, CreditKind::Export)).await.unwrap();
    assert_conflict(
        tx.credits().insert_pool(&CreditPool::empty(org.id, CreditKind::DirectDial)).await,
        UniqueKey::PrimaryKey,
    );
    tx.commit().await.unwrap();

    let changed = CreditPool::restore(org.id, CreditKind::DirectDial, 1_000, 300, 25);
    let mut tx = write(&store).await;
    assert_eq!(
        tx.credits().lock_pool(org.id, CreditKind::DirectDial).await.unwrap(),
        Some(CreditPool::empty(org.id, CreditKind::DirectDial))
    );
    tx.credits().update_pool(&changed).await.unwrap();
    assert_not_found(
        tx.credits().update_pool(&CreditPool::empty(other.id, CreditKind::CallingMinutes)).await,
    );
    assert_eq!(tx.credits().lock_pool(other.id, CreditKind::CallingMinutes).await.unwrap(), None);
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    let listed = tx.credits().pools(org.id).await.unwrap();
    assert_eq!(listed.iter().map(|p| p.kind()).collect::<Vec<_>>(), CreditKind::ALL);
    assert_eq!(listed[1], changed);
    assert_eq!(listed[0], CreditPool::empty(org.id, CreditKind::Export));
    assert_eq!(
        tx.credits().pools(other.id).await.unwrap(),
        [CreditPool::empty(other.id, CreditKind::Export)]
    );
    assert_eq!(
        tx.credits().lock_pool(org.id, CreditKind::DirectDial).await.unwrap(),
        Some(changed)
    );
    assert!(tx.credits().pools(id(9)).await.unwrap().is_empty());
}

pub(crate) async fn allocations_put_create_replace_and_list(f: Factory) {
    let store = f.fresh().await;
    let (org, _) = seed_org_with_admin(&store, 1).await;
    let (other, _) = seed_org_with_admin(&store, 2).await;
    let (a, b, c) = (member(org.id, 10), member(org.id, 11), member(other.id, 12));
    seed_members(&store, &[a.clone(), b.clone(), c.clone()]).await;

    let mut tx = write(&store).await;
    assert_eq!(tx.credits().lock_allocation(a.id, CreditKind::Export).await.unwrap(), None);
    tx.credits()
        .put_allocation(&allocation(a.id, org.id, CreditKind::CallingMinutes, 50, 0))
        .await
        .unwrap();
    tx.credits()
        .put_allocation(&allocation(a.id, org.id, CreditKind::Export, 100, 10))
        .await
        .unwrap();
    tx.credits().put_allocation(&allocation(b.id, org.id, CreditKind::Export, 7, 7)).await.unwrap();
    tx.credits()
        .put_allocation(&allocation(c.id, other.id, CreditKind::Export, 1, 0))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = write(&store).await;
    let replaced = allocation(a.id, org.id, CreditKind::Export, 80, 30);
    assert_eq!(
        tx.credits().lock_allocation(a.id, CreditKind::Export).await.unwrap(),
        Some(allocation(a.id, org.id, CreditKind::Export, 100, 10))
    );
    tx.credits().put_allocation(&replaced).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert_eq!(
        tx.credits().lock_allocation(a.id, CreditKind::Export).await.unwrap(),
        Some(replaced)
    );
    assert_eq!(tx.credits().lock_allocation(a.id, CreditKind::DirectDial).await.unwrap(), None);
    // Only the kinds ever allocated, in kind order.
    assert_eq!(
        tx.credits().allocations_of_member(a.id).await.unwrap(),
        [replaced, allocation(a.id, org.id, CreditKind::CallingMinutes, 50, 0)]
    );
    let mut of_org = tx.credits().allocations_of_org(org.id).await.unwrap();
    of_org.sort_by_key(|x| (x.member_id(), x.kind()));
    assert_eq!(
        of_org,
        [
            replaced,
            allocation(a.id, org.id, CreditKind::CallingMinutes, 50, 0),
            allocation(b.id, org.id, CreditKind::Export, 7, 7)
        ]
    );
    assert_eq!(
        tx.credits().allocations_of_org(other.id).await.unwrap(),
        [allocation(c.id, other.id, CreditKind::Export, 1, 0)]
    );
    assert!(tx.credits().allocations_of_member(id(99)).await.unwrap().is_empty());
}

pub(crate) async fn ledger_entries_round_trip(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let sub = member(org.id, 10);
    seed_members(&store, std::slice::from_ref(&sub)).await;
    let entries = vec![
        grant(1, org.id, CreditKind::CallingCredits, 1_000_000_000, at(1)),
        LedgerEntry {
            actor: Principal::System,
            entry_type: EntryType::Expire,
            reason: None,
            ..grant(2, org.id, CreditKind::Export, 5, at(2))
        },
        LedgerEntry {
            acting_as: Some(sub.id),
            reason: Some(Reason::parse("während des Urlaubs").unwrap()),
            ..allocate(3, org.id, admin.id, sub.id, CreditKind::DirectDial, 12, at(3))
        },
        LedgerEntry {
            entry_type: EntryType::Reclaim,
            ..allocate(4, org.id, admin.id, sub.id, CreditKind::DirectDial, 2, at(4))
        },
        consume(5, org.id, sub.id, Some(sub.id), "evt-1", 3, at(5)),
        consume(6, org.id, admin.id, None, "evt-2", 4, at(6)),
    ];
    let mut tx = write(&store).await;
    for e in &entries {
        tx.credits().append(e).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let all = tx
        .credits()
        .ledger(org.id, LedgerFilter::default(), Page { after: None, limit: 100 })
        .await
        .unwrap();
    assert_eq!(all, entries);
}

pub(crate) async fn consumption_event_ids_are_unique_per_org(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let (other, other_admin) = seed_org_with_admin(&store, 2).await;
    let mut tx = write(&store).await;
    let first = consume(1, org.id, admin.id, None, "evt-1", 3, at(1));
    tx.credits().append(&first).await.unwrap();
    assert_conflict(
        tx.credits().append(&consume(2, org.id, admin.id, None, "evt-1", 9, at(2))).await,
        UniqueKey::ConsumptionEvent,
    );
    // Another organisation may use the same event id; entries without one never clash.
    let theirs = consume(3, other.id, other_admin.id, None, "evt-1", 5, at(3));
    tx.credits().append(&theirs).await.unwrap();
    tx.credits().append(&grant(4, org.id, CreditKind::Export, 10, at(4))).await.unwrap();
    tx.credits().append(&grant(5, org.id, CreditKind::Export, 10, at(4))).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    let evt = EventId::parse("evt-1").unwrap();
    assert_eq!(tx.credits().find_consumption(org.id, &evt).await.unwrap(), Some(first));
    assert_eq!(tx.credits().find_consumption(other.id, &evt).await.unwrap(), Some(theirs));
    assert_eq!(
        tx.credits().find_consumption(org.id, &EventId::parse("evt-9").unwrap()).await.unwrap(),
        None
    );
}

pub(crate) async fn ledger_filters_and_cursor_paging(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let (other, _) = seed_org_with_admin(&store, 2).await;
    let (a, b) = (member(org.id, 10), member(org.id, 11));
    seed_members(&store, &[a.clone(), b.clone()]).await;
    // Appended out of time order; several share a time, so ids break ties.
    let entries = vec![
        allocate(30, org.id, admin.id, a.id, CreditKind::Export, 5, at(20)),
        grant(12, org.id, CreditKind::Export, 100, at(10)),
        grant(11, org.id, CreditKind::DirectDial, 50, at(10)),
        allocate(31, org.id, admin.id, b.id, CreditKind::DirectDial, 6, at(20)),
        consume(40, org.id, a.id, Some(a.id), "e1", 1, at(30)),
        allocate(20, org.id, admin.id, a.id, CreditKind::DirectDial, 7, at(15)),
        grant(13, other.id, CreditKind::Export, 1, at(10)),
    ];
    let mut tx = write(&store).await;
    for e in &entries {
        tx.credits().append(e).await.unwrap();
    }
    tx.commit().await.unwrap();

    let ids =
        |es: Vec<LedgerEntry>| es.into_iter().map(|e| e.id.as_uuid().as_u128()).collect::<Vec<_>>();
    let mut tx = read(&store).await;
    let all = |after| Page { after, limit: 100 };
    let oldest_first =
        tx.credits().ledger(org.id, LedgerFilter::default(), all(None)).await.unwrap();
    assert_eq!(ids(oldest_first), [11, 12, 20, 30, 31, 40]);
    let of_a = LedgerFilter { member: Some(a.id), ..LedgerFilter::default() };
    assert_eq!(ids(tx.credits().ledger(org.id, of_a, all(None)).await.unwrap()), [20, 30, 40]);
    let exports = LedgerFilter { kind: Some(CreditKind::Export), ..LedgerFilter::default() };
    assert_eq!(ids(tx.credits().ledger(org.id, exports, all(None)).await.unwrap()), [12, 30, 40]);
    let allocations =
        LedgerFilter { entry_type: Some(EntryType::Allocate), ..LedgerFilter::default() };
    assert_eq!(
        ids(tx.credits().ledger(org.id, allocations, all(None)).await.unwrap()),
        [20, 30, 31]
    );
    let narrow = LedgerFilter {
        member: Some(a.id),
        kind: Some(CreditKind::DirectDial),
        entry_type: Some(EntryType::Allocate),
        naming: None,
    };
    assert_eq!(ids(tx.credits().ledger(org.id, narrow, all(None)).await.unwrap()), [20]);

    // Page through two at a time with the cursor of the last entry seen.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = tx
            .credits()
            .ledger(org.id, LedgerFilter::default(), Page { after, limit: 2 })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        let last = page.last().unwrap();
        after = Some(LedgerCursor { at: last.at, id: last.id });
        seen.extend(ids(page));
    }
    assert_eq!(seen, [11, 12, 20, 30, 31, 40]);
    // A cursor inside a group of equal times continues by id.
    let mid = LedgerCursor { at: at(20), id: id(30) };
    assert_eq!(
        ids(tx
            .credits()
            .ledger(org.id, LedgerFilter::default(), Page { after: Some(mid), limit: 10 })
            .await
            .unwrap()),
        [31, 40]
    );
    let of_a_after = tx
        .credits()
        .ledger(
            org.id,
            of_a,
            Page { after: Some(LedgerCursor { at: at(15), id: id(20) }), limit: 1 },
        )
        .await
        .unwrap();
    assert_eq!(ids(of_a_after), [30]);
    drop(tx);

    // `naming`: the member whose credits moved, the actor, or the member acted as.
    let mut tx = write(&store).await;
    let as_b = LedgerEntry {
        acting_as: Some(b.id),
        ..consume(41, org.id, admin.id, Some(b.id), "e2", 1, at(35))
    };
    tx.credits().append(&as_b).await.unwrap();
    tx.credits().append(&consume(50, org.id, admin.id, None, "e3", 1, at(40))).await.unwrap();
    tx.credits().append(&consume(51, other.id, admin.id, None, "e4", 1, at(40))).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let naming = |m| LedgerFilter { naming: Some(m), ..LedgerFilter::default() };
    assert_eq!(
        ids(tx.credits().ledger(org.id, naming(a.id), all(None)).await.unwrap()),
        [20, 30, 40]
    );
    assert_eq!(ids(tx.credits().ledger(org.id, naming(b.id), all(None)).await.unwrap()), [31, 41]);
    assert_eq!(
        ids(tx.credits().ledger(org.id, naming(admin.id), all(None)).await.unwrap()),
        [20, 30, 31, 41, 50]
    );
    let after_30 = Page { after: Some(LedgerCursor { at: at(20), id: id(30) }), limit: 2 };
    assert_eq!(
        ids(tx.credits().ledger(org.id, naming(admin.id), after_30).await.unwrap()),
        [31, 41]
    );
}

pub(crate) async fn consumption_reports_spender_and_period(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let (other, other_admin) = seed_org_with_admin(&store, 2).await;
    let sub = member(org.id, 10);
    seed_members(&store, std::slice::from_ref(&sub)).await;
    let from_allocation = consume(1, org.id, sub.id, Some(sub.id), "e1", 3, at(100));
    // An admin acting as the sub-user spends the sub-user's allocation.
    let impersonated = LedgerEntry {
        acting_as: Some(sub.id),
        ..consume(2, org.id, admin.id, Some(sub.id), "e2", 4, at(200))
    };
    let from_pool = consume(3, org.id, admin.id, None, "e3", 5, at(300));
    let mut tx = write(&store).await;
    for e in [
        &from_allocation,
        &impersonated,
        &from_pool,
        &consume(4, org.id, sub.id, Some(sub.id), "e4", 6, at(400)),
        &consume(5, other.id, other_admin.id, None, "e5", 7, at(150)),
        &allocate(6, org.id, admin.id, sub.id, CreditKind::Export, 50, at(150)),
        &grant(7, org.id, CreditKind::Export, 80, at(150)),
    ] {
        tx.credits().append(e).await.unwrap();
    }
    tx.commit().await.unwrap();

    let record = |e: &LedgerEntry, spender: MemberId| ConsumptionRecord {
        at: e.at,
        spender: Some(spender),
        from_pool: e.member_id.is_none(),
        kind: e.kind,
        amount: e.amount,
        data_type: DataType::parse("email").unwrap(),
        provider: Provider::parse("acme-data").unwrap(),
    };
    let sorted = |mut v: Vec<ConsumptionRecord>| {
        v.sort_by_key(|r| (r.at, r.amount));
        v
    };
    let mut tx = read(&store).await;
    // [from, to): 100 is in, 400 is out.
    let team = sorted(tx.credits().consumption(org.id, None, at(100), at(400)).await.unwrap());
    assert_eq!(
        team,
        [
            record(&from_allocation, sub.id),
            record(&impersonated, sub.id),
            record(&from_pool, admin.id)
        ]
    );
    assert!(team[2].from_pool && !team[0].from_pool && !team[1].from_pool);
    let of_sub =
        sorted(tx.credits().consumption(org.id, Some(sub.id), at(0), at(1000)).await.unwrap());
    assert_eq!(of_sub.iter().map(|r| r.amount).collect::<Vec<_>>(), [3, 4, 6]);
    let of_admin = tx.credits().consumption(org.id, Some(admin.id), at(0), at(1000)).await.unwrap();
    assert_eq!(of_admin, [record(&from_pool, admin.id)]);
    assert!(tx.credits().consumption(org.id, None, at(101), at(200)).await.unwrap().is_empty());
    assert_eq!(tx.credits().consumption(other.id, None, at(0), at(1000)).await.unwrap().len(), 1);
}

/// Usage reports add up in the store: sums per period (`[bounds[i], bounds[i + 1])`),
/// spender, kind, data type and provider, optionally of one spender; nothing outside the
/// bounds, nothing of other organisations, no rows for empty groups.
pub(crate) async fn consumption_totals_per_period_spender_and_type(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let (other, other_admin) = seed_org_with_admin(&store, 2).await;
    let sub = member(org.id, 10);
    seed_members(&store, std::slice::from_ref(&sub)).await;
    let phone = LedgerEntry {
        kind: CreditKind::DirectDial,
        consumption: Some(ConsumptionDetail {
            data_type: DataType::parse("phone_number").unwrap(),
            provider: Provider::parse("acme-data").unwrap(),
            event_id: EventId::parse("e6").unwrap(),
        }),
        ..consume(6, org.id, sub.id, Some(sub.id), "e6", 2, at(120))
    };
    let mut tx = write(&store).await;
    for e in [
        &consume(1, org.id, sub.id, Some(sub.id), "e1", 3, at(100)),
        &consume(2, org.id, sub.id, Some(sub.id), "e2", 4, at(249)),
        &consume(3, org.id, admin.id, None, "e3", 5, at(250)),
        &consume(4, org.id, sub.id, Some(sub.id), "e4", 6, at(400)),
        &consume(5, other.id, other_admin.id, None, "e5", 7, at(150)),
        &phone,
        &allocate(7, org.id, admin.id, sub.id, CreditKind::Export, 50, at(150)),
        &grant(8, org.id, CreditKind::Export, 80, at(150)),
    ] {
        tx.credits().append(e).await.unwrap();
    }
    tx.commit().await.unwrap();

    let total = |period, spender: MemberId, kind, data_type: &str, amount| ConsumptionTotal {
        period,
        spender: Some(spender),
        kind,
        data_type: DataType::parse(data_type).unwrap(),
        provider: Provider::parse("acme-data").unwrap(),
        amount,
    };
    let sorted = |mut v: Vec<ConsumptionTotal>| {
        v.sort_by_key(|t| (t.period, t.kind, t.amount));
        v
    };
    let mut tx = read(&store).await;
    let bounds = [at(100), at(250), at(400)];
    // [100, 250) then [250, 400): 249 is in the first, 250 in the second, 400 in neither.
    let team = sorted(tx.credits().consumption_totals(org.id, None, &bounds).await.unwrap());
    assert_eq!(
        team,
        [
            total(0, sub.id, CreditKind::Export, "email", 7),
            total(0, sub.id, CreditKind::DirectDial, "phone_number", 2),
            total(1, admin.id, CreditKind::Export, "email", 5),
        ]
    );
    let of_sub = sorted(
        tx.credits().consumption_totals(org.id, Some(sub.id), &[at(0), at(1000)]).await.unwrap(),
    );
    assert_eq!(
        of_sub,
        [
            total(0, sub.id, CreditKind::Export, "email", 13),
            total(0, sub.id, CreditKind::DirectDial, "phone_number", 2),
        ]
    );
    let of_other = tx.credits().consumption_totals(other.id, None, &[at(0), at(1000)]).await;
    assert_eq!(of_other.unwrap(), [total(0, other_admin.id, CreditKind::Export, "email", 7)]);
    // Many periods, most of them empty: only the ones with consumption have rows.
    let seconds: Vec<_> = (0..=500).map(at).collect();
    let fine = sorted(tx.credits().consumption_totals(org.id, None, &seconds).await.unwrap());
    let periods: Vec<_> = fine.iter().map(|t| (t.period, t.amount)).collect();
    assert_eq!(periods, [(100, 3), (120, 2), (249, 4), (250, 5), (400, 6)]);
    assert!(tx.credits().consumption_totals(org.id, None, &[at(0)]).await.unwrap().is_empty());
    assert!(tx.credits().consumption_totals(org.id, None, &[]).await.unwrap().is_empty());

    // The same consumption summed per period and per detail, as usage reports read it.
    let sum = |spender: MemberId, kind, data_type: &str, amount| ConsumptionSum {
        spender: Some(spender),
        kind,
        data_type: DataType::parse(data_type).unwrap(),
        provider: Provider::parse("acme-data").unwrap(),
        amount,
    };
    let team = tx.credits().consumption_sums(org.id, None, &bounds).await.unwrap();
    let mut details = vec![
        sum(sub.id, CreditKind::Export, "email", 7),
        sum(sub.id, CreditKind::DirectDial, "phone_number", 2),
        sum(admin.id, CreditKind::Export, "email", 5),
    ];
    details.sort_by_key(|d| (d.spender, d.kind));
    assert_eq!(team, ConsumptionSums { per_period: vec![9, 5], per_detail: details });
    let of_sub = tx.credits().consumption_sums(org.id, Some(sub.id), &[at(0), at(1000)]).await;
    assert_eq!(
        of_sub.unwrap(),
        ConsumptionSums {
            per_period: vec![15],
            per_detail: vec![
                sum(sub.id, CreditKind::Export, "email", 13),
                sum(sub.id, CreditKind::DirectDial, "phone_number", 2),
            ],
        }
    );
    // Periods with nothing spent are zeros; no bounds or one bound, no periods.
    let fine = tx.credits().consumption_sums(org.id, None, &seconds).await.unwrap();
    assert_eq!(fine.per_period.len(), 500);
    assert_eq!((fine.per_period[100], fine.per_period[101], fine.total()), (3, 0, 20));
    let none = tx.credits().consumption_sums(org.id, None, &[at(0)]).await.unwrap();
    assert_eq!(none, ConsumptionSums::default());
    assert_eq!(tx.credits().consumption_sums(org.id, None, &[]).await.unwrap(), none);
}

/// Sums per period, spender, kind, data type and provider of the raw consumptions that
/// `consumption` lists: what `consumption_totals` must return, whatever it reads.
fn summed_from_records(
    records: &[account_core::domain::credits::ConsumptionRecord],
    bounds: &[chrono::DateTime<chrono::Utc>],
) -> Vec<ConsumptionTotal> {
    let mut sums = std::collections::BTreeMap::new();
    for r in records {
        let Some(period) = bounds.windows(2).position(|b| b[0] <= r.at && r.at < b[1]) else {
            continue;
        };
        let key = (period, r.spender, r.kind, r.data_type.as_str(), r.provider.as_str());
        *sums.entry(key).or_insert(0) += r.amount;
    }
    sums.into_iter()
        .map(|((period, spender, kind, data_type, provider), amount)| ConsumptionTotal {
            period,
            spender,
            kind,
            data_type: DataType::parse(data_type).unwrap(),
            provider: Provider::parse(provider).unwrap(),
            amount,
        })
        .collect()
}

/// Months, weeks and days of a report in zones from UTC−11 to UTC+14 (half and quarter hours
/// included, and a 23- and a 25-hour day): the totals equal the raw consumptions' sums, for
/// the team and for one member. (The SQL stores read these from day and month roll-ups, a
/// month less its other days where that reads fewer, plus the raw consumptions near each
/// bound.)
pub(crate) async fn consumption_totals_match_raw_sums_in_any_zone(f: Factory) {
    use chrono::{Duration, TimeZone, Utc};
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let (other, other_admin) = seed_org_with_admin(&store, 2).await;
    let subs = [member(org.id, 10), member(org.id, 11)];
    seed_members(&store, &subs).await;
    let start = Utc.with_ymd_and_hms(2026, 1, 20, 0, 0, 0).unwrap();
    let types = ["email", "phone_number"];
    let providers = ["acme-data", "other-data"];
    let mut tx = write(&store).await;
    let mut seed: u64 = 7;
    for n in 0..360_u128 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let r = seed >> 33;
        // Every 5th on an exact hour (midnights and bounds included), the rest anywhere.
        let minutes = i64::try_from(r % (80 * 24 * 60)).unwrap();
        let minutes = if n % 5 == 0 { minutes - minutes % 60 } else { minutes };
        let when = start + Duration::minutes(minutes);
        let (actor, spender) = match r % 4 {
            0 => (admin.id, None),
            1 | 2 => (subs[0].id, Some(subs[0].id)),
            _ => (subs[1].id, Some(subs[1].id)),
        };
        let event = format!("ev{n}");
        let entry = LedgerEntry {
            kind: if r.is_multiple_of(3) { CreditKind::DirectDial } else { CreditKind::Export },
            consumption: Some(ConsumptionDetail {
                data_type: DataType::parse(types[usize::try_from(r % 2).unwrap()]).unwrap(),
                provider: Provider::parse(providers[usize::try_from((r / 2) % 2).unwrap()])
                    .unwrap(),
                event_id: EventId::parse(&event).unwrap(),
            }),
            ..consume(
                n + 100,
                org.id,
                actor,
                spender,
                &event,
                i64::try_from(r % 9 + 1).unwrap(),
                when,
            )
        };
        tx.credits().append(&entry).await.unwrap();
    }
    let elsewhere = consume(1, other.id, other_admin.id, None, "x", 5, start + Duration::days(3));
    tx.credits().append(&elsewhere).await.unwrap();
    tx.commit().await.unwrap();

    // As usage reports read them: in a lookup unit, the sums one consistent read.
    let mut tx = store.lookup().await.unwrap();
    for offset in [0_i64, 60, -300, 330, 345, -210, 840, -660] {
        let local = |days: i64| start + Duration::days(days) - Duration::minutes(offset);
        let month =
            |m: u32| Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).unwrap() - Duration::minutes(offset);
        let series: [Vec<_>; 5] = [
            vec![local(3), month(2), month(3), month(4)],
            // Most of February and of March: each read as its month less its other days,
            // March's other days being the next bucket's.
            vec![local(16), month(3), local(64), local(78)],
            (0..9).map(|w| local(2 + 7 * w)).collect(),
            vec![
                local(10),
                local(11),
                local(12),
                local(12) + Duration::hours(23),
                local(14) + Duration::hours(1),
                local(15),
            ],
            vec![local(-5), local(90)],
        ];
        for bounds in &series {
            let (first, last) = (bounds[0], bounds[bounds.len() - 1]);
            for spender in [None, Some(subs[0].id)] {
                let records = tx.credits().consumption(org.id, spender, first, last).await.unwrap();
                let expected = summed_from_records(&records, bounds);
                let mut got =
                    tx.credits().consumption_totals(org.id, spender, bounds).await.unwrap();
                got.sort_by(|a, b| {
                    (a.period, a.spender, a.kind, a.data_type.as_str(), a.provider.as_str()).cmp(&(
                        b.period,
                        b.spender,
                        b.kind,
                        b.data_type.as_str(),
                        b.provider.as_str(),
                    ))
                });
                assert!(!expected.is_empty());
                assert_eq!(
                    got, expected,
                    "offset {offset} min, spender {spender:?}, bounds {bounds:?}"
                );
                // The same sums per period and per detail, as usage reports read them.
                let both = tx.credits().consumption_sums(org.id, spender, bounds).await.unwrap();
                assert_eq!(
                    both,
                    ConsumptionSums::of(&expected, bounds.len() - 1),
                    "sums, offset {offset} min, spender {spender:?}, bounds {bounds:?}"
                );
            }
        }
    }
}
