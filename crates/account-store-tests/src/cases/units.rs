//! Units of work: all or nothing, usable after a refused write, read units read only, and
//! times kept to the microsecond.

use account_core::domain::audit::Principal;
use account_core::domain::credits::{CreditAmount, CreditKind, CreditPool};
use account_core::domain::idempotency::Outcome;
use account_core::domain::member::Member;
use account_core::domain::organisation::Organisation;
use account_core::ports::{LedgerFilter, Page, StoreError, UniqueKey};
use chrono::{DateTime, Duration, Utc};
use std::time::Duration as StdDuration;

use super::Factory;
use crate::fixtures::{
    allocation, assert_conflict, at, audit, entry_id, grant, idempotency, mail, member,
    organisation, pools, read, seed_members, seed_org, seed_org_with_admin, session, write,
};

pub(crate) async fn dropped_unit_leaves_nothing(f: Factory) {
    let store = f.fresh().await;
    let org = organisation(1);
    {
        let mut tx = write(&store).await;
        tx.organisations().insert(&org).await.unwrap();
        for p in pools(org.id) {
            tx.credits().insert_pool(&p).await.unwrap();
        }
        tx.members().insert(&member(org.id, 10)).await.unwrap();
        tx.credits().append(&grant(1, org.id, CreditKind::Export, 10, at(1))).await.unwrap();
        tx.audit().append(&audit(1, Some(org.id), at(1), Principal::Operator)).await.unwrap();
        tx.outbox().enqueue(&mail(1, at(1), at(1))).await.unwrap();
        // Dropped here without commit.
    }
    let mut tx = read(&store).await;
    assert_eq!(tx.organisations().get(org.id).await.unwrap(), None);
    assert!(tx.credits().pools(org.id).await.unwrap().is_empty());
    assert_eq!(tx.members().get(member(org.id, 10).id).await.unwrap(), None);
    assert!(
        tx.credits()
            .ledger(org.id, LedgerFilter::default(), Page { after: None, limit: 10 })
            .await
            .unwrap()
            .is_empty()
    );
    assert!(tx.audit().list(org.id, Page { after: None, limit: 10 }).await.unwrap().is_empty());
    assert!(tx.outbox().pending(10).await.unwrap().is_empty());
    drop(tx);
    // And the store is free for the next unit.
    let mut tx = write(&store).await;
    tx.organisations().insert(&org).await.unwrap();
    tx.commit().await.unwrap();
}

pub(crate) async fn unit_failing_on_its_last_statement_leaves_nothing(f: Factory) {
    let store = f.fresh().await;
    let (org, _) = seed_org_with_admin(&store, 1).await;
    seed_members(&store, &[member(org.id, 10)]).await;
    let newcomer = member(org.id, 11);
    let result: Result<(), StoreError> = async {
        let mut tx = store.write().await?;
        tx.members().insert(&newcomer).await?;
        tx.sessions().insert(&session(1, newcomer.id, org.id, at(1))).await?;
        tx.credits().append(&grant(1, org.id, CreditKind::Export, 10, at(1))).await?;
        // The last statement breaks a rule; the use case returns with `?`.
        tx.members()
            .insert(&Member { username: member(org.id, 10).username, ..member(org.id, 12) })
            .await?;
        tx.commit().await
    }
    .await;
    assert_conflict(result, UniqueKey::Username);
    let mut tx = read(&store).await;
    assert_eq!(tx.members().get(newcomer.id).await.unwrap(), None);
    assert!(tx.sessions().list_for_member(newcomer.id).await.unwrap().is_empty());
    assert!(
        tx.credits()
            .ledger(org.id, LedgerFilter::default(), Page { after: None, limit: 10 })
            .await
            .unwrap()
            .is_empty()
    );
}

