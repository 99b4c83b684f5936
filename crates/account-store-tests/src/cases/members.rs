//! `MemberRepo`: uniqueness, lists, counts and erasure (rule 11).

use account_core::domain::credits::CreditKind;
use account_core::domain::email::EmailAddress;
use account_core::domain::member::{Member, MemberStatus, Role};
use account_core::domain::organisation::PlanCount;
use account_core::domain::username::Username;
use account_core::ids::MemberId;
use account_core::ports::{LedgerFilter, MemberCounts, Page, UniqueKey};

use super::Factory;
use crate::fixtures::{
    allocate, assert_conflict, assert_not_found, full_member, id, member, organisation, plan,
    product, read, seed_members, seed_org, seed_org_with_admin, write,
};

fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn username(s: &str) -> Username {
    Username::parse(s).unwrap()
}

pub(crate) async fn full_member_round_trips_through_every_read(f: Factory) {
    let store = f.fresh().await;
    let org = organisation(1);
    seed_org(&store, &org).await;
    let full = full_member(org.id, 10, product(1, "Lead generation").id);
    let bare = member(org.id, 11);
    seed_members(&store, &[full.clone(), bare.clone()]).await;

    let mut tx = write(&store).await;
    assert_eq!(tx.members().get(full.id).await.unwrap().as_ref(), Some(&full));
    assert_eq!(tx.members().lock(full.id).await.unwrap().as_ref(), Some(&full));
    assert_eq!(tx.members().get(bare.id).await.unwrap().as_ref(), Some(&bare));
    // Login emails are found case-insensitively; usernames exactly.
    assert_eq!(
        tx.members().find_by_email(&email("USER10@example.COM")).await.unwrap().as_ref(),
        Some(&full)
    );
    assert_eq!(
        tx.members().find_by_email(&email("user11@example.com")).await.unwrap().as_ref(),
        Some(&bare)
    );
    assert_eq!(
        tx.members().find_by_username(&username("user10")).await.unwrap().as_ref(),
        Some(&full)
    );
    assert_eq!(tx.members().find_by_email(&email("nobody@example.com")).await.unwrap(), None);
    assert_eq!(tx.members().find_by_username(&username("nobody")).await.unwrap(), None);
    assert_eq!(tx.members().get(id(99)).await.unwrap(), None);
    assert_eq!(tx.members().lock(id(99)).await.unwrap(), None);
}

pub(crate) async fn username_is_unique(f: Factory) {
    let store = f.fresh().await;
    let (org, _) = seed_org_with_admin(&store, 1).await;
    seed_members(&store, &[member(org.id, 10)]).await;
    let mut tx = write(&store).await;
    let clash = Member { username: username("user10"), ..member(org.id, 11) };
    assert_conflict(tx.members().insert(&clash).await, UniqueKey::Username);
    // Across organisations too.
    let other = organisation(2);
    tx.organisations().insert(&other).await.unwrap();
    let clash = Member { username: username("user10"), ..member(other.id, 12) };
    assert_conflict(tx.members().insert(&clash).await, UniqueKey::Username);
}

pub(crate) async fn login_email_is_unique_case_insensitively(f: Factory) {
    let store = f.fresh().await;
    let (org, _) = seed_org_with_admin(&store, 1).await;
    seed_members(&store, &[member(org.id, 10)]).await;
    let mut tx = write(&store).await;
    let clash = Member { email: email("USER10@EXAMPLE.COM"), ..member(org.id, 11) };
    assert_conflict(tx.members().insert(&clash).await, UniqueKey::LoginEmail);
    // Non-ASCII letters fold too (Unicode lower case, as `EmailAddress::key`).
    let accented = Member { email: email("Åsa@Example.com"), ..member(org.id, 12) };
    tx.members().insert(&accented).await.unwrap();
    let clash = Member { email: email("åSA@example.com"), ..member(org.id, 13) };
    assert_conflict(tx.members().insert(&clash).await, UniqueKey::LoginEmail);
    assert_eq!(
        tx.members().find_by_email(&email("ÅSA@EXAMPLE.COM")).await.unwrap().map(|m| m.id),
        Some(accented.id)
    );
}

pub(crate) async fn duplicate_id_conflicts_on_primary_key(f: Factory) {
    let store = f.fresh().await;
    let (org, _) = seed_org_with_admin(&store, 1).await;
    seed_members(&store, &[member(org.id, 10)]).await;
    let mut tx = write(&store).await;
    let same_id = Member {
        username: username("someone-else"),
        email: email("someone@else.org"),
        ..member(org.id, 10)
    };
    assert_conflict(tx.members().insert(&same_id).await, UniqueKey::PrimaryKey);
}

