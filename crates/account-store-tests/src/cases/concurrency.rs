//! The rules that depend on locks, exercised through the real use cases of `account-core`
//! on two stores over one database (two connection pools, as two server processes), with many
//! tasks at once. The figures are printed (see them with `--nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use account_core::domain::credits::{CreditKind, EntryType, LedgerEntry};
use account_core::domain::member::{Member, MemberStatus};
use account_core::ids::{MemberId, OrganisationId, SessionId};
use account_core::ports::{LedgerCursor, LedgerFilter, Page, Store};
use account_core::services::credits::{AllocateError, ConsumeError, ConsumeInput};
use account_core::services::operator::{NewOrganisation, Operator};
use account_core::services::profile::{ProfileInput, SaveProfileError};
use account_core::services::team::{AddMemberError, NewMember};
use account_core::{Accounts, Actor, Credential, Ports, Settings};
use account_memory::{FastPasswordHasher, FixedClock, SeededRandom, TestKeyring};
use chrono::Duration;

use super::Factory;
use crate::fixtures::{at, id, mail, read, write};

/// The domain over `store`, with test stand-ins for the other ports. Each "process" gets its
/// own random seed, as two servers would have their own generators.
pub(super) fn accounts(store: Arc<dyn Store>, seed: u64) -> Accounts {
    let ports = Ports {
        store,
        clock: Arc::new(FixedClock::default()),
        random: Arc::new(SeededRandom::new(seed)),
        passwords: Arc::new(FastPasswordHasher::new()),
        keyring: Arc::new(TestKeyring::new(b"store contract suite")),
    };
    Accounts::new(ports, Settings::default())
}

/// Two "processes" on one database: the first on `fresh`, the second on `reopen`.
pub(super) async fn two_processes(f: &Factory) -> Processes {
    let first = f.fresh().await;
    let second = f.reopen().await;
    Processes {
        accounts: [accounts(first.clone(), 1), accounts(second.clone(), 2)],
        stores: [first, second],
    }
}

/// Two "processes" (see [`two_processes`]): the domain of each, and its store to look
/// through. `processes[i]` is the domain.
pub(super) struct Processes {
    accounts: [Accounts; 2],
    stores: [Arc<dyn Store>; 2],
}

impl Processes {
    /// The store under process `i`.
    pub(super) fn store(&self, i: usize) -> Arc<dyn Store> {
        self.stores[i].clone()
    }
}

impl std::ops::Index<usize> for Processes {
    type Output = Accounts;

    fn index(&self, i: usize) -> &Accounts {
        &self.accounts[i]
    }
}

pub(super) fn session_actor(member: &Member) -> Actor {
    Actor::new(
        member.id,
        member.org_id,
        None,
        Credential::Session(id::<SessionId>(member.id.as_uuid().as_u128())),
    )
}

/// An organisation with `licences`, its first admin, and the admin as an actor.
pub(super) async fn organisation(
    accounts: &Accounts,
    licences: u32,
) -> (OrganisationId, Member, Actor) {
    let created = accounts
        .operator()
        .create_organisation(
            &Operator::new("suite"),
            &NewOrganisation {
                name: "Concurrent AB".into(),
                registration_number: "556677-8899".into(),
                plan: "Professional".into(),
                licences,
                admin_first_name: "Ada".into(),
                admin_last_name: None,
                admin_email: "ada@example.com".into(),
                admin_password: None,
            },
        )
        .await
        .unwrap();
    let actor = session_actor(&created.admin);
    (created.organisation.id, created.admin, actor)
}

pub(super) async fn add(accounts: &Accounts, admin: &Actor, n: usize) -> Member {
    let new = NewMember {
        first_name: format!("Member{n}"),
        last_name: None,
        email: format!("member{n}@example.com"),
        plan: None,
    };
    accounts.team().add_member(admin, &new, None).await.unwrap().member
}

/// The whole ledger of `org`, oldest first, read page by page.
pub(super) async fn whole_ledger(store: &Arc<dyn Store>, org: OrganisationId) -> Vec<LedgerEntry> {
    let mut tx = read(store).await;
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = tx
            .credits()
            .ledger(org, LedgerFilter::default(), Page { after, limit: 50 })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(LedgerCursor { at: last.at, id: last.id });
        all.extend(page);
    }
    all
}

fn sum(ledger: &[LedgerEntry], entry_type: EntryType, member: Option<MemberId>) -> i64 {
    ledger
        .iter()
        .filter(|e| e.entry_type == entry_type && (member.is_none() || e.member_id == member))
        .map(|e| e.amount)
        .sum()
}