/// What a write unit wrote is what its later statements read, in the order written (a SQL
/// store may hold writes back and send them with the unit's next statement), and a unit that
/// ends without commit keeps none of it.
pub(crate) async fn unit_reads_back_its_own_writes(f: Factory) {
    let store = f.fresh().await;
    let (org, _) = seed_org_with_admin(&store, 1).await;
    let m = member(org.id, 10);
    seed_members(&store, std::slice::from_ref(&m)).await;
    let key = idempotency("member:1:allocateCredits", "k", at(1));
    let outcome = Outcome::MemberAdded { member: m.id };
    let export = CreditKind::Export;
    let page = Page { after: None, limit: 10 };
    for commit in [false, true] {
        let mut tx = write(&store).await;
        tx.idempotency().insert(&key).await.unwrap();
        let pool = tx.credits().lock_pool(org.id, export).await.unwrap().unwrap();
        let moved = CreditPool::restore(org.id, export, 10, 4, 0);
        tx.credits().update_pool(&moved).await.unwrap();
        let given = allocation(m.id, org.id, export, 4, 0);
        tx.credits().put_allocation(&given).await.unwrap();
        tx.credits().append(&grant(1, org.id, export, 10, at(1))).await.unwrap();
        tx.audit().append(&audit(1, Some(org.id), at(1), Principal::Operator)).await.unwrap();
        tx.idempotency().complete(&key.scope, &key.key, &outcome).await.unwrap();
        assert_eq!(tx.credits().lock_pool(org.id, export).await.unwrap(), Some(moved));
        assert_eq!(tx.credits().lock_allocation(m.id, export).await.unwrap(), Some(given));
        let entry = tx.credits().entry(org.id, entry_id(1)).await.unwrap();
        assert_eq!(entry.map(|e| e.amount), Some(10));
        assert_eq!(tx.audit().list(org.id, page).await.unwrap().len(), 1);
        let record = tx.idempotency().get(&key.scope, &key.key).await.unwrap();
        assert_eq!(record.and_then(|r| r.outcome), Some(outcome.clone()));
        if commit {
            tx.commit().await.unwrap();
        } else {
            drop(tx);
        }
        let mut tx = read(&store).await;
        let kept = if commit { moved } else { pool };
        assert_eq!(tx.credits().lock_pool(org.id, export).await.unwrap(), Some(kept));
        let allocation = tx.credits().lock_allocation(m.id, export).await.unwrap();
        assert_eq!(allocation, commit.then_some(given));
        assert_eq!(tx.credits().entry(org.id, entry_id(1)).await.unwrap().is_some(), commit);
        assert_eq!(tx.audit().list(org.id, page).await.unwrap().len(), usize::from(commit));
        let record = tx.idempotency().get(&key.scope, &key.key).await.unwrap();
        assert_eq!(record.and_then(|r| r.outcome), commit.then(|| outcome.clone()));
    }
}

pub(crate) async fn conflict_leaves_unit_usable(f: Factory) {
    let store = f.fresh().await;
    let (org, _) = seed_org_with_admin(&store, 1).await;
    seed_members(&store, &[member(org.id, 10)]).await;
    let mut tx = write(&store).await;
    let first = member(org.id, 11);
    tx.members().insert(&first).await.unwrap();
    let clash = Member { email: member(org.id, 10).email, ..member(org.id, 12) };
    assert_conflict(tx.members().insert(&clash).await, UniqueKey::LoginEmail);
    // A use case may catch the conflict and go on: the unit still works and commits
    // everything but the refused statement.
    let retry = member(org.id, 12);
    tx.members().insert(&retry).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.members().get(first.id).await.unwrap(), Some(first));
    assert_eq!(tx.members().get(retry.id).await.unwrap(), Some(retry));
}

pub(crate) async fn read_unit_refuses_writes_and_sees_committed_data(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let mut tx = read(&store).await;
    assert_eq!(tx.members().get(admin.id).await.unwrap(), Some(admin.clone()));
    assert!(matches!(tx.organisations().insert(&organisation(2)).await, Err(StoreError::Other(_))));
    assert!(matches!(tx.members().update(&admin).await, Err(StoreError::Other(_))));
    assert!(matches!(tx.outbox().claim_due(at(0), at(1), 10).await, Err(StoreError::Other(_))));
    assert!(matches!(
        tx.sessions().delete_for_member(admin.id, None).await,
        Err(StoreError::Other(_))
    ));
    // Committing a read unit is allowed and does nothing.
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.organisations().get(organisation(2).id).await.unwrap(), None);
    assert_eq!(tx.organisations().get(org.id).await.unwrap(), Some(org));
    assert!(store.ping().await.is_ok());
}

/// A lookup unit (authentication's) reads what is committed and refuses writes like a read
/// unit. (Whether it may see what commits while it is open is the store's: the memory store
/// holds its lock, SQL stores read each statement afresh.)
pub(crate) async fn lookup_unit_reads_the_latest_and_refuses_writes(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let mut look = store.lookup().await.unwrap();
    assert_eq!(look.members().get(admin.id).await.unwrap(), Some(admin.clone()));
    assert_eq!(look.organisations().get(org.id).await.unwrap(), Some(org));
    assert_eq!(look.organisations().get(organisation(2).id).await.unwrap(), None);
    assert!(matches!(
        look.organisations().insert(&organisation(3)).await,
        Err(StoreError::Other(_))
    ));
    assert!(matches!(look.members().update(&admin).await, Err(StoreError::Other(_))));
    look.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.organisations().get(organisation(3).id).await.unwrap(), None);
}

