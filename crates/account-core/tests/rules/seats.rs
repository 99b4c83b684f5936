//! Rule 23: seats have plans. Licences are counted per plan (pending invitations included),
//! each member's seat holds one plan, rule 1 holds per plan and in all, and the team summary
//! shows each plan's use.

use account_core::domain::member::MemberStatus;
use account_core::domain::organisation::{NoFreeLicence, SeatsBelowMembers};
use account_core::domain::text::PlanName;
use account_core::services::operator::OperatorError;
use account_core::services::team::{
    AddMemberError, ChangeMemberError, ChangePlanError, NewMember, PlanSummary, TeamSummary,
};

use crate::support::{PASSWORD, World, login, set_seats};

fn plan(name: &str) -> PlanName {
    PlanName::parse(name).unwrap()
}

/// `(plan, licences, enabled, disabled)` of each plan, in the organisation's order.
fn per_plan(summary: &TeamSummary) -> Vec<(String, u32, u32, u32)> {
    summary
        .plans
        .iter()
        .map(|p: &PlanSummary| (p.plan.to_string(), p.licences, p.enabled, p.disabled))
        .collect()
}

fn row(plan: &str, licences: u32, enabled: u32, disabled: u32) -> (String, u32, u32, u32) {
    (plan.to_owned(), licences, enabled, disabled)
}

/// An organisation with Professional 2 (the admin holds one) and Basic 2.
async fn two_plans() -> World {
    let w = World::with_licences(2).await;
    set_seats(w.accounts(), w.org, &[("Professional", 2, None), ("Basic", 2, None)]).await.unwrap();
    w
}

#[tokio::test]
async fn rule_23_licences_are_counted_per_plan_pending_invitations_included() {
    let w = two_plans().await;
    let team = w.accounts().team();
    // The admin's seat is on Professional: one free there; the invitation takes it.
    w.add_on("a", "a@acme.test", Some("Professional")).await;
    let new = |email: &str, plan: Option<&str>| NewMember {
        first_name: "N".into(),
        last_name: None,
        email: email.into(),
        plan: plan.map(str::to_owned),
    };
    let refused = team.add_member(&w.admin, &new("b@acme.test", Some("Professional")), None).await;
    assert!(
        matches!(&refused, Err(AddMemberError::NoFreeLicence(NoFreeLicence { plan: p, licences: 2 })) if *p == plan("Professional")),
        "{refused:?}"
    );
    // Basic has its own two: the organisation's four licences are not one pool.
    w.add_on("b", "b@acme.test", Some("basic")).await;
    w.add_on("c", "c@acme.test", Some("Basic")).await;
    let refused = team.add_member(&w.admin, &new("d@acme.test", Some("Basic")), None).await;
    assert!(matches!(refused, Err(AddMemberError::NoFreeLicence(_))), "{refused:?}");
    // With two plans, the plan must be named, and named right; the refusal lists the plans.
    for (plan, says) in
        [(None, "choose a plan: Professional, Basic"), (Some("Gold"), "no such plan")]
    {
        let refused = team.add_member(&w.admin, &new("e@acme.test", plan), None).await;
        let Err(AddMemberError::Validation(v)) = refused else { panic!("{refused:?}") };
        assert_eq!(v.fields()[0].field, "plan");
        assert!(v.fields()[0].message.contains(says), "{v}");
    }
    let summary = team.summary(&w.admin).await.unwrap();
    assert_eq!((summary.enabled, summary.disabled, summary.licences), (4, 0, 4));
    assert_eq!(per_plan(&summary), [row("Professional", 2, 2, 0), row("Basic", 2, 2, 0)]);
    // The plan is the member's, as the team list shows it.
    let members =
        team.members(&w.admin, None, account_core::ports::Page { after: None, limit: 100 }).await;
    let plans: Vec<_> = members.unwrap().iter().map(|r| r.member.plan.to_string()).collect();
    assert_eq!(plans.iter().filter(|p| *p == "Basic").count(), 2);
}

