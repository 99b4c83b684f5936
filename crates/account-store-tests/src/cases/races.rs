//! Races between a use case that moves credits and one that ends what it relies on, through
//! the real use cases on two stores over one database (two connection pools, as two server
//! processes): allocation against deletion and against disabling, consumption against
//! deletion, grants against expiries. Each race is run several rounds; after them the credit
//! invariants must hold: no unspent credits on an erased member, a pool's allocated credits
//! equal the sum of its allocations, and every balance equals the ledger's sums (rules 11, 12).

use std::sync::Arc;

use account_core::domain::credits::{CreditKind, EntryType, LedgerEntry};
use account_core::ids::{MemberId, OrganisationId};
use account_core::ports::Store;
use account_core::services::credits::{AllocateError, ConsumeError, ConsumeInput};
use account_core::services::operator::{Operator, OperatorError};
use account_core::services::profile::DeleteConfirmation;
use account_core::{Accounts, Denied};

use super::Factory;
use super::concurrency::{add, organisation, session_actor, two_processes, whole_ledger};
use crate::fixtures::read;

/// Rounds of each race: each round races a fresh sub-user.
const ROUNDS: usize = 4;
/// Concurrent allocations (or consumptions) per round.
const MOVES: usize = 6;

async fn grant(accounts: &Accounts, org: OrganisationId, amount: i64) {
    accounts
        .operator()
        .grant_credits(&Operator::new("suite"), org, (CreditKind::Export, amount, "invoice"), None)
        .await
        .unwrap();
}

/// The sum of `entry_type` entries of `kind`, of one member (`Some`) or of the pool itself
/// (`member = None` and `pool_only`), or of all.
fn total(
    ledger: &[LedgerEntry],
    kind: CreditKind,
    entry_type: EntryType,
    member: Option<Option<MemberId>>,
) -> i64 {
    ledger
        .iter()
        .filter(|e| e.kind == kind && e.entry_type == entry_type)
        .filter(|e| member.is_none_or(|m| e.member_id == m))
        .map(|e| e.amount)
        .sum()
}

/// The invariants every race must leave whole, read after the race on `store`.
async fn assert_credits_whole(store: &Arc<dyn Store>, org: OrganisationId) {
    let ledger = whole_ledger(store, org).await;
    let mut tx = read(store).await;
    let pools = tx.credits().pools(org).await.unwrap();
    let allocations = tx.credits().allocations_of_org(org).await.unwrap();
    for pool in &pools {
        let kind = pool.kind();
        let of = |t| total(&ledger, kind, t, None);
        assert_eq!(pool.total(), of(EntryType::Grant) - of(EntryType::Expire), "{kind:?} total");
        assert_eq!(
            pool.allocated(),
            of(EntryType::Allocate) - of(EntryType::Reclaim),
            "{kind:?} allocated"
        );
        assert_eq!(
            pool.spent_from_pool(),
            total(&ledger, kind, EntryType::Consume, Some(None)),
            "{kind:?} spent from the pool"
        );
        let held: i64 =
            allocations.iter().filter(|a| a.kind() == kind).map(|a| a.allocated()).sum();
        assert_eq!(
            pool.allocated(),
            held,
            "{kind:?}: the pool's allocated credits are the members'"
        );
        assert!(pool.headroom() >= 0, "{kind:?} overdrawn: {pool:?}");
    }
    for a in &allocations {
        let m = Some(Some(a.member_id()));
        let allocated = total(&ledger, a.kind(), EntryType::Allocate, m)
            - total(&ledger, a.kind(), EntryType::Reclaim, m);
        assert_eq!(a.allocated(), allocated, "allocation of {:?}", a.member_id());
        assert_eq!(a.used(), total(&ledger, a.kind(), EntryType::Consume, m));
        if tx.members().get(a.member_id()).await.unwrap().is_none() {
            assert_eq!(a.available(), 0, "unspent credits stranded on an erased member: {a:?}");
        }
    }
}

pub(crate) async fn allocation_racing_deletion_strands_nothing(f: Factory) {
    let processes = two_processes(&f).await;
    let (org, _, admin) = organisation(&processes[0], 20).await;
    grant(&processes[0], org, 10_000).await;
    let (mut allocated, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let sub = add(&processes[0], &admin, round).await;
        processes[1]
            .credits()
            .allocate(&admin, sub.id, CreditKind::Export, 20, None, None)
            .await
            .unwrap();
        let me = session_actor(&sub);
        let confirmation = DeleteConfirmation::TypedUsername(sub.username.as_str().to_owned());
        let mut moves = Vec::new();
        for i in 0..MOVES {
            let accounts = processes[i % 2].clone();
            moves.push(tokio::spawn(async move {
                accounts.credits().allocate(&admin, sub.id, CreditKind::Export, 5, None, None).await
            }));
        }
        let accounts = processes[round % 2].clone();
        let deletion =
            tokio::spawn(
                async move { accounts.profile().delete_account(&me, &confirmation).await },
            );
        for task in moves {
            match task.await.unwrap() {
                Ok(_) => allocated += 1,
                Err(AllocateError::MemberNotFound) => refused += 1,
                Err(other) => panic!("allocation racing a deletion: {other:?}"),
            }
        }
        deletion.await.unwrap().unwrap();
    }
    println!(
        "   [{}] allocation vs deletion: {} rounds, {allocated} allocations before the deletion, \
         {refused} refused after it",
        f.name(),
        ROUNDS
    );
    assert_eq!(allocated + refused, ROUNDS * MOVES);
    assert_credits_whole(&processes.store(1), org).await;
}

