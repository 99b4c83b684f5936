//! Idempotency-Keys through the use cases on two stores over one database: the key's
//! reservation, the effect and the outcome commit in one unit, so a key sent many times at
//! once has one effect and every other call replays it; a call whose unit did not commit
//! leaves its key free; a key is refused for another request, and unreplayable when an older
//! server recorded it without an outcome.

use std::sync::Arc;

use account_core::domain::credits::{CreditKind, EntryType};
use account_core::domain::idempotency::{IdempotencyKey, KeyConflict};
use account_core::ports::{Clock, IdempotencyRecord};
use account_core::services::credits::AllocateError;
use account_core::services::operator::Operator;
use account_core::services::team::{AddMemberError, NewMember};
use account_memory::FixedClock;
use chrono::Duration;

use super::Factory;
use super::concurrency::{add, organisation, two_processes, whole_ledger};
use crate::fixtures::{read, write};

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::parse(k).unwrap()
}

pub(crate) async fn one_key_sent_many_times_has_one_effect(f: Factory) {
    const CALLS: usize = 24;
    let processes = two_processes(&f).await;
    let (org, _, admin) = organisation(&processes[0], 5).await;
    let sub = add(&processes[0], &admin, 1).await;
    processes[1]
        .operator()
        .grant_credits(&Operator::new("suite"), org, (CreditKind::Export, 1_000, "invoice"), None)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..CALLS {
        let accounts = processes[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let k = key("alloc-once");
            accounts
                .credits()
                .allocate(&admin, sub.id, CreditKind::Export, 7, Some("onboarding"), Some(&k))
                .await
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().expect("every call answers with the one allocation"));
    }
    let fresh = outcomes.iter().filter(|o| !o.replayed).count();
    let store = processes.store(0);
    let ledger = whole_ledger(&store, org).await;
    let allocations: Vec<_> =
        ledger.iter().filter(|e| e.entry_type == EntryType::Allocate).collect();
    println!(
        "   [{}] one Idempotency-Key {CALLS} times at once on 2 pools: {fresh} ran, {} replayed, \
         {} allocation entries",
        f.name(),
        CALLS - fresh,
        allocations.len()
    );
    assert_eq!(fresh, 1, "exactly one call ran");
    assert_eq!(allocations.len(), 1, "one effect");
    assert!(
        outcomes.iter().all(|o| o.entry_id == allocations[0].id && o.allocation.allocated() == 7)
    );
    let mut tx = read(&store).await;
    let held = tx.credits().lock_allocation(sub.id, CreditKind::Export).await.unwrap().unwrap();
    assert_eq!(held.allocated(), 7);
}

pub(crate) async fn a_call_that_did_not_commit_leaves_its_key_free(f: Factory) {
    let processes = two_processes(&f).await;
    let (org, _, admin) = organisation(&processes[0], 5).await;
    let sub = add(&processes[0], &admin, 1).await;
    let k = key("retry-me");
    // Refused (nothing granted yet): the unit rolls back, with the key's reservation.
    let refused = processes[0]
        .credits()
        .allocate(&admin, sub.id, CreditKind::Export, 5, None, Some(&k))
        .await;
    assert!(matches!(refused, Err(AllocateError::InsufficientHeadroom { .. })), "{refused:?}");
    processes[0]
        .operator()
        .grant_credits(&Operator::new("suite"), org, (CreditKind::Export, 10, "invoice"), None)
        .await
        .unwrap();
    let retried = processes[1]
        .credits()
        .allocate(&admin, sub.id, CreditKind::Export, 5, None, Some(&k))
        .await
        .unwrap();
    assert!(!retried.replayed, "the retry ran: the refused call left no record");
    let again = processes[0]
        .credits()
        .allocate(&admin, sub.id, CreditKind::Export, 5, None, Some(&k))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.entry_id, retried.entry_id);

    // A unit that reserved a key and ended without a commit (a crash) leaves no trace.
    let store = processes.store(0);
    let mut tx = write(&store).await;
    let record =
        crate::fixtures::idempotency("member:1:addMember", "crashed", crate::fixtures::t0());
    tx.idempotency().insert(&record).await.unwrap();
    drop(tx);
    let mut tx = read(&store).await;
    assert_eq!(tx.idempotency().get("member:1:addMember", "crashed").await.unwrap(), None);
}