pub(crate) async fn allocations_never_overdraw_the_pool(f: Factory) {
    const TASKS: usize = 64;
    const AMOUNT: i64 = 25;
    const GRANTED: i64 = 1_010;
    let processes = two_processes(&f).await;
    let (org, _, admin) = organisation(&processes[0], 10).await;
    let mut subs = Vec::new();
    for n in 0..4 {
        subs.push(add(&processes[0], &admin, n).await);
    }
    processes[1]
        .operator()
        .grant_credits(
            &Operator::new("suite"),
            org,
            (CreditKind::Export, GRANTED, "invoice 1"),
            None,
        )
        .await
        .unwrap();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let accounts = processes[i % 2].clone();
        let member = subs[i % subs.len()].id;
        tasks.push(tokio::spawn(async move {
            let outcome = accounts
                .credits()
                .allocate(&admin, member, CreditKind::Export, AMOUNT, Some("sprint"), None)
                .await;
            (member, outcome)
        }));
    }
    let mut granted_to: BTreeMap<MemberId, i64> = BTreeMap::new();
    let (mut successes, mut refused, mut unexpected) = (0_i64, 0_i64, Vec::new());
    for task in tasks {
        match task.await.unwrap() {
            (member, Ok(_)) => {
                successes += 1;
                *granted_to.entry(member).or_default() += AMOUNT;
            }
            (
                _,
                Err(AllocateError::InsufficientHeadroom { kind: CreditKind::Export, available }),
            ) => {
                assert!(available < AMOUNT, "refused with {available} available");
                refused += 1;
            }
            (_, Err(other)) => unexpected.push(format!("{other:?}")),
        }
    }
    let elapsed = started.elapsed();

    let store = processes.store(0);
    let mut tx = read(&store).await;
    let pool = tx.credits().lock_pool(org, CreditKind::Export).await.unwrap().unwrap();
    let allocations = tx.credits().allocations_of_org(org).await.unwrap();
    drop(tx);
    let ledger = whole_ledger(&store, org).await;
    println!(
        "   [{}] allocate: {TASKS} attempts of {AMOUNT} on 2 pools, {successes} succeeded, {refused} refused \
         (headroom), {} other errors; pool total {} allocated {} headroom {}; {:.0} ms",
        f.name(),
        unexpected.len(),
        pool.total(),
        pool.allocated(),
        pool.headroom(),
        elapsed.as_secs_f64() * 1000.0
    );
    assert!(unexpected.is_empty(), "errors other than headroom (busy/locked?): {unexpected:?}");
    assert_eq!(successes, GRANTED / AMOUNT, "exactly what the headroom allows");
    assert_eq!(refused, i64::try_from(TASKS).unwrap() - GRANTED / AMOUNT);
    assert!(pool.allocated() <= pool.total());
    assert_eq!(pool.total(), GRANTED);
    assert_eq!(pool.allocated(), successes * AMOUNT);
    assert_eq!(pool.headroom(), GRANTED % AMOUNT);
    // Balances equal the ledger's sums (rule 12).
    assert_eq!(
        pool.total(),
        sum(&ledger, EntryType::Grant, None) - sum(&ledger, EntryType::Expire, None)
    );
    assert_eq!(
        pool.allocated(),
        sum(&ledger, EntryType::Allocate, None) - sum(&ledger, EntryType::Reclaim, None)
    );
    assert_eq!(allocations.iter().map(|a| a.allocated()).sum::<i64>(), pool.allocated());
    for a in &allocations {
        assert_eq!(a.allocated(), sum(&ledger, EntryType::Allocate, Some(a.member_id())));
        assert_eq!(Some(&a.allocated()), granted_to.get(&a.member_id()));
    }
}