pub(crate) async fn update_replaces_checks_uniqueness_and_missing_is_not_found(f: Factory) {
    let store = f.fresh().await;
    let (org, _) = seed_org_with_admin(&store, 1).await;
    let a = member(org.id, 10);
    let b = member(org.id, 11);
    seed_members(&store, &[a.clone(), b.clone()]).await;

    let changed = Member {
        status: MemberStatus::Disabled,
        role: Role::Admin,
        email: email("New.Address@Example.org"),
        username: username("renamed"),
        ..full_member(org.id, 10, product(1, "x").id)
    };
    let mut tx = write(&store).await;
    tx.members().update(&changed).await.unwrap();
    // Keeping one's own email and username is no conflict.
    tx.members().update(&changed).await.unwrap();
    let steal_name = Member { username: username("user11"), ..changed.clone() };
    assert_conflict(tx.members().update(&steal_name).await, UniqueKey::Username);
    let steal_email = Member { email: email("USER11@example.com"), ..changed.clone() };
    assert_conflict(tx.members().update(&steal_email).await, UniqueKey::LoginEmail);
    assert_not_found(tx.members().update(&member(org.id, 99)).await);
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert_eq!(tx.members().get(a.id).await.unwrap(), Some(changed.clone()));
    assert_eq!(
        tx.members().find_by_email(&email("new.address@example.org")).await.unwrap(),
        Some(changed)
    );
    // The old email and username are free again.
    assert_eq!(tx.members().find_by_email(&a.email).await.unwrap(), None);
    assert_eq!(tx.members().find_by_username(&a.username).await.unwrap(), None);
    assert_eq!(tx.members().get(b.id).await.unwrap(), Some(b));
}

pub(crate) async fn list_filters_by_org_and_status_and_pages_by_id(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let (other, other_admin) = seed_org_with_admin(&store, 2).await;
    let disabled = |m: Member| Member { status: MemberStatus::Disabled, ..m };
    let members = [
        member(org.id, 150),
        disabled(member(org.id, 120)),
        member(org.id, 110),
        disabled(member(org.id, 140)),
        member(org.id, 130),
        member(other.id, 125),
    ];
    seed_members(&store, &members).await;

    let ids = |ms: Vec<Member>| ms.into_iter().map(|m| m.id).collect::<Vec<MemberId>>();
    let mut tx = read(&store).await;
    let all = tx.members().list(org.id, None, Page { after: None, limit: 100 }).await.unwrap();
    assert_eq!(ids(all.clone()), [admin.id, id(110), id(120), id(130), id(140), id(150)]);
    assert_eq!(all[1], members[2]);
    let enabled = tx
        .members()
        .list(org.id, Some(MemberStatus::Enabled), Page { after: None, limit: 100 })
        .await
        .unwrap();
    assert_eq!(ids(enabled), [admin.id, id(110), id(130), id(150)]);
    let disabled = tx
        .members()
        .list(org.id, Some(MemberStatus::Disabled), Page { after: None, limit: 100 })
        .await
        .unwrap();
    assert_eq!(ids(disabled), [id(120), id(140)]);
    let page1 = tx.members().list(org.id, None, Page { after: None, limit: 2 }).await.unwrap();
    assert_eq!(ids(page1), [admin.id, id(110)]);
    let page2 =
        tx.members().list(org.id, None, Page { after: Some(id(110)), limit: 2 }).await.unwrap();
    assert_eq!(ids(page2), [id(120), id(130)]);
    let page = tx
        .members()
        .list(org.id, Some(MemberStatus::Enabled), Page { after: Some(id(110)), limit: 1 })
        .await
        .unwrap();
    assert_eq!(ids(page), [id(130)]);
    let theirs = tx.members().list(other.id, None, Page { after: None, limit: 100 }).await.unwrap();
    assert_eq!(ids(theirs), [id(125), other_admin.id]);
}

/// The counts a store reports: `(enabled, disabled, enabled admins)` and per plan `(plan,
/// enabled, disabled)`.
fn counts(all: (u32, u32, u32), plans: &[(&str, u32, u32)]) -> MemberCounts {
    MemberCounts {
        enabled: all.0,
        disabled: all.1,
        enabled_admins: all.2,
        plans: plans
            .iter()
            .map(|&(name, enabled, disabled)| PlanCount { plan: plan(name), enabled, disabled })
            .collect(),
    }
}

pub(crate) async fn counts_by_status_enabled_admins_and_plan(f: Factory) {
    let store = f.fresh().await;
    let (org, _) = seed_org_with_admin(&store, 1).await;
    let (other, _) = seed_org_with_admin(&store, 2).await;
    let with = |m: Member, role, status, on: &str| Member { role, status, plan: plan(on), ..m };
    seed_members(
        &store,
        &[
            with(member(org.id, 10), Role::Admin, MemberStatus::Enabled, "Basic"),
            with(member(org.id, 11), Role::Admin, MemberStatus::Disabled, "Professional"),
            with(member(org.id, 12), Role::SubUser, MemberStatus::Enabled, "Basic"),
            with(member(org.id, 13), Role::SubUser, MemberStatus::Disabled, "Basic"),
            with(member(org.id, 14), Role::SubUser, MemberStatus::Disabled, "Professional"),
            with(member(other.id, 15), Role::SubUser, MemberStatus::Enabled, "Professional"),
        ],
    )
    .await;
    let mut tx = read(&store).await;
    assert_eq!(
        tx.members().counts(org.id).await.unwrap(),
        counts((3, 3, 2), &[("Basic", 2, 1), ("Professional", 1, 2)])
    );
    assert_eq!(
        tx.members().counts(other.id).await.unwrap(),
        counts((2, 0, 1), &[("Professional", 2, 0)])
    );
    assert_eq!(tx.members().counts(id(77)).await.unwrap(), MemberCounts::default());
}