pub(crate) async fn a_key_is_refused_for_another_request(f: Factory) {
    let processes = two_processes(&f).await;
    let (org, _, admin) = organisation(&processes[0], 5).await;
    let sub = add(&processes[0], &admin, 1).await;
    processes[0]
        .operator()
        .grant_credits(&Operator::new("suite"), org, (CreditKind::Export, 100, "invoice"), None)
        .await
        .unwrap();
    let k = key("k-1");
    let credits = processes[0].credits();
    credits.allocate(&admin, sub.id, CreditKind::Export, 5, None, Some(&k)).await.unwrap();
    for other in [
        credits.allocate(&admin, sub.id, CreditKind::Export, 6, None, Some(&k)).await,
        credits.allocate(&admin, sub.id, CreditKind::DirectDial, 5, None, Some(&k)).await,
        credits.allocate(&admin, sub.id, CreditKind::Export, 5, Some("why"), Some(&k)).await,
    ] {
        assert!(
            matches!(other, Err(AllocateError::IdempotencyKey(KeyConflict::Reused))),
            "{other:?}"
        );
    }
    // Keys are scoped to the operation: the same key reclaims independently.
    let reclaimed =
        credits.reclaim(&admin, sub.id, CreditKind::Export, 5, None, Some(&k)).await.unwrap();
    assert!(!reclaimed.replayed);
    // And to the caller: another admin's call with the same key runs.
    let new = NewMember {
        first_name: "Bo".into(),
        last_name: None,
        email: "bo@example.com".into(),
        plan: None,
    };
    let added = processes[1].team().add_member(&admin, &new, Some(&k)).await.unwrap();
    assert!(!added.replayed);
    let replay = processes[0].team().add_member(&admin, &new, Some(&k)).await.unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.member.id, added.member.id);
}

pub(crate) async fn a_record_without_outcome_is_unreplayable_until_it_expires(f: Factory) {
    let processes = two_processes(&f).await;
    let (_, admin_member, admin) = organisation(&processes[0], 5).await;
    let store: Arc<_> = processes.store(0);
    // What an older server left: its own fingerprint, no outcome.
    let scope = format!("member:{}:addMember", admin_member.id);
    let now = FixedClock::default().now();
    let mut tx = write(&store).await;
    let legacy = IdempotencyRecord {
        scope: scope.clone(),
        key: "old-key".into(),
        fingerprint: "0123".into(),
        outcome: None,
        created_at: now,
    };
    tx.idempotency().insert(&legacy).await.unwrap();
    // The same, a day and a minute old: past its retention.
    let expired = IdempotencyRecord {
        key: "older-key".into(),
        created_at: now - Duration::hours(24) - Duration::minutes(1),
        ..legacy.clone()
    };
    tx.idempotency().insert(&expired).await.unwrap();
    tx.commit().await.unwrap();
    let new = NewMember {
        first_name: "Cy".into(),
        last_name: None,
        email: "cy@example.com".into(),
        plan: None,
    };
    let refused = processes[1].team().add_member(&admin, &new, Some(&key("old-key"))).await;
    assert!(
        matches!(refused, Err(AddMemberError::IdempotencyKey(KeyConflict::Unreplayable))),
        "{refused:?}"
    );
    // An expired key is forgotten: the call runs and records its outcome anew.
    let added = processes[1].team().add_member(&admin, &new, Some(&key("older-key"))).await;
    assert!(!added.unwrap().replayed);
    let mut tx = read(&store).await;
    let record = tx.idempotency().get(&scope, "older-key").await.unwrap().unwrap();
    assert!(record.outcome.is_some());
    assert_eq!(record.created_at, now);
}
