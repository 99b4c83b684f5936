//! Rules 11 to 14: deleting an account, credit pools and the ledger, consumption, usage
//! reports.

use std::collections::HashMap;
use std::sync::Arc;

use account_core::domain::credits::{ConsumptionSums, CreditKind, EntryType};
use account_core::domain::mail::MailKind;
use account_core::ids::MemberId;
use account_core::mocks::{MockStore, MockTx};
use account_core::ports::Clock;
use account_core::ports::{LedgerFilter, Page};
use account_core::services::credits::{
    AllocateError, Bucket, ConsumeError, ConsumeInput, UsageQuery, UsageReportError, UsageScope,
};
use account_core::services::profile::{DeleteAccountError, DeleteConfirmation};
use account_core::{Accounts, Actor, Denied, Ports, Settings};
use account_memory::{InMemory, SeededRandom};
use chrono::{NaiveDate, TimeZone, Utc};

use crate::support::{PASSWORD, World, login};

pub fn consume(kind: CreditKind, amount: i64, event: &str) -> ConsumeInput {
    ConsumeInput {
        kind: kind.as_str().into(),
        amount,
        data_type: "email".into(),
        provider: "acme-data".into(),
        event_id: event.into(),
    }
}

/// Checks that every balance equals the ledger's sum and no pool is overdrawn.
pub async fn assert_ledger_matches(mem: &InMemory, admin: &Actor) {
    let ledger = mem.store.ledger().await;
    let pools = mem.accounts.credits().overview(admin).await.unwrap();
    for pool in &pools {
        let sum = |t: EntryType, pool_level: Option<bool>| -> i64 {
            ledger
                .iter()
                .filter(|e| e.org_id == admin.org() && e.kind == pool.kind && e.entry_type == t)
                .filter(|e| pool_level.is_none_or(|p| e.member_id.is_none() == p))
                .map(|e| e.amount)
                .sum()
        };
        assert_eq!(
            pool.total,
            sum(EntryType::Grant, None) - sum(EntryType::Expire, None),
            "{:?} total",
            pool.kind
        );
        assert_eq!(
            pool.allocated,
            sum(EntryType::Allocate, None) - sum(EntryType::Reclaim, None),
            "{:?} allocated",
            pool.kind
        );
        assert_eq!(pool.used, sum(EntryType::Consume, None), "{:?} used", pool.kind);
        assert!(pool.headroom >= 0, "{:?} overdrawn", pool.kind);
    }
    let mut per_member: HashMap<(MemberId, CreditKind), (i64, i64)> = HashMap::new();
    for e in ledger.iter().filter(|e| e.org_id == admin.org()) {
        let Some(m) = e.member_id else { continue };
        let slot = per_member.entry((m, e.kind)).or_default();
        match e.entry_type {
            EntryType::Allocate => slot.0 += e.amount,
            EntryType::Reclaim => slot.0 -= e.amount,
            EntryType::Consume => slot.1 += e.amount,
            EntryType::Grant | EntryType::Expire => panic!("pool-level entry names a member"),
        }
    }
    for a in mem.store.allocations().await.into_iter().filter(|a| a.org_id() == admin.org()) {
        let (allocated, used) =
            per_member.get(&(a.member_id(), a.kind())).copied().unwrap_or_default();
        assert_eq!(
            (a.allocated(), a.used()),
            (allocated, used),
            "allocation of {:?}",
            a.member_id()
        );
        assert!(a.available() >= 0);
    }
}