pub(crate) async fn times_round_trip_at_microsecond_precision(f: Factory) {
    let store = f.fresh().await;
    // Times with and without microseconds, and ones whose digits would sort wrongly as text
    // if the precision varied (".5" against ".123456").
    let times: Vec<DateTime<Utc>> = vec![
        at(0),
        at(1) - Duration::microseconds(123_456),
        at(2) + Duration::microseconds(377_544),
        at(3) + Duration::microseconds(1),
        DateTime::parse_from_rfc3339("1999-12-31T23:59:59.999999Z").unwrap().with_timezone(&Utc),
    ];
    let mut tx = write(&store).await;
    for (n, t) in times.iter().enumerate() {
        let n = u128::try_from(n).unwrap() + 1;
        let org = Organisation { created_at: *t, ..organisation(n) };
        tx.organisations().insert(&org).await.unwrap();
        tx.audit()
            .append(&audit(n, Some(organisation(1).id), *t, Principal::System))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    for (n, t) in times.iter().enumerate() {
        let n = u128::try_from(n).unwrap() + 1;
        assert_eq!(
            tx.organisations().get(organisation(n).id).await.unwrap().unwrap().created_at,
            *t
        );
    }
    let mut expected = times.clone();
    expected.sort_unstable();
    expected.reverse();
    let listed: Vec<_> = tx
        .audit()
        .list(organisation(1).id, Page { after: None, limit: 10 })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.at)
        .collect();
    assert_eq!(listed, expected);
}

pub(crate) async fn second_writer_waits_for_the_lock_holder(f: Factory) {
    let store = f.fresh().await;
    let org = organisation(1);
    seed_org(&store, &org).await;
    let second = f.reopen().await;
    let mut holder = write(&store).await;
    let mut pool = holder.credits().lock_pool(org.id, CreditKind::Export).await.unwrap().unwrap();
    let contender = tokio::spawn(async move {
        let mut tx = second.write().await.unwrap();
        let seen = tx.credits().lock_pool(org.id, CreditKind::Export).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        seen
    });
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert!(!contender.is_finished(), "a second writer got past the pool lock while it was held");
    pool.grant(CreditAmount::new(77).unwrap());
    holder.credits().update_pool(&pool).await.unwrap();
    holder.commit().await.unwrap();
    // Once the holder commits, the contender reads what it wrote, not what it saw before.
    assert_eq!(contender.await.unwrap().total(), 77);
}

/// Every table refuses a second row with an existing id, as [`UniqueKey::PrimaryKey`], and the
/// unit does not commit. (Such a conflict means a bug, so the port lets it spoil the unit: each
/// is tried in its own; and a store that sends a write with the unit's next statement, as the
/// SQL stores do with ledger and audit entries on SQLite, reports it there or at the commit.)
pub(crate) async fn duplicate_ids_conflict_on_every_table(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let t = at(0);
    let mut tx = write(&store).await;
    let s = session(5, admin.id, org.id, t);
    let k = crate::fixtures::api_key(6, admin.id, org.id, t);
    let c = crate::fixtures::contact(7, org.id, "billing@acme.test", t);
    let g = grant(8, org.id, CreditKind::Export, 5, t);
    let a = audit(9, Some(org.id), t, Principal::Operator);
    let m = mail(10, t, t);
    let p = crate::fixtures::product(11, "Lead generation");
    tx.sessions().insert(&s).await.unwrap();
    tx.api_keys().insert(&k).await.unwrap();
    tx.contacts().insert(&c).await.unwrap();
    tx.credits().append(&g).await.unwrap();
    tx.audit().append(&a).await.unwrap();
    tx.outbox().enqueue(&m).await.unwrap();
    tx.catalogue().insert(&p).await.unwrap();
    tx.commit().await.unwrap();

    let other_email = crate::fixtures::contact(7, org.id, "tech@acme.test", t);
    let other_name = crate::fixtures::product(11, "Sales training");
    for table in ["sessions", "api_keys", "contacts", "ledger", "audit", "outbox", "catalogue"] {
        let mut tx = write(&store).await;
        let result = match table {
            "sessions" => tx.sessions().insert(&s).await,
            "api_keys" => tx.api_keys().insert(&k).await,
            "contacts" => tx.contacts().insert(&other_email).await,
            "ledger" => tx.credits().append(&g).await,
            "audit" => tx.audit().append(&a).await,
            "outbox" => tx.outbox().enqueue(&m).await,
            _ => tx.catalogue().insert(&other_name).await,
        };
        let result = match result {
            Ok(()) => tx.commit().await,
            Err(e) => Err(e),
        };
        assert_conflict(result, UniqueKey::PrimaryKey);
    }
    let mut tx = read(&store).await;
    assert_eq!(tx.audit().list(org.id, Page { after: None, limit: 10 }).await.unwrap().len(), 1);
    assert_eq!(
        tx.credits()
            .ledger(org.id, LedgerFilter::default(), Page { after: None, limit: 10 })
            .await
            .unwrap()
            .len(),
        1
    );
}