pub(crate) async fn add_member_never_exceeds_licences(f: Factory) {
    const TASKS: usize = 20;
    let processes = two_processes(&f).await;
    // Six licences, one held by the admin: five free.
    let (org, _, admin) = organisation(&processes[0], 6).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let accounts = processes[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let new = NewMember {
                first_name: format!("New{i}"),
                last_name: None,
                email: format!("new{i}@example.com"),
                plan: None,
            };
            accounts.team().add_member(&admin, &new, None).await
        }));
    }
    let (mut added, mut refused, mut unexpected) = (0, 0, Vec::new());
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => added += 1,
            Err(AddMemberError::NoFreeLicence(e)) if e.licences == 6 => refused += 1,
            Err(other) => unexpected.push(format!("{other:?}")),
        }
    }
    let elapsed = started.elapsed();
    let store = processes.store(1);
    let mut tx = read(&store).await;
    let counts = tx.members().counts(org).await.unwrap();
    let enabled = tx
        .members()
        .list(org, Some(MemberStatus::Enabled), Page { after: None, limit: 100 })
        .await
        .unwrap();
    println!(
        "   [{}] add_member: {TASKS} attempts against 5 free licences, {added} added, {refused} refused, \
         {} other errors; enabled members now {}; {:.0} ms",
        f.name(),
        unexpected.len(),
        counts.enabled,
        elapsed.as_secs_f64() * 1000.0
    );
    assert!(unexpected.is_empty(), "unexpected errors: {unexpected:?}");
    assert_eq!(added, 5);
    assert_eq!(refused, TASKS - 5);
    assert_eq!(counts.enabled, 6);
    assert_eq!(enabled.len(), 6);
}

pub(crate) async fn stale_profile_save_is_refused(f: Factory) {
    const TASKS: usize = 10;
    let processes = two_processes(&f).await;
    let (_, _, admin) = organisation(&processes[0], 5).await;
    let sub = add(&processes[0], &admin, 1).await;
    let me = session_actor(&sub);
    let input = |i: usize| ProfileInput {
        first_name: format!("Saved{i}"),
        last_name: Some("Concurrent".into()),
        phone: Some("+46701234567".into()),
        company: None,
        job_title: None,
        linkedin: None,
    };
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let accounts = processes[i % 2].clone();
        let input = input(i);
        tasks.push(tokio::spawn(async move {
            (i, accounts.profile().save_profile(&me, &input, 1).await)
        }));
    }
    let (mut winners, mut stale, mut unexpected) = (Vec::new(), 0, Vec::new());
    for task in tasks {
        match task.await.unwrap() {
            (i, Ok(saved)) => {
                assert_eq!(saved.profile_version, 2);
                winners.push(i);
            }
            (_, Err(SaveProfileError::StaleVersion { current: 2 })) => stale += 1,
            (_, Err(other)) => unexpected.push(format!("{other:?}")),
        }
    }
    println!(
        "   [{}] save_profile: {TASKS} saves of version 1 at once, {} saved, {stale} refused as stale, {} other errors",
        f.name(),
        winners.len(),
        unexpected.len()
    );
    assert!(unexpected.is_empty(), "unexpected errors: {unexpected:?}");
    assert_eq!(winners.len(), 1, "exactly one save of version 1 wins");
    assert_eq!(stale, TASKS - 1);
    let stored = processes[1].profile().me(&me).await.unwrap().member;
    assert_eq!(stored.profile.first_name.as_str(), format!("Saved{}", winners[0]));
    assert_eq!(stored.profile_version, 2);
    // Later, a save based on the old version is still refused; one on the fresh version wins.
    let late = processes[1].profile().save_profile(&me, &input(99), 1).await;
    assert!(matches!(late, Err(SaveProfileError::StaleVersion { current: 2 })), "{late:?}");
    let fresh = processes[0].profile().save_profile(&me, &input(100), 2).await.unwrap();
    assert_eq!(fresh.profile_version, 3);
}

