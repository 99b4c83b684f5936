//! Failure paths: a store or mailer error leaves no half-done change and reaches the caller
//! as a typed error. Mocks (feature `mocks`) fail chosen port calls; the memory store's fault
//! injection fails a write half-way through a real unit of work.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use account_core::domain::credits::CreditKind;
use account_core::domain::email::EmailAddress;
use account_core::domain::mail::MailKind;
use account_core::domain::member::{Member, MemberStatus, Profile, Role};
use account_core::domain::preferences::Preferences;
use account_core::domain::text::{PersonName, PlanName};
use account_core::domain::username::Username;
use account_core::mocks::{MockMailer, MockPasswordHasher, MockStore, MockTx};
use account_core::ports::{HashError, MailError, StoreError};
use account_core::services::auth::LoginError;
use account_core::services::credits::AllocateError;
use account_core::services::profile::{ProfileInput, SaveProfileError};
use account_core::services::team::{AddMemberError, NewMember};
use account_core::{Accounts, Actor, Credential, Ports, Settings};
use account_memory::{FastPasswordHasher, FixedClock, MemoryStore, SeededRandom, TestKeyring};

use crate::support::World;

fn member(actor: &Actor, role: Role) -> Member {
    Member {
        id: actor.member(),
        org_id: actor.org(),
        role,
        status: MemberStatus::Enabled,
        plan: PlanName::parse("Professional").unwrap(),
        username: Username::parse("ada").unwrap(),
        email: EmailAddress::parse("ada@acme.test").unwrap(),
        password: None,
        invitation: None,
        password_reset: None,
        profile: Profile::named(PersonName::parse("Ada").unwrap(), None),
        profile_version: 3,
        preferences: Preferences::default(),
        offerings: Vec::new(),
        created_at: chrono::DateTime::UNIX_EPOCH,
    }
}

fn accounts_on(store: MockStore) -> Accounts {
    Accounts::new(
        Ports {
            store: Arc::new(store),
            clock: Arc::new(FixedClock::default()),
            random: Arc::new(SeededRandom::new(1)),
            passwords: Arc::new(FastPasswordHasher::new()),
            keyring: Arc::new(TestKeyring::new(b"k")),
        },
        Settings::default(),
    )
}

fn actor() -> Actor {
    Actor::new(
        uuid::Uuid::from_u128(1).into(),
        uuid::Uuid::from_u128(2).into(),
        None,
        Credential::Session(uuid::Uuid::from_u128(3).into()),
    )
}

#[tokio::test]
async fn a_store_error_mid_use_case_is_a_typed_internal_error_and_nothing_commits() {
    let actor = actor();
    let m = member(&actor, Role::SubUser);
    let mut tx = MockTx::default();
    let commits = tx.commits.clone();
    tx.members.expect_lock_many().returning(move |_| Ok(vec![m.clone()]));
    tx.members.expect_update().returning(|_| Err(StoreError::Other("disk full".into())));
    tx.audit.expect_append().never();
    let mut store = MockStore::new();
    let mut tx = Some(tx);
    store.expect_write().times(1).returning(move || Ok(Box::new(tx.take().expect("one unit"))));
    let accounts = accounts_on(store);
    let input = ProfileInput { first_name: "Ada".into(), ..Default::default() };
    let r = accounts.profile().save_profile(&actor, &input, 3).await;
    let Err(SaveProfileError::Internal(e)) = r else { panic!("{r:?}") };
    assert!(!e.is_unavailable());
    assert_eq!(commits.load(Ordering::SeqCst), 0, "nothing committed");
}

#[tokio::test]
async fn a_failed_commit_reaches_the_caller_and_an_unavailable_store_says_so() {
    let actor = actor();
    let m = member(&actor, Role::SubUser);
    let mut tx = MockTx { fail_commit: Some("connection reset".into()), ..MockTx::default() };
    tx.members.expect_lock_many().returning(move |_| Ok(vec![m.clone()]));
    tx.members.expect_update().returning(|_| Ok(()));
    tx.audit.expect_append().returning(|_| Ok(()));
    let mut store = MockStore::new();
    let mut tx = Some(tx);
    store.expect_write().times(1).returning(move || Ok(Box::new(tx.take().expect("one unit"))));
    let accounts = accounts_on(store);
    let input = ProfileInput { first_name: "Ada".into(), ..Default::default() };
    assert!(matches!(
        accounts.profile().save_profile(&actor, &input, 3).await,
        Err(SaveProfileError::Internal(_))
    ));

    let mut store = MockStore::new();
    store.expect_write().returning(|| Err(StoreError::Unavailable("connection refused".into())));
    let accounts = accounts_on(store);
    let r = accounts.profile().save_profile(&actor, &input, 3).await;
    let Err(SaveProfileError::Internal(e)) = r else { panic!("{r:?}") };
    assert!(e.is_unavailable());
}

/// A full hashing queue is a dependency unavailable for a moment (the API answers 503 with
/// `Retry-After`), not a fault of ours (500) nor a wrong password (401).
#[tokio::test]
async fn a_busy_password_hasher_is_reported_as_unavailable() {
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().returning(|_, _| Err(HashError::Busy));
    let accounts = Accounts::new(
        Ports {
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(FixedClock::default()),
            random: Arc::new(SeededRandom::new(1)),
            passwords: Arc::new(hasher),
            keyring: Arc::new(TestKeyring::new(b"k")),
        },
        Settings::default(),
    );
    let r = accounts.auth().login("ada@acme.test", "a password of some length", None, None).await;
    let Err(LoginError::Internal(e)) = r else { panic!("{r:?}") };
    assert!(e.is_unavailable());
    let failed: account_core::InternalError = HashError::Failed("out of memory".into()).into();
    assert!(!failed.is_unavailable());
}