pub(crate) async fn move_to_plan_moves_one_organisations_live_members(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let (other, other_admin) = seed_org_with_admin(&store, 2).await;
    let disabled = Member { status: MemberStatus::Disabled, ..member(org.id, 10) };
    let on_basic = Member { plan: plan("Basic"), ..member(org.id, 11) };
    let gone = member(org.id, 12);
    seed_members(&store, &[disabled.clone(), on_basic.clone(), gone.clone()]).await;
    let mut tx = write(&store).await;
    tx.members().erase(gone.id, crate::fixtures::t0()).await.unwrap();
    let moved = tx.members().move_to_plan(org.id, &plan("Professional"), &plan("Enterprise")).await;
    assert_eq!(moved.unwrap(), 2, "the admin and the disabled member; not the erased one");
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    for (who, expected) in
        [(admin.id, "Enterprise"), (disabled.id, "Enterprise"), (on_basic.id, "Basic")]
    {
        assert_eq!(tx.members().get(who).await.unwrap().unwrap().plan, plan(expected));
    }
    assert_eq!(tx.members().get(other_admin.id).await.unwrap().unwrap().plan, plan("Professional"));
    assert_eq!(
        tx.members().counts(other.id).await.unwrap(),
        counts((1, 0, 1), &[("Professional", 1, 0)])
    );
}

pub(crate) async fn erase_hides_member_and_frees_email_and_username(f: Factory) {
    let store = f.fresh().await;
    let (org, admin) = seed_org_with_admin(&store, 1).await;
    let gone = full_member(org.id, 10, product(1, "x").id);
    let gone = Member { role: Role::SubUser, ..gone };
    let stays = member(org.id, 11);
    seed_members(&store, &[gone.clone(), stays.clone()]).await;
    let mut tx = write(&store).await;
    let entry =
        allocate(500, org.id, admin.id, gone.id, CreditKind::Export, 40, crate::fixtures::at(5));
    tx.credits().append(&entry).await.unwrap();
    tx.members().erase(gone.id, crate::fixtures::t0()).await.unwrap();
    // Invisible at once, in the erasing unit too.
    assert_eq!(tx.members().get(gone.id).await.unwrap(), None);
    assert_not_found(tx.members().erase(gone.id, crate::fixtures::t0()).await);
    assert_not_found(tx.members().erase(id(99), crate::fixtures::t0()).await);
    tx.commit().await.unwrap();

    let mut tx = write(&store).await;
    assert_eq!(tx.members().get(gone.id).await.unwrap(), None);
    assert_eq!(tx.members().lock(gone.id).await.unwrap(), None);
    // Several at once: live ones only, each once, by ascending id (the lock order).
    let locked = tx.members().lock_many(&[stays.id, gone.id, admin.id, stays.id]).await.unwrap();
    let mut expected = vec![admin.clone(), stays.clone()];
    expected.sort_by_key(|m| m.id);
    assert_eq!(locked, expected);
    assert_eq!(tx.members().lock_many(&[]).await.unwrap(), Vec::new());
    assert_eq!(tx.members().find_by_email(&gone.email).await.unwrap(), None);
    assert_eq!(tx.members().find_by_username(&gone.username).await.unwrap(), None);
    let listed = tx.members().list(org.id, None, Page { after: None, limit: 100 }).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.id).collect::<Vec<_>>(), [stays.id, admin.id]);
    assert_eq!(
        tx.members().counts(org.id).await.unwrap(),
        counts((2, 0, 1), &[("Professional", 2, 0)])
    );
    assert_not_found(tx.members().update(&gone).await);
    assert_not_found(tx.members().erase(gone.id, crate::fixtures::t0()).await);
    // The id stays taken, so the ledger's reference can never lead to someone else.
    let reuse_id = Member {
        username: username("fresh"),
        email: email("fresh@example.com"),
        ..member(org.id, 10)
    };
    assert_conflict(tx.members().insert(&reuse_id).await, UniqueKey::PrimaryKey);
    drop(tx);

    // A new member may take the erased member's email and username.
    let successor = Member { email: email("user10@EXAMPLE.com"), ..member(org.id, 12) };
    let successor = Member { username: gone.username.clone(), ..successor };
    seed_members(&store, std::slice::from_ref(&successor)).await;
    let mut tx = read(&store).await;
    assert_eq!(tx.members().find_by_email(&gone.email).await.unwrap(), Some(successor.clone()));
    assert_eq!(tx.members().find_by_username(&gone.username).await.unwrap(), Some(successor));
    // The ledger still holds the erased member's entry, under an id that leads to nothing.
    let filter = LedgerFilter { member: Some(gone.id), ..LedgerFilter::default() };
    let ledger =
        tx.credits().ledger(org.id, filter, Page { after: None, limit: 10 }).await.unwrap();
    assert_eq!(ledger, [entry]);
}