pub(crate) async fn concurrent_claims_never_share_a_mail(f: Factory) {
    const MAILS: u128 = 60;
    const WORKERS: usize = 6;
    let first = f.fresh().await;
    let second = f.reopen().await;
    let mut tx = write(&first).await;
    for n in 1..=MAILS {
        tx.outbox().enqueue(&mail(n, at(0), at(0))).await.unwrap();
    }
    tx.commit().await.unwrap();
    let now = at(10);
    let lease = now + Duration::minutes(5);
    let stores = [first, second];
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let store = stores[w % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut claimed = Vec::new();
            loop {
                let mut tx = store.write().await.unwrap();
                let batch = tx.outbox().claim_due(now, lease, 4).await.unwrap();
                tx.commit().await.unwrap();
                if batch.is_empty() {
                    return claimed;
                }
                claimed.extend(batch.into_iter().map(|m| m.id));
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut all = Vec::new();
    let mut per_worker = Vec::new();
    for task in tasks {
        let claimed = task.await.unwrap();
        per_worker.push(claimed.len());
        all.extend(claimed);
    }
    let distinct: BTreeSet<_> = all.iter().copied().collect();
    println!(
        "   [{}] claim_due: {WORKERS} workers on 2 pools claimed {} mails ({} distinct) of {MAILS}; per worker {per_worker:?}",
        f.name(),
        all.len(),
        distinct.len()
    );
    assert_eq!(distinct.len(), all.len(), "a mail was handed to two workers");
    assert_eq!(all.len(), usize::try_from(MAILS).unwrap());
}

pub(crate) async fn consumption_with_one_event_id_is_recorded_once(f: Factory) {
    const TASKS: usize = 16;
    let processes = two_processes(&f).await;
    let (org, _, admin) = organisation(&processes[0], 5).await;
    let sub = add(&processes[0], &admin, 1).await;
    processes[0]
        .operator()
        .grant_credits(&Operator::new("suite"), org, (CreditKind::Export, 100, "invoice"), None)
        .await
        .unwrap();
    processes[0]
        .credits()
        .allocate(&admin, sub.id, CreditKind::Export, 100, None, None)
        .await
        .unwrap();
    let me = session_actor(&sub);
    let input = ConsumeInput {
        kind: "export".into(),
        amount: 5,
        data_type: "email".into(),
        provider: "acme-data".into(),
        event_id: "evt-once".into(),
    };
    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let accounts = processes[i % 2].clone();
        let input = input.clone();
        tasks
            .push(tokio::spawn(async move { accounts.credits().consume(&me, &input, None).await }));
    }
    let (mut recorded, mut replayed, mut in_flight, mut unexpected) = (0, 0, 0, Vec::new());
    for task in tasks {
        match task.await.unwrap() {
            Ok(outcome) if outcome.replayed => replayed += 1,
            Ok(_) => recorded += 1,
            Err(ConsumeError::EventIdInFlight) => in_flight += 1,
            Err(other) => unexpected.push(format!("{other:?}")),
        }
    }
    let store = processes.store(0);
    let ledger = whole_ledger(&store, org).await;
    let mut tx = read(&store).await;
    let allocation =
        tx.credits().lock_allocation(sub.id, CreditKind::Export).await.unwrap().unwrap();
    println!(
        "   [{}] consume: {TASKS} calls with one event id, {recorded} recorded, {replayed} replayed, \
         {in_flight} told to retry, {} other errors; used {}",
        f.name(),
        unexpected.len(),
        allocation.used()
    );
    assert!(unexpected.is_empty(), "unexpected errors: {unexpected:?}");
    assert_eq!(recorded, 1);
    assert_eq!(recorded + replayed + in_flight, TASKS);
    assert_eq!(sum(&ledger, EntryType::Consume, Some(sub.id)), 5);
    assert_eq!(ledger.iter().filter(|e| e.entry_type == EntryType::Consume).count(), 1);
    assert_eq!(allocation.used(), 5);
}

pub(crate) async fn invitations_in_two_organisations_never_clash_on_usernames(f: Factory) {
    const ROUNDS: usize = 10;
    let processes = two_processes(&f).await;
    let (_, _, admin_a) = organisation(&processes[0], 50).await;
    let other = processes[1]
        .operator()
        .create_organisation(
            &Operator::new("suite"),
            &NewOrganisation {
                name: "Other AB".into(),
                registration_number: "112233-4455".into(),
                plan: "Professional".into(),
                licences: 50,
                admin_first_name: "Bo".into(),
                admin_last_name: None,
                admin_email: "bo@example.com".into(),
                admin_password: None,
            },
        )
        .await
        .unwrap();
    let admin_b = session_actor(&other.admin);
    // Each round, both organisations invite a `jane{r}` at once: both derive the username
    // `jane{r}` and check that it is free before inserting it.
    let (mut usernames, mut unexpected) = (BTreeSet::new(), Vec::new());
    for r in 0..ROUNDS {
        let mut round = Vec::new();
        for (i, admin) in [admin_a, admin_b].into_iter().enumerate() {
            let accounts = processes[i].clone();
            round.push(tokio::spawn(async move {
                let new = NewMember {
                    first_name: "Jane".into(),
                    last_name: None,
                    email: format!("jane{r}@org{i}.example"),
                    plan: None,
                };
                accounts.team().add_member(&admin, &new, None).await
            }));
        }
        for task in round {
            match task.await.unwrap() {
                Ok(member) => {
                    usernames.insert(member.member.username.as_str().to_owned());
                }
                Err(e) => unexpected.push(format!("{e:?}")),
            }
        }
    }
    println!(
        "   [{}] add_member in 2 organisations: {} invitations with clashing usernames, {} added with distinct usernames, {} errors",
        f.name(),
        2 * ROUNDS,
        usernames.len(),
        unexpected.len()
    );
    assert!(unexpected.is_empty(), "unexpected errors: {unexpected:?}");
    assert_eq!(usernames.len(), 2 * ROUNDS);
}