#[tokio::test]
async fn an_allocation_whose_ledger_write_fails_commits_nothing() {
    let admin = actor();
    let a = member(&admin, Role::Admin);
    let mut target = member(&admin, Role::SubUser);
    target.id = uuid::Uuid::from_u128(9).into();
    let mut tx = MockTx::default();
    let commits = tx.commits.clone();
    let t = target.clone();
    tx.members.expect_lock_many().returning(move |_| Ok(vec![a.clone(), t.clone()]));
    let org = admin.org();
    tx.credits.expect_lock_pool().returning(move |_, k| {
        Ok(Some(account_core::domain::credits::CreditPool::restore(org, k, 100, 0, 0)))
    });
    tx.credits.expect_lock_allocation().returning(|_, _| Ok(None));
    tx.credits.expect_update_pool().returning(|_| Ok(()));
    tx.credits.expect_put_allocation().returning(|_| Ok(()));
    tx.credits.expect_append().returning(|_| Err(StoreError::Other("ledger unavailable".into())));
    let mut store = MockStore::new();
    let mut tx = Some(tx);
    store.expect_write().times(1).returning(move || Ok(Box::new(tx.take().expect("one unit"))));
    let accounts = accounts_on(store);
    let r =
        accounts.credits().allocate(&admin, target.id, CreditKind::Export, 10, None, None).await;
    assert!(matches!(r, Err(AllocateError::Internal(_))), "{r:?}");
    assert_eq!(commits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_unit_failing_in_its_last_write_leaves_nothing_behind() {
    let w = World::new().await;
    w.grant(CreditKind::Export, 100).await;
    let (sam, _) = w.sub_user("sam").await;
    let ledger_before = w.mem.store.ledger().await.len();
    let audit_before = w.mem.store.audit_entries().await.len();
    // The audit entry is the allocation's last write.
    w.mem.store.fail_next("audit.append");
    let r = w
        .accounts()
        .credits()
        .allocate(&w.admin, sam.member(), CreditKind::Export, 40, None, None)
        .await;
    assert!(matches!(r, Err(AllocateError::Internal(_))), "{r:?}");
    assert_eq!(w.mem.store.ledger().await.len(), ledger_before);
    assert_eq!(w.mem.store.audit_entries().await.len(), audit_before);
    assert!(w.mem.store.allocations().await.iter().all(|a| a.allocated() == 0));
    assert_eq!(w.accounts().credits().overview(&w.admin).await.unwrap()[0].allocated, 0);

    // Add-member failing at its mail request leaves no member and no mail.
    w.mem.store.fail_next("outbox.enqueue");
    let new = NewMember {
        first_name: "Zed".into(),
        last_name: None,
        email: "zed@acme.test".into(),
        plan: None,
    };
    assert!(matches!(
        w.accounts().team().add_member(&w.admin, &new, None).await,
        Err(AddMemberError::Internal(_))
    ));
    assert!(
        w.accounts().operator().find_member(&crate::support::op(), "zed@acme.test").await.is_err()
    );
    assert!(w.mem.last_mail(MailKind::Invitation, "zed@acme.test").await.is_none());
    // And succeeds once the fault is gone.
    w.accounts().team().add_member(&w.admin, &new, None).await.unwrap();

    // A failed commit, too.
    w.mem.store.fail_next("commit");
    assert!(
        w.accounts()
            .credits()
            .allocate(&w.admin, sam.member(), CreditKind::Export, 40, None, None)
            .await
            .is_err()
    );
    assert_eq!(w.accounts().credits().overview(&w.admin).await.unwrap()[0].allocated, 0);
}

#[tokio::test]
async fn a_mailer_error_keeps_the_mail_for_a_retry_and_it_is_sent_exactly_once() {
    let w = World::new().await;
    w.add("sam", "sam@acme.test").await;
    let pending = w.accounts().mail().pending(100).await.unwrap();
    assert_eq!(pending.len(), 1);
    let mut down = MockMailer::new();
    down.expect_send()
        .times(1)
        .returning(|_, _| Err(MailError::Transient("connection refused".into())));
    let report = w.accounts().mail().deliver_due(&down, 10).await.unwrap();
    assert_eq!((report.sent, report.retried), (0, 1));
    let still = w.accounts().mail().pending(100).await.unwrap();
    assert_eq!(still.len(), 1);
    assert_eq!(still[0].attempts, 1);
    assert!(still[0].last_error.as_deref().is_some_and(|e| e.contains("connection refused")));
    // Not due again until the backoff has passed.
    let mut never = MockMailer::new();
    never.expect_send().never();
    assert_eq!(w.accounts().mail().deliver_due(&never, 10).await.unwrap().sent, 0);
    w.mem.clock.advance(chrono::Duration::seconds(6));
    let mut up = MockMailer::new();
    up.expect_send()
        .withf(|_, mail| mail.to.as_str() == "sam@acme.test" && mail.subject.contains("invited"))
        .times(1)
        .returning(|_, _| Ok(()));
    assert_eq!(w.accounts().mail().deliver_due(&up, 10).await.unwrap().sent, 1);
    assert!(w.accounts().mail().pending(100).await.unwrap().is_empty());
    w.mem.clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        w.accounts().mail().deliver_due(&never, 10).await.unwrap().sent,
        0,
        "sent once only"
    );
}