#[tokio::test]
async fn rule_11_deleting_needs_confirmation_erases_personal_data_and_returns_unspent_credits() {
    let w = World::new().await;
    w.grant(CreditKind::Export, 100).await;
    let (sam, sam_token) = w.sub_user("sam").await;
    let credits = w.accounts().credits();
    credits
        .allocate(&w.admin, sam.member(), CreditKind::Export, 60, Some("onboarding"), None)
        .await
        .unwrap();
    credits.consume(&sam, &consume(CreditKind::Export, 15, "e1"), None).await.unwrap();
    w.accounts().api_keys().create(&sam, None).await.unwrap();

    let profiles = w.accounts().profile();
    let wrong =
        profiles.delete_account(&sam, &DeleteConfirmation::Password("nope nope nope".into())).await;
    assert!(matches!(wrong, Err(DeleteAccountError::ConfirmationFailed)));
    let typo =
        profiles.delete_account(&sam, &DeleteConfirmation::TypedUsername("sma".into())).await;
    assert!(matches!(typo, Err(DeleteAccountError::ConfirmationFailed)));
    profiles.delete_account(&sam, &DeleteConfirmation::TypedUsername("SAM".into())).await.unwrap();

    assert!(w.mem.store.is_erased(sam.member()).await);
    assert!(w.accounts().auth().authenticate(&sam_token).await.is_err());
    assert!(w.accounts().auth().login("sam@acme.test", PASSWORD, None, None).await.is_err());
    // Unspent credits (60 - 15) are back in the pool; the 15 spent stay in the team's totals.
    let export = credits.overview(&w.admin).await.unwrap()[0];
    assert_eq!((export.total, export.allocated, export.used, export.headroom), (100, 15, 15, 85));
    assert_ledger_matches(&w.mem, &w.admin).await;
    // The ledger keeps the history under an id that leads to no one.
    let report = credits
        .usage_report(
            &w.admin,
            &UsageQuery {
                scope: UsageScope::Team,
                from: day(2026, 1, 1),
                to: day(2026, 1, 31),
                bucket: Bucket::Month,
                timezone: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(report.total, 15);
    assert_eq!(report.members[0].member_id, Some(sam.member()));
    assert_eq!(report.members[0].name, None);
    // The address can be used by someone new.
    w.add("Sam again", "sam@acme.test").await;
    assert!(w.mem.last_mail(MailKind::AccountDeleted, "sam@acme.test").await.is_some());
}

#[tokio::test]
async fn rule_11_impersonators_cannot_delete_the_account() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let started = w
        .accounts()
        .impersonation()
        .start(&w.admin, sam.member(), "support ticket 12")
        .await
        .unwrap();
    let as_sam = w.accounts().auth().authenticate(&started.token).await.unwrap().actor;
    let r = w
        .accounts()
        .profile()
        .delete_account(&as_sam, &DeleteConfirmation::TypedUsername("sam".into()))
        .await;
    assert!(matches!(r, Err(DeleteAccountError::Denied(Denied::Impersonating))), "{r:?}");
}

#[tokio::test]
async fn rule_12_allocation_comes_out_of_the_headroom_and_never_overdraws_it() {
    let w = World::new().await;
    w.grant(CreditKind::DirectDial, 100).await;
    let (sam, _) = w.sub_user("sam").await;
    let (bob, _) = w.sub_user("bob").await;
    let credits = w.accounts().credits();
    credits.allocate(&w.admin, sam.member(), CreditKind::DirectDial, 70, None, None).await.unwrap();
    let over =
        credits.allocate(&w.admin, bob.member(), CreditKind::DirectDial, 31, None, None).await;
    assert!(
        matches!(over, Err(AllocateError::InsufficientHeadroom { available: 30, .. })),
        "{over:?}"
    );
    credits.allocate(&w.admin, bob.member(), CreditKind::DirectDial, 30, None, None).await.unwrap();
    let reclaimed = credits
        .reclaim(&w.admin, sam.member(), CreditKind::DirectDial, 20, Some("rebalance"), None)
        .await
        .unwrap();
    assert_eq!((reclaimed.allocation.allocated(), reclaimed.pool.headroom()), (50, 20));
    let too_much =
        credits.reclaim(&w.admin, bob.member(), CreditKind::DirectDial, 31, None, None).await;
    assert!(matches!(too_much, Err(AllocateError::InsufficientUnspent { available: 30, .. })));
    // Only admins allocate; only to sub-users; amounts are positive.
    assert!(matches!(
        credits.allocate(&sam, bob.member(), CreditKind::DirectDial, 1, None, None).await,
        Err(AllocateError::Denied(Denied::NotAdmin))
    ));
    assert!(matches!(
        credits.allocate(&w.admin, w.admin.member(), CreditKind::DirectDial, 1, None, None).await,
        Err(AllocateError::TargetIsAdmin)
    ));
    assert!(matches!(
        credits.allocate(&w.admin, sam.member(), CreditKind::DirectDial, 0, None, None).await,
        Err(AllocateError::Validation(_))
    ));
    assert_ledger_matches(&w.mem, &w.admin).await;
    let entries = credits
        .ledger(&w.admin, LedgerFilter::default(), Page { after: None, limit: 100 })
        .await
        .unwrap();
    assert_eq!(entries.len(), 4);
    assert!(entries.iter().all(|e| e.at == w.mem.clock.now()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rule_12_concurrent_allocations_never_both_pass_the_headroom_check() {
    let w = World::with_licences(10).await;
    w.grant(CreditKind::Export, 1_000).await;
    let mut members = Vec::new();
    for i in 0..4 {
        members.push(w.sub_user(&format!("m{i}")).await.0);
    }
    let mut tasks = Vec::new();
    for i in 0..64 {
        let accounts = w.accounts().clone();
        let admin = w.admin;
        let target = members[i % members.len()].member();
        tasks.push(tokio::spawn(async move {
            accounts.credits().allocate(&admin, target, CreditKind::Export, 30, None, None).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AllocateError::InsufficientHeadroom { .. }) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(ok, 33, "1000 / 30 = 33 allocations fit");
    let pool = w.accounts().credits().overview(&w.admin).await.unwrap()[0];
    assert_eq!((pool.allocated, pool.headroom), (990, 10));
    assert_ledger_matches(&w.mem, &w.admin).await;
}

#[tokio::test]
async fn rule_13_consumption_spends_the_allocation_and_is_idempotent_on_the_event_id() {
    let w = World::new().await;
    w.grant(CreditKind::CallingMinutes, 50).await;
    let (sam, _) = w.sub_user("sam").await;
    let credits = w.accounts().credits();
    credits
        .allocate(&w.admin, sam.member(), CreditKind::CallingMinutes, 20, None, None)
        .await
        .unwrap();
    let first = credits
        .consume(&sam, &consume(CreditKind::CallingMinutes, 8, "call-1"), None)
        .await
        .unwrap();
    assert!(!first.replayed);
    assert_eq!(first.available, 12);
    let replay = credits
        .consume(&sam, &consume(CreditKind::CallingMinutes, 8, "call-1"), None)
        .await
        .unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.entry.id, first.entry.id);
    assert_eq!(replay.available, 12, "not spent twice");
    let reused =
        credits.consume(&sam, &consume(CreditKind::CallingMinutes, 9, "call-1"), None).await;
    assert!(matches!(reused, Err(ConsumeError::EventIdReused)));
    let over =
        credits.consume(&sam, &consume(CreditKind::CallingMinutes, 13, "call-2"), None).await;
    assert!(
        matches!(over, Err(ConsumeError::InsufficientCredits { available: 12, .. })),
        "{over:?}"
    );
    let detail = first.entry.consumption.unwrap();
    assert_eq!((detail.data_type.as_str(), detail.provider.as_str()), ("email", "acme-data"));
    // Through an API key, as integrations do.
    let key = w.accounts().api_keys().create(&sam, None).await.unwrap();
    let via_key = w.accounts().auth().authenticate_api_key(&key.secret).await.unwrap();
    credits
        .consume(&via_key, &consume(CreditKind::CallingMinutes, 2, "call-3"), None)
        .await
        .unwrap();
    assert_ledger_matches(&w.mem, &w.admin).await;
}

#[tokio::test]
async fn rule_13_admins_spend_the_unallocated_pool() {
    let w = World::new().await;
    w.grant(CreditKind::Export, 10).await;
    let (sam, _) = w.sub_user("sam").await;
    let credits = w.accounts().credits();
    credits.allocate(&w.admin, sam.member(), CreditKind::Export, 6, None, None).await.unwrap();
    let spent =
        credits.consume(&w.admin, &consume(CreditKind::Export, 4, "x"), None).await.unwrap();
    assert_eq!(spent.available, 0);
    assert!(spent.entry.member_id.is_none());
    let over = credits.consume(&w.admin, &consume(CreditKind::Export, 1, "y"), None).await;
    assert!(matches!(over, Err(ConsumeError::InsufficientCredits { available: 0, .. })));
    let mine = credits.my_credits(&w.admin).await.unwrap();
    assert!(mine.spends_from_pool);
    assert_ledger_matches(&w.mem, &w.admin).await;
}

#[tokio::test]
async fn rule_13_invalid_consumptions_name_each_field() {
    let w = World::new().await;
    let bad = ConsumeInput {
        kind: "gold".into(),
        amount: -1,
        data_type: "".into(),
        provider: "p".into(),
        event_id: "".into(),
    };
    let Err(ConsumeError::Validation(e)) =
        w.accounts().credits().consume(&w.admin, &bad, None).await
    else {
        panic!()
    };
    let fields: Vec<_> = e.fields().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["kind", "amount", "data_type", "event_id"]);
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[tokio::test]
async fn rule_14_usage_is_reported_per_type_provider_and_local_bucket() {
    let w = World::new().await;
    w.grant(CreditKind::Export, 100).await;
    let (sam, _) = w.sub_user("sam").await;
    let credits = w.accounts().credits();
    credits.allocate(&w.admin, sam.member(), CreditKind::Export, 100, None, None).await.unwrap();
    // 23:30 UTC on 5 January is already 6 January in Stockholm.
    w.mem.clock.set(Utc.with_ymd_and_hms(2026, 1, 5, 23, 30, 0).unwrap());
    credits.consume(&sam, &consume(CreditKind::Export, 3, "a"), None).await.unwrap();
    w.mem.clock.set(Utc.with_ymd_and_hms(2026, 1, 7, 12, 0, 0).unwrap());
    let mut phone = consume(CreditKind::Export, 5, "b");
    phone.data_type = "phone_number".into();
    phone.provider = "other".into();
    credits.consume(&sam, &phone, None).await.unwrap();

    let query = |tz: &str, bucket| UsageQuery {
        scope: UsageScope::Own,
        from: day(2026, 1, 5),
        to: day(2026, 1, 7),
        bucket,
        timezone: Some(tz.into()),
    };
    let utc = credits.usage_report(&sam, &query("UTC", Bucket::Day)).await.unwrap();
    assert_eq!(utc.series.iter().map(|p| p.total).collect::<Vec<_>>(), [3, 0, 5]);
    let sthlm = credits.usage_report(&sam, &query("Europe/Stockholm", Bucket::Day)).await.unwrap();
    assert_eq!(sthlm.series.iter().map(|p| p.total).collect::<Vec<_>>(), [0, 3, 5]);
    assert_eq!(sthlm.total, 8);
    let types: Vec<_> = sthlm.by_data_type.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    assert_eq!(types, [("email", 3), ("phone_number", 5)]);
    let providers: Vec<_> = sthlm.by_provider.iter().map(|(p, n)| (p.as_str(), *n)).collect();
    assert_eq!(providers, [("acme-data", 3), ("other", 5)]);
    let weekly = credits.usage_report(&sam, &query("UTC", Bucket::Week)).await.unwrap();
    assert_eq!(weekly.series.len(), 1);
    assert_eq!(weekly.series[0].start, day(2026, 1, 5));

    // The period is bounded and ordered.
    let backwards = UsageQuery {
        scope: UsageScope::Own,
        from: day(2026, 2, 1),
        to: day(2026, 1, 1),
        bucket: Bucket::Day,
        timezone: None,
    };
    assert!(matches!(
        credits.usage_report(&sam, &backwards).await,
        Err(UsageReportError::Validation(_))
    ));
}

/// Sam and Bob, sub-users who spent 7 and 2 export credits in January 2026 (with their tokens).
async fn sam_and_bob_spent(w: &World) -> ((Actor, String), (Actor, String)) {
    w.grant(CreditKind::Export, 100).await;
    let sam = w.sub_user("sam").await;
    let bob = w.sub_user("bob").await;
    let credits = w.accounts().credits();
    for (m, n) in [(&sam.0, 7), (&bob.0, 2)] {
        credits.allocate(&w.admin, m.member(), CreditKind::Export, 10, None, None).await.unwrap();
        credits
            .consume(m, &consume(CreditKind::Export, n, &m.member().to_string()), None)
            .await
            .unwrap();
    }
    (sam, bob)
}

/// January 2026 for `scope`, by `bucket`, in the viewer's zone.
fn january(scope: UsageScope, bucket: Bucket) -> UsageQuery {
    UsageQuery { scope, from: day(2026, 1, 1), to: day(2026, 1, 31), bucket, timezone: None }
}

#[tokio::test]
async fn rule_14_one_members_report_carries_what_they_hold_per_kind() {
    let w = World::new().await;
    let ((sam, _), (bob, _)) = sam_and_bob_spent(&w).await;
    let credits = w.accounts().credits();
    let q = |scope| january(scope, Bucket::Month);
    let own = credits.usage_report(&sam, &q(UsageScope::Own)).await.unwrap();
    let held = own.credits.expect("a member's report carries their credits");
    assert_eq!(held, credits.my_credits(&sam).await.unwrap());
    let export = held.balances.iter().find(|b| b.kind == CreditKind::Export).unwrap();
    assert_eq!((export.allocated, export.used, export.available), (10, 7, 3));
    assert_eq!(held.balances.len(), CreditKind::ALL.len());
    let bobs = credits.usage_report(&w.admin, &q(UsageScope::Member(bob.member()))).await.unwrap();
    assert_eq!(bobs.credits, Some(credits.my_credits(&bob).await.unwrap()));
    assert_eq!(credits.usage_report(&w.admin, &q(UsageScope::Team)).await.unwrap().credits, None);
}

#[tokio::test]
async fn rule_14_admins_see_the_team_and_each_member_sub_users_only_themselves() {
    let w = World::new().await;
    let ((sam, _), (bob, _)) = sam_and_bob_spent(&w).await;
    let credits = w.accounts().credits();
    let q = |scope| january(scope, Bucket::Month);
    let team = credits.usage_report(&w.admin, &q(UsageScope::Team)).await.unwrap();
    assert_eq!(team.total, 9);
    assert_eq!(
        team.members.iter().map(|m| (m.member_id, m.total)).collect::<Vec<_>>(),
        [(Some(sam.member()), 7), (Some(bob.member()), 2)]
    );
    assert_eq!(team.members[0].name.as_deref(), Some("sam"));
    assert_eq!(
        credits.usage_report(&w.admin, &q(UsageScope::Member(bob.member()))).await.unwrap().total,
        2
    );
    assert!(matches!(
        credits.usage_report(&sam, &q(UsageScope::Team)).await,
        Err(UsageReportError::Denied(Denied::NotAdmin))
    ));
    assert!(matches!(
        credits.usage_report(&sam, &q(UsageScope::Member(bob.member()))).await,
        Err(UsageReportError::Denied(Denied::NotAdmin))
    ));
    assert_eq!(credits.usage_report(&sam, &q(UsageScope::Own)).await.unwrap().total, 7);
    // An admin of another organisation sees nothing of this one.
    crate::support::create_org(w.accounts(), "Other", "olga@other.test", 2).await;
    let (olga, _) = login(w.accounts(), "olga@other.test", PASSWORD).await;
    assert!(matches!(
        credits.usage_report(&olga, &q(UsageScope::Member(sam.member()))).await,
        Err(UsageReportError::MemberNotFound)
    ));
    assert_eq!(credits.usage_report(&olga, &q(UsageScope::Team)).await.unwrap().total, 0);
}

#[tokio::test]
async fn rule_14_a_session_report_is_the_callers_report_with_the_member_authentication_read() {
    let w = World::new().await;
    let ((sam, sam_token), (bob, _)) = sam_and_bob_spent(&w).await;
    let credits = w.accounts().credits();
    let q = |scope| january(scope, Bucket::Day);
    let auth = w.accounts().auth();
    let admin = auth.authenticate(&w.admin_token).await.unwrap();
    let sam_session = auth.authenticate(&sam_token).await.unwrap();
    assert_eq!(sam_session.member().id, sam.member());
    for (session, actor, scope) in [
        (&admin, &w.admin, UsageScope::Team),
        (&admin, &w.admin, UsageScope::Member(bob.member())),
        (&admin, &w.admin, UsageScope::Own),
        (&sam_session, &sam, UsageScope::Own),
        (&sam_session, &sam, UsageScope::Member(sam.member())),
    ] {
        let by_session = credits.session_usage_report(session, &q(scope)).await.unwrap();
        assert_eq!(by_session, credits.usage_report(actor, &q(scope)).await.unwrap(), "{scope:?}");
    }
    assert_eq!(credits.session_usage_report(&admin, &q(UsageScope::Team)).await.unwrap().total, 9);
    for scope in [UsageScope::Team, UsageScope::Member(bob.member())] {
        assert!(matches!(
            credits.session_usage_report(&sam_session, &q(scope)).await,
            Err(UsageReportError::Denied(Denied::NotAdmin))
        ));
    }

    // The viewer is not read again: on a store whose units refuse any member read, a report
    // of one's own usage is the sums and the caller's allocations alone.
    let mut tx = MockTx::default();
    tx.members.expect_get().never();
    tx.members.expect_lock().never();
    tx.credits
        .expect_consumption_sums()
        .times(1)
        .returning(|_, _, _| Ok(ConsumptionSums::default()));
    tx.credits.expect_allocations_of_member().times(1).returning(|_| Ok(Vec::new()));
    let mut store = MockStore::new();
    let mut tx = Some(tx);
    store.expect_lookup().times(1).returning(move || Ok(Box::new(tx.take().expect("one unit"))));
    let ports = Ports {
        store: Arc::new(store),
        clock: w.mem.clock.clone(),
        random: Arc::new(SeededRandom::new(1)),
        passwords: w.mem.hasher.clone(),
        keyring: w.mem.keyring.clone(),
    };
    let elsewhere = Accounts::new(ports, Settings::default());
    let report =
        elsewhere.credits().session_usage_report(&sam_session, &q(UsageScope::Own)).await.unwrap();
    assert_eq!(report.total, 0);
}

#[tokio::test]
async fn rule_13_low_credit_alert_mail_when_the_allocation_falls_below_a_tenth() {
    let w = World::new().await;
    w.grant(CreditKind::Export, 100).await;
    let (sam, _) = w.sub_user("sam").await;
    let credits = w.accounts().credits();
    credits.allocate(&w.admin, sam.member(), CreditKind::Export, 100, None, None).await.unwrap();
    credits.consume(&sam, &consume(CreditKind::Export, 90, "a"), None).await.unwrap();
    assert!(w.mem.last_mail(MailKind::LowCredits, "sam@acme.test").await.is_none());
    credits.consume(&sam, &consume(CreditKind::Export, 1, "b"), None).await.unwrap();
    assert!(w.mem.last_mail(MailKind::LowCredits, "sam@acme.test").await.is_some());
}