#[tokio::test]
async fn rule_23_re_enabling_and_plan_changes_need_a_free_seat_on_the_plan() {
    let w = two_plans().await;
    let team = w.accounts().team();
    let a = w.add_on("a", "a@acme.test", Some("Professional")).await;
    let b = w.add_on("b", "b@acme.test", Some("Basic")).await;
    team.disable(&w.admin, a).await.unwrap();
    // b moves into the seat a freed; Professional is full again.
    assert_eq!(
        team.set_plan(&w.admin, b, "Professional").await.unwrap().member.plan,
        plan("Professional")
    );
    // Two of four licences are free in all, but none of a's plan: a cannot come back on it.
    let refused = team.enable(&w.admin, a).await;
    assert!(
        matches!(&refused, Err(ChangeMemberError::NoFreeLicence(e)) if e.plan == plan("Professional")),
        "{refused:?}"
    );
    // An enabled member moves only to a plan with a free seat.
    let c = w.add_on("c", "c@acme.test", Some("Basic")).await;
    let refused = team.set_plan(&w.admin, c, "Professional").await;
    assert!(matches!(refused, Err(ChangePlanError::NoFreeLicence(_))), "{refused:?}");
    // A disabled member holds no seat and moves freely; then it comes back on Basic.
    assert_eq!(team.set_plan(&w.admin, a, "Basic").await.unwrap().member.plan, plan("Basic"));
    assert_eq!(team.enable(&w.admin, a).await.unwrap().status, MemberStatus::Enabled);
    // Unknown plans are named; moving to the plan one is on changes nothing.
    assert!(matches!(
        team.set_plan(&w.admin, a, "Gold").await,
        Err(ChangePlanError::Validation(_))
    ));
    assert_eq!(team.set_plan(&w.admin, a, "Basic").await.unwrap().member.plan, plan("Basic"));
    let summary = team.summary(&w.admin).await.unwrap();
    assert_eq!(per_plan(&summary), [row("Professional", 2, 2, 0), row("Basic", 2, 2, 0)]);
    // Only admins move seats.
    set_seats(w.accounts(), w.org, &[("Professional", 3, None), ("Basic", 2, None)]).await.unwrap();
    w.add_on("sam", "sam@acme.test", Some("Professional")).await;
    w.accept("sam@acme.test").await;
    let (sam, _) = login(w.accounts(), "sam@acme.test", PASSWORD).await;
    assert!(matches!(
        team.set_plan(&sam, a, "Professional").await,
        Err(ChangePlanError::Denied(_))
    ));
}

#[tokio::test]
async fn rule_23_support_sets_plans_never_below_their_members() {
    let w = two_plans().await;
    let b = w.add_on("b", "b@acme.test", Some("Basic")).await;
    w.accounts().team().disable(&w.admin, b).await.unwrap();
    // A plan with members (a disabled one too) cannot simply go.
    let refused = set_seats(w.accounts(), w.org, &[("Professional", 4, None)]).await;
    assert!(
        matches!(&refused, Err(OperatorError::SeatsBelowMembers(SeatsBelowMembers::PlanInUse { plan: p, members: 1 })) if *p == plan("Basic")),
        "{refused:?}"
    );
    // Nor have fewer licences than members enabled on it.
    let refused =
        set_seats(w.accounts(), w.org, &[("Professional", 0, None), ("Basic", 2, None)]).await;
    assert!(
        matches!(
            &refused,
            Err(OperatorError::SeatsBelowMembers(SeatsBelowMembers::Enabled { enabled: 1, .. }))
        ),
        "{refused:?}"
    );
    // Bad lists name the entry at fault.
    for (plans, field) in [
        (vec![("Pro", 1, None), ("pro", 1, None)], "plans[1].plan"),
        (vec![("Pro", 0, None)], "plans"),
        (vec![("Pro", 2, Some("Gold"))], "plans[0].replaces"),
        (vec![(" ", 2, None)], "plans[0].plan"),
    ] {
        let refused = set_seats(w.accounts(), w.org, &plans).await;
        let Err(OperatorError::Validation(v)) = refused else { panic!("{refused:?}") };
        assert_eq!(v.fields()[0].field, field, "{v}");
    }
    // A plan that replaces another takes its members, and the old one goes.
    let org =
        set_seats(w.accounts(), w.org, &[("Professional", 2, None), ("Team", 3, Some("Basic"))])
            .await
            .unwrap();
    assert_eq!(org.seats.total(), 5);
    let moved = w.accounts().team().member(&w.admin, b).await.unwrap();
    assert_eq!((moved.member.plan, moved.member.status), (plan("Team"), MemberStatus::Disabled));
    let summary = w.accounts().team().summary(&w.admin).await.unwrap();
    assert_eq!(per_plan(&summary), [row("Professional", 2, 1, 0), row("Team", 3, 0, 1)]);
    assert_eq!((summary.enabled, summary.disabled, summary.licences), (1, 1, 5));
}

#[tokio::test]
async fn rule_23_a_new_organisations_one_plan_holds_all_its_licences() {
    let w = World::with_licences(3).await;
    let summary = w.accounts().team().summary(&w.admin).await.unwrap();
    assert_eq!(per_plan(&summary), [row("Professional", 3, 1, 0)]);
    // With one plan, none need be named.
    let a = w.add("a", "a@acme.test").await;
    assert_eq!(
        w.accounts().team().member(&w.admin, a).await.unwrap().member.plan,
        plan("Professional")
    );
}