pub(crate) async fn allocation_racing_disable_lands_nothing_after_it(f: Factory) {
    let processes = two_processes(&f).await;
    let (org, _, admin) = organisation(&processes[0], 20).await;
    grant(&processes[0], org, 10_000).await;
    let store = processes.store(0);
    let (mut allocated, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let sub = add(&processes[0], &admin, round).await;
        let mut moves = Vec::new();
        for i in 0..MOVES {
            let accounts = processes[i % 2].clone();
            moves.push(tokio::spawn(async move {
                accounts.credits().allocate(&admin, sub.id, CreditKind::Export, 5, None, None).await
            }));
        }
        // The disable's answer, and what the member held right after it.
        let accounts = processes[(round + 1) % 2].clone();
        let reader = store.clone();
        let disable = tokio::spawn(async move {
            accounts.team().disable(&admin, sub.id).await.unwrap();
            let mut tx = read(&reader).await;
            tx.credits().lock_allocation(sub.id, CreditKind::Export).await.unwrap()
        });
        for task in moves {
            match task.await.unwrap() {
                Ok(_) => allocated += 1,
                Err(AllocateError::TargetDisabled) => refused += 1,
                Err(other) => panic!("allocation racing a disable: {other:?}"),
            }
        }
        let at_disable = disable.await.unwrap();
        let mut tx = read(&store).await;
        let after = tx.credits().lock_allocation(sub.id, CreditKind::Export).await.unwrap();
        assert_eq!(after, at_disable, "an allocation landed after the disable answered");
    }
    println!(
        "   [{}] allocation vs disable: {} rounds, {allocated} allocations before the disable, \
         {refused} refused after it",
        f.name(),
        ROUNDS
    );
    assert_eq!(allocated + refused, ROUNDS * MOVES);
    assert_credits_whole(&store, org).await;
}

pub(crate) async fn consumption_racing_deletion_strands_nothing(f: Factory) {
    let processes = two_processes(&f).await;
    let (org, _, admin) = organisation(&processes[0], 20).await;
    grant(&processes[0], org, 10_000).await;
    let (mut consumed, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let sub = add(&processes[0], &admin, round).await;
        processes[1]
            .credits()
            .allocate(&admin, sub.id, CreditKind::Export, 100, None, None)
            .await
            .unwrap();
        let me = session_actor(&sub);
        let confirmation = DeleteConfirmation::TypedUsername(sub.username.as_str().to_owned());
        let mut moves = Vec::new();
        for i in 0..MOVES {
            let accounts = processes[i % 2].clone();
            let input = ConsumeInput {
                kind: "export".into(),
                amount: 5,
                data_type: "email".into(),
                provider: "acme-data".into(),
                event_id: format!("evt-{round}-{i}"),
            };
            moves.push(tokio::spawn(
                async move { accounts.credits().consume(&me, &input, None).await },
            ));
        }
        let accounts = processes[round % 2].clone();
        let deletion =
            tokio::spawn(
                async move { accounts.profile().delete_account(&me, &confirmation).await },
            );
        for task in moves {
            match task.await.unwrap() {
                Ok(_) => consumed += 1,
                Err(ConsumeError::Denied(Denied::NotActive)) => refused += 1,
                Err(other) => panic!("consumption racing a deletion: {other:?}"),
            }
        }
        deletion.await.unwrap().unwrap();
    }
    println!(
        "   [{}] consumption vs deletion: {} rounds, {consumed} consumptions before the deletion, \
         {refused} refused after it",
        f.name(),
        ROUNDS
    );
    assert_eq!(consumed + refused, ROUNDS * MOVES);
    assert_credits_whole(&processes.store(0), org).await;
}

pub(crate) async fn grants_racing_expiries_keep_the_pool_whole(f: Factory) {
    const EACH: usize = 10;
    let processes = two_processes(&f).await;
    let (org, _, _) = organisation(&processes[0], 5).await;
    grant(&processes[0], org, 100).await;
    let mut tasks = Vec::new();
    for i in 0..2 * EACH {
        let accounts = processes[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let op = Operator::new("suite");
            let ops = accounts.operator();
            if i % 2 == 0 {
                ops.grant_credits(&op, org, (CreditKind::Export, 10, "top-up"), None)
                    .await
                    .map(|_| 10)
            } else {
                ops.expire_credits(&op, org, (CreditKind::Export, 60, "end of term"), None)
                    .await
                    .map(|_| -60)
            }
        }));
    }
    let (mut net, mut refused) = (100, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(change) => net += change,
            Err(OperatorError::InsufficientHeadroom { available, .. }) => {
                assert!(available < 60, "expiry refused with {available} unallocated");
                refused += 1;
            }
            Err(other) => panic!("grant or expiry: {other:?}"),
        }
    }
    let store = processes.store(1);
    let mut tx = read(&store).await;
    let pool = tx.credits().lock_pool(org, CreditKind::Export).await.unwrap().unwrap();
    drop(tx);
    println!(
        "   [{}] grants vs expiries: {EACH} grants of 10, {EACH} expiries of 60 ({refused} refused); \
         pool total {}",
        f.name(),
        pool.total()
    );
    assert_eq!(pool.total(), net);
    assert_credits_whole(&store, org).await;
}
