//! Model-based property tests: random sequences of operations, checked after every step
//! against a tiny reference model. `PROPTEST_CASES` sets the number of cases (default 1,000
//! for the credit model, 256 for the others).

use std::collections::HashMap;

use account_core::Actor;
use account_core::domain::contact::{ContactRole, ContactRoles, unheld_roles};
use account_core::domain::credits::CreditKind;
use account_core::domain::mail::MailKind;
use account_core::domain::member::{MemberStatus, Role};
use account_core::domain::verification::CodeError;
use account_core::ids::MemberId;
use account_core::ports::{Clock, Page};
use account_core::services::contacts::ContactError;
use account_core::services::credits::{AllocateError, ConsumeError};
use account_core::services::impersonation::ImpersonationError;
use account_core::services::profile::{DeleteAccountError, DeleteConfirmation};
use account_core::services::team::{AddMemberError, ChangeMemberError, NewMember};
use account_core::{Denied, Settings};
use account_memory::{InMemory, code_in};
use chrono::Duration;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::credits::{assert_ledger_matches, consume};
use crate::support::{ADMIN_EMAIL, PASSWORD, World, create_org, login, op as operator, set_seats};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn run<S: Strategy>(
    default_cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(Config {
        cases: cases(default_cases),
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

// ---------------------------------------------------------------------------------------
// Credits (rules 11 to 13): grant / allocate / reclaim / consume / disable / enable / delete.

const MEMBERS: usize = 3;

#[derive(Debug, Clone)]
enum CreditOp {
    Grant {
        kind: usize,
        amount: i64,
    },
    Allocate {
        m: usize,
        kind: usize,
        amount: i64,
    },
    Reclaim {
        m: usize,
        kind: usize,
        amount: i64,
    },
    /// `who = None` is the admin.
    Consume {
        who: Option<usize>,
        kind: usize,
        amount: i64,
        event: u8,
    },
    Disable {
        m: usize,
    },
    Enable {
        m: usize,
    },
    Delete {
        m: usize,
    },
}

fn credit_op() -> impl Strategy<Value = CreditOp> {
    let kind = 0..CreditKind::ALL.len();
    let m = 0..MEMBERS;
    prop_oneof![
        3 => (kind.clone(), 1..60i64).prop_map(|(kind, amount)| CreditOp::Grant { kind, amount }),
        4 => (m.clone(), kind.clone(), 1..40i64).prop_map(|(m, kind, amount)| CreditOp::Allocate { m, kind, amount }),
        2 => (m.clone(), kind.clone(), 1..30i64).prop_map(|(m, kind, amount)| CreditOp::Reclaim { m, kind, amount }),
        5 => (proptest::option::weighted(0.8, m.clone()), kind, 1..20i64, 0..8u8)
            .prop_map(|(who, kind, amount, event)| CreditOp::Consume { who, kind, amount, event }),
        1 => m.clone().prop_map(|m| CreditOp::Disable { m }),
        1 => m.clone().prop_map(|m| CreditOp::Enable { m }),
        1 => m.prop_map(|m| CreditOp::Delete { m }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Enabled,
    Disabled,
    Deleted,
}

#[derive(Debug, Default, Clone, Copy)]
struct PoolModel {
    total: i64,
    allocated: i64,
    spent_from_pool: i64,
}

impl PoolModel {
    fn headroom(&self) -> i64 {
        self.total - self.allocated - self.spent_from_pool
    }
}

#[derive(Debug)]
struct CreditModel {
    pools: [PoolModel; 4],
    /// (allocated, used) per member and kind.
    alloc: [[(i64, i64); 4]; MEMBERS],
    status: [St; MEMBERS],
    /// event id -> (spender, kind, amount)
    events: HashMap<String, (Option<usize>, usize, i64)>,
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    Refused,
}

impl CreditModel {
    fn apply(&mut self, op: &CreditOp) -> Outcome {
        use Outcome::{Ok, Refused};
        match *op {
            CreditOp::Grant { kind, amount } => {
                self.pools[kind].total += amount;
                Ok
            }
            CreditOp::Allocate { m, kind, amount } => {
                if self.status[m] != St::Enabled || self.pools[kind].headroom() < amount {
                    return Refused;
                }
                self.pools[kind].allocated += amount;
                self.alloc[m][kind].0 += amount;
                Ok
            }
            CreditOp::Reclaim { m, kind, amount } => {
                let (a, u) = self.alloc[m][kind];
                if self.status[m] == St::Deleted || a - u < amount {
                    return Refused;
                }
                self.pools[kind].allocated -= amount;
                self.alloc[m][kind].0 -= amount;
                Ok
            }
            CreditOp::Consume { who, kind, amount, event } => {
                if who.is_some_and(|m| self.status[m] != St::Enabled) {
                    return Refused;
                }
                let id = format!("e{event}");
                if let Some(previous) = self.events.get(&id) {
                    return if *previous == (who, kind, amount) { Ok } else { Refused };
                }
                match who {
                    None => {
                        if self.pools[kind].headroom() < amount {
                            return Refused;
                        }
                        self.pools[kind].spent_from_pool += amount;
                    }
                    Some(m) => {
                        let (a, u) = self.alloc[m][kind];
                        if a - u < amount {
                            return Refused;
                        }
                        self.alloc[m][kind].1 += amount;
                    }
                }
                self.events.insert(id, (who, kind, amount));
                Ok
            }
            CreditOp::Disable { m } => {
                if self.status[m] == St::Deleted {
                    return Refused;
                }
                self.status[m] = St::Disabled;
                Ok
            }
            CreditOp::Enable { m } => {
                if self.status[m] == St::Deleted {
                    return Refused;
                }
                self.status[m] = St::Enabled;
                Ok
            }
            CreditOp::Delete { m } => {
                if self.status[m] != St::Enabled {
                    return Refused;
                }
                for kind in 0..4 {
                    let (a, u) = self.alloc[m][kind];
                    self.pools[kind].allocated -= a - u;
                    self.alloc[m][kind].0 = u;
                }
                self.status[m] = St::Deleted;
                Ok
            }
        }
    }
}

struct CreditWorld {
    w: World,
    members: Vec<Actor>,
}

impl CreditWorld {
    async fn new() -> Self {
        let w = World::with_licences(MEMBERS as u32 + 1).await;
        let mut members = Vec::new();
        for i in 0..MEMBERS {
            members.push(w.sub_user(&format!("member{i}")).await.0);
        }
        Self { w, members }
    }

    async fn apply(&self, op: &CreditOp) -> Outcome {
        let a = self.w.accounts();
        let kind_of = |k: usize| CreditKind::ALL[k];
        let result: Result<(), String> = match *op {
            CreditOp::Grant { kind, amount } => a
                .operator()
                .grant_credits(&op_(), self.w.org, (kind_of(kind), amount, "grant"), None)
                .await
                .map(drop)
                .map_err(|e| format!("{e:?}")),
            CreditOp::Allocate { m, kind, amount } => a
                .credits()
                .allocate(
                    &self.w.admin,
                    self.members[m].member(),
                    kind_of(kind),
                    amount,
                    None,
                    None,
                )
                .await
                .map(drop)
                .map_err(|e| match e {
                    AllocateError::InsufficientHeadroom { .. }
                    | AllocateError::TargetDisabled
                    | AllocateError::MemberNotFound => "refused".into(),
                    other => format!("{other:?}"),
                }),
            CreditOp::Reclaim { m, kind, amount } => a
                .credits()
                .reclaim(&self.w.admin, self.members[m].member(), kind_of(kind), amount, None, None)
                .await
                .map(drop)
                .map_err(|e| match e {
                    AllocateError::InsufficientUnspent { .. } | AllocateError::MemberNotFound => {
                        "refused".into()
                    }
                    other => format!("{other:?}"),
                }),
            CreditOp::Consume { who, kind, amount, event } => {
                let actor = who.map_or(&self.w.admin, |m| &self.members[m]);
                a.credits()
                    .consume(actor, &consume(kind_of(kind), amount, &format!("e{event}")), None)
                    .await
                    .map(drop)
                    .map_err(|e| match e {
                        ConsumeError::InsufficientCredits { .. }
                        | ConsumeError::EventIdReused
                        | ConsumeError::Denied(Denied::NotActive) => "refused".into(),
                        other => format!("{other:?}"),
                    })
            }
            CreditOp::Disable { m } => {
                a.team().disable(&self.w.admin, self.members[m].member()).await.map(drop).map_err(
                    |e| match e {
                        ChangeMemberError::MemberNotFound => "refused".into(),
                        other => format!("{other:?}"),
                    },
                )
            }
            CreditOp::Enable { m } => {
                a.team().enable(&self.w.admin, self.members[m].member()).await.map(drop).map_err(
                    |e| match e {
                        ChangeMemberError::MemberNotFound => "refused".into(),
                        other => format!("{other:?}"),
                    },
                )
            }
            CreditOp::Delete { m } => {
                let username = format!("member{m}");
                a.profile()
                    .delete_account(&self.members[m], &DeleteConfirmation::TypedUsername(username))
                    .await
                    .map_err(|e| match e {
                        DeleteAccountError::Denied(Denied::NotActive) => "refused".into(),
                        other => format!("{other:?}"),
                    })
            }
        };
        match result {
            Ok(()) => Outcome::Ok,
            Err(e) if e == "refused" => Outcome::Refused,
            Err(unexpected) => panic!("{op:?} failed unexpectedly: {unexpected}"),
        }
    }

    async fn check(&self, model: &CreditModel) {
        let a = self.w.accounts();
        let pools = a.credits().overview(&self.w.admin).await.unwrap();
        for (k, pool) in pools.iter().enumerate() {
            let m = model.pools[k];
            let member_used: i64 = (0..MEMBERS).map(|i| model.alloc[i][k].1).sum();
            assert_eq!(
                (pool.total, pool.allocated, pool.used),
                (m.total, m.allocated, m.spent_from_pool + member_used),
                "pool {:?}",
                pool.kind
            );
            assert!(pool.headroom >= 0, "no pool below zero");
        }
        let allocations = self.w.mem.store.allocations().await;
        for (i, member) in self.members.iter().enumerate() {
            for (k, kind) in CreditKind::ALL.iter().enumerate() {
                let got = allocations
                    .iter()
                    .find(|x| x.member_id() == member.member() && x.kind() == *kind)
                    .map_or((0, 0), |x| (x.allocated(), x.used()));
                assert_eq!(got, model.alloc[i][k], "member {i} {kind:?}");
                if model.status[i] == St::Deleted {
                    assert_eq!(got.0, got.1, "a deleted member keeps nothing unspent");
                }
            }
        }
        assert_ledger_matches(&self.w.mem, &self.w.admin).await;
    }
}

fn op_() -> account_core::services::operator::Operator {
    operator()
}

#[test]
fn model_credits_random_sequences_keep_every_balance_equal_to_the_ledger() {
    let rt = rt();
    run(1000, proptest::collection::vec(credit_op(), 1..40), |ops| {
        rt.block_on(async {
            let world = CreditWorld::new().await;
            let mut model = CreditModel {
                pools: [PoolModel::default(); 4],
                alloc: [[(0, 0); 4]; MEMBERS],
                status: [St::Enabled; MEMBERS],
                events: HashMap::new(),
            };
            for op in &ops {
                let before: Vec<_> = world.w.mem.store.ledger().await;
                let expected = model.apply(op);
                let got = world.apply(op).await;
                assert_eq!(got, expected, "{op:?}");
                // A disabled or deleted member spends nothing.
                if let CreditOp::Consume { who: Some(m), .. } = op
                    && model.status[*m] != St::Enabled
                {
                    assert_eq!(world.w.mem.store.ledger().await.len(), before.len());
                }
                world.check(&model).await;
            }
        });
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Licences and admins (rules 1, 2).

#[derive(Debug, Clone)]
enum TeamOp {
    Add,
    Disable(usize),
    Enable(usize),
    Promote(usize),
    Demote(usize),
    SetLicences(u32),
}

fn team_op() -> impl Strategy<Value = TeamOp> {
    prop_oneof![
        3 => Just(TeamOp::Add),
        3 => (0..8usize).prop_map(TeamOp::Disable),
        3 => (0..8usize).prop_map(TeamOp::Enable),
        2 => (0..8usize).prop_map(TeamOp::Promote),
        2 => (0..8usize).prop_map(TeamOp::Demote),
        1 => (1..8u32).prop_map(TeamOp::SetLicences),
    ]
}

#[derive(Debug, Clone, Copy)]
struct MemberModel {
    admin: bool,
    enabled: bool,
    /// Index into the logged-in actors, for members who can act.
    actor: Option<usize>,
}

#[test]
fn model_licences_and_admins_hold_over_random_sequences() {
    let rt = rt();
    run(256, proptest::collection::vec(team_op(), 1..30), |ops| {
        rt.block_on(async {
            let w = World::with_licences(4).await;
            // Member 0 is the first admin; members 1 and 2 are sub-users who can log in.
            let mut actors = vec![w.admin];
            let mut ids: Vec<MemberId> = vec![w.admin.member()];
            let mut model = vec![MemberModel { admin: true, enabled: true, actor: Some(0) }];
            for i in 1..3 {
                let (actor, _) = w.sub_user(&format!("user{i}")).await;
                ids.push(actor.member());
                actors.push(actor);
                model.push(MemberModel { admin: false, enabled: true, actor: Some(i) });
            }
            let mut licences = 4u32;
            let mut added = 0;
            for op in &ops {
                let enabled = model.iter().filter(|m| m.enabled).count() as u32;
                let enabled_admins = model.iter().filter(|m| m.enabled && m.admin).count();
                // The acting admin: the first enabled admin who can log in.
                let Some(acting) =
                    model.iter().position(|m| m.enabled && m.admin && m.actor.is_some())
                else {
                    break;
                };
                let actor = actors[model[acting].actor.unwrap_or(0)];
                let team = w.accounts().team();
                match *op {
                    TeamOp::Add => {
                        added += 1;
                        let new = NewMember {
                            first_name: "N".into(),
                            last_name: None,
                            email: format!("new{added}@acme.test"),
                            plan: None,
                        };
                        let r = team.add_member(&actor, &new, None).await;
                        if enabled < licences {
                            ids.push(r.expect("a free licence").member.id);
                            model.push(MemberModel { admin: false, enabled: true, actor: None });
                        } else {
                            assert!(
                                matches!(r, Err(AddMemberError::NoFreeLicence { .. })),
                                "{r:?}"
                            );
                        }
                    }
                    TeamOp::Disable(i)
                    | TeamOp::Enable(i)
                    | TeamOp::Promote(i)
                    | TeamOp::Demote(i)
                        if i >= ids.len() => {}
                    TeamOp::Disable(i) => {
                        let r = team.disable(&actor, ids[i]).await;
                        if model[i].enabled && model[i].admin && enabled_admins <= 1 {
                            assert!(matches!(r, Err(ChangeMemberError::LastAdmin)), "{r:?}");
                        } else {
                            r.expect("disable");
                            model[i].enabled = false;
                        }
                    }
                    TeamOp::Enable(i) => {
                        let r = team.enable(&actor, ids[i]).await;
                        if !model[i].enabled && enabled >= licences {
                            assert!(
                                matches!(r, Err(ChangeMemberError::NoFreeLicence { .. })),
                                "{r:?}"
                            );
                        } else {
                            r.expect("enable");
                            model[i].enabled = true;
                        }
                    }
                    TeamOp::Promote(i) => {
                        team.set_role(&actor, ids[i], Role::Admin).await.expect("promote");
                        model[i].admin = true;
                    }
                    TeamOp::Demote(i) => {
                        let r = team.set_role(&actor, ids[i], Role::SubUser).await;
                        if model[i].admin && model[i].enabled && enabled_admins <= 1 {
                            assert!(matches!(r, Err(ChangeMemberError::LastAdmin)), "{r:?}");
                        } else {
                            r.expect("demote");
                            model[i].admin = false;
                        }
                    }
                    TeamOp::SetLicences(n) => {
                        let r = set_seats(w.accounts(), w.org, &[("Professional", n, None)]).await;
                        if n < enabled {
                            assert!(r.is_err());
                        } else {
                            r.expect("licences");
                            licences = n;
                        }
                    }
                }
                let counts =
                    w.accounts().operator().organisation(&operator(), w.org).await.unwrap().counts;
                assert!(counts.enabled <= licences, "rule 1: {counts:?} > {licences}");
                assert!(counts.enabled_admins >= 1, "rule 2: no enabled admin left");
                assert_eq!(counts.enabled as usize, model.iter().filter(|m| m.enabled).count());
                assert_eq!(
                    counts.enabled_admins as usize,
                    model.iter().filter(|m| m.enabled && m.admin).count()
                );
                let members =
                    w.accounts().operator().organisation(&operator(), w.org).await.unwrap();
                assert_eq!(members.organisation.seats.total(), licences);
                let listed = team
                    .members(&actor, Some(MemberStatus::Disabled), Page { after: None, limit: 100 })
                    .await;
                if let Ok(listed) = listed {
                    assert_eq!(listed.len(), model.iter().filter(|m| !m.enabled).count());
                }
            }
        });
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Contact role coverage (rule 15).

#[derive(Debug, Clone)]
enum ContactOp {
    Add(usize),
    Verify(usize, bool),
    SetRoles(usize, u8),
    Remove(usize),
}

fn contact_op() -> impl Strategy<Value = ContactOp> {
    let i = 0..5usize;
    prop_oneof![
        2 => i.clone().prop_map(ContactOp::Add),
        3 => (i.clone(), proptest::bool::weighted(0.8)).prop_map(|(i, right)| ContactOp::Verify(i, right)),
        3 => (i.clone(), 0..8u8).prop_map(|(i, bits)| ContactOp::SetRoles(i, bits)),
        2 => i.prop_map(ContactOp::Remove),
    ]
}

fn roles_of(bits: u8) -> Vec<ContactRole> {
    ContactRole::ALL
        .into_iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, r)| r)
        .collect()
}

fn email_of(i: usize) -> String {
    if i == 0 { ADMIN_EMAIL.to_owned() } else { format!("contact{i}@acme.test") }
}

#[test]
fn model_every_contact_role_stays_held_by_a_verified_address() {
    let rt = rt();
    run(256, proptest::collection::vec(contact_op(), 1..30), |ops| {
        rt.block_on(async {
            let w = World::new().await;
            let contacts = w.accounts().contacts();
            for op in &ops {
                let before = contacts.list(&w.admin).await.unwrap();
                let find = |i: usize| before.iter().find(|c| c.email.as_str() == email_of(i)).cloned();
                match *op {
                    ContactOp::Add(i) => {
                        let r = contacts.add(&w.admin, &email_of(i)).await;
                        if find(i).is_some() {
                            assert!(matches!(r, Err(ContactError::AlreadyExists)), "{r:?}");
                        } else {
                            assert!(r.is_ok(), "{r:?}");
                        }
                    }
                    ContactOp::Verify(i, right) => {
                        let Some(c) = find(i) else { continue };
                        let code = match w.mem.last_mail(MailKind::ContactVerification, &email_of(i)).await {
                            Some(mail) => code_in(&mail).unwrap_or_default(),
                            None => "000000".into(),
                        };
                        let typed = if right { code.clone() } else { code.chars().rev().map(|d| if d == '9' { '0' } else { '9' }).collect() };
                        let r = contacts.verify(&w.admin, c.id, &typed).await;
                        let exhausted = c.pending.as_ref().is_some_and(|p| p.wrong_tries >= 5);
                        match (c.is_verified(), exhausted, right) {
                            (true, _, _) => assert!(matches!(r, Err(ContactError::AlreadyVerified)), "{r:?}"),
                            (false, true, _) => assert!(matches!(r, Err(ContactError::Code(CodeError::TooManyTries))), "{r:?}"),
                            (false, false, true) => assert!(r.is_ok(), "{r:?}"),
                            (false, false, false) => assert!(matches!(r, Err(ContactError::Code(_))), "{r:?}"),
                        }
                    }
                    ContactOp::SetRoles(i, bits) => {
                        let Some(c) = find(i) else { continue };
                        let roles = roles_of(bits);
                        let r = contacts.set_roles(&w.admin, c.id, &roles).await;
                        let mut after = before.clone();
                        after.iter_mut().filter(|x| x.id == c.id).for_each(|x| x.roles = ContactRoles::from_roles(&roles));
                        let lost = unheld_roles(&after);
                        if !c.is_verified() && !roles.is_empty() {
                            assert!(matches!(r, Err(ContactError::NotVerified)), "{r:?}");
                        } else if !lost.is_empty() {
                            assert!(matches!(&r, Err(ContactError::RolesUnheld { roles }) if *roles == lost), "{r:?}");
                        } else {
                            assert!(r.is_ok(), "{r:?}");
                        }
                    }
                    ContactOp::Remove(i) => {
                        let Some(c) = find(i) else { continue };
                        let r = contacts.remove(&w.admin, c.id).await;
                        let after: Vec<_> = before.iter().filter(|x| x.id != c.id).cloned().collect();
                        let lost = unheld_roles(&after);
                        if lost.is_empty() {
                            assert!(r.is_ok(), "{r:?}");
                        } else {
                            assert!(matches!(&r, Err(ContactError::RolesUnheld { roles }) if *roles == lost), "{r:?}");
                        }
                    }
                }
                let now = contacts.list(&w.admin).await.unwrap();
                assert!(unheld_roles(&now).is_empty(), "rule 15 broken after {op:?}: {now:?}");
                assert!(now.iter().all(|c| c.is_verified() || c.roles == ContactRoles::NONE));
            }
        });
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Impersonation (rule 16).

#[derive(Debug, Clone)]
enum ImpOp {
    /// Admin (0 or 1) starts impersonating target (0..4: sub-user 0, sub-user 1, the other
    /// admin, themselves).
    Start {
        admin: usize,
        target: usize,
    },
    /// Start from inside the current impersonation of `admin` (must be refused: never nested).
    Nested {
        admin: usize,
    },
    Stop {
        admin: usize,
    },
    Logout {
        admin: usize,
    },
    Login {
        admin: usize,
    },
    Advance {
        minutes: i64,
    },
    ToggleSubUser {
        which: usize,
    },
}

fn imp_op() -> impl Strategy<Value = ImpOp> {
    prop_oneof![
        4 => (0..2usize, 0..4usize).prop_map(|(admin, target)| ImpOp::Start { admin, target }),
        1 => (0..2usize).prop_map(|admin| ImpOp::Nested { admin }),
        2 => (0..2usize).prop_map(|admin| ImpOp::Stop { admin }),
        1 => (0..2usize).prop_map(|admin| ImpOp::Logout { admin }),
        1 => (0..2usize).prop_map(|admin| ImpOp::Login { admin }),
        3 => (1..40i64).prop_map(|minutes| ImpOp::Advance { minutes }),
        1 => (0..2usize).prop_map(|which| ImpOp::ToggleSubUser { which }),
    ]
}

#[derive(Debug, Clone)]
struct Live {
    token: String,
    target: usize,
    started: chrono::DateTime<chrono::Utc>,
}

#[test]
fn model_impersonation_is_valid_exactly_while_its_conditions_hold() {
    let rt = rt();
    // Long session lifetimes, so that only the impersonation's own hour ends it by time.
    let settings = Settings {
        session_idle: Duration::days(2),
        session_absolute: Duration::days(4),
        ..Settings::default()
    };
    run(256, proptest::collection::vec(imp_op(), 1..25), |ops| {
        rt.block_on(async {
            let mem = InMemory::with_settings(7, settings.clone());
            create_org(&mem.accounts, "Acme", ADMIN_EMAIL, 6).await;
            let (first, first_token) = login(&mem.accounts, ADMIN_EMAIL, PASSWORD).await;
            let w = World { mem, org: first.org(), admin: first, admin_token: first_token };
            let (second_sub, _) = w.sub_user("bea").await;
            w.accounts().team().set_role(&w.admin, second_sub.member(), Role::Admin).await.unwrap();
            let (bea, bea_token) = login(w.accounts(), "bea@acme.test", PASSWORD).await;
            let subs = [w.sub_user("sam").await.0, w.sub_user("tom").await.0];
            let mut admins: [Option<(Actor, String)>; 2] =
                [Some((w.admin, w.admin_token.clone())), Some((bea, bea_token))];
            let admin_ids = [w.admin.member(), bea.member()];
            let mut enabled = [true, true];
            let mut live: [Option<Live>; 2] = [None, None];
            let imp = w.accounts().impersonation();
            let auth = w.accounts().auth();
            for op in &ops {
                match *op {
                    ImpOp::Start { admin, target } => {
                        let Some((actor, _)) = admins[admin].clone() else { continue };
                        let target_id = match target {
                            0 | 1 => subs[target].member(),
                            2 => admin_ids[1 - admin],
                            _ => admin_ids[admin],
                        };
                        let r = imp.start(&actor, target_id, "model").await;
                        if target >= 2 {
                            assert!(matches!(r, Err(ImpersonationError::TargetIsAdmin)), "{r:?}");
                        } else if !enabled[target] {
                            assert!(matches!(r, Err(ImpersonationError::TargetDisabled)), "{r:?}");
                        } else {
                            let started = r.expect("start");
                            // A new one replaces the previous one on the same admin session.
                            live[admin] = Some(Live {
                                token: started.token,
                                target,
                                started: w.mem.clock.now(),
                            });
                        }
                    }
                    ImpOp::Nested { admin } => {
                        let Some(l) = live[admin].clone() else { continue };
                        if let Ok(a) = auth.authenticate(&l.token).await {
                            let r =
                                imp.start(&a.actor, subs[1 - l.target].member(), "nested").await;
                            assert!(matches!(r, Err(ImpersonationError::Nested)), "{r:?}");
                        }
                    }
                    ImpOp::Stop { admin } => {
                        let Some(l) = live[admin].take() else { continue };
                        if let Ok(a) = auth.authenticate(&l.token).await {
                            imp.stop(&a.actor).await.expect("stop");
                        }
                    }
                    ImpOp::Logout { admin } => {
                        let Some((actor, _)) = admins[admin].take() else { continue };
                        auth.logout(&actor).await.expect("logout");
                    }
                    ImpOp::Login { admin } => {
                        if admins[admin].is_none() {
                            let email = if admin == 0 { ADMIN_EMAIL } else { "bea@acme.test" };
                            admins[admin] = Some(login(w.accounts(), email, PASSWORD).await);
                            live[admin] = None;
                        }
                    }
                    ImpOp::Advance { minutes } => w.mem.clock.advance(Duration::minutes(minutes)),
                    ImpOp::ToggleSubUser { which } => {
                        let team = w.accounts().team();
                        let id = subs[which].member();
                        if enabled[which] {
                            team.disable(&first, id).await.expect("disable");
                        } else {
                            team.enable(&first, id).await.expect("enable");
                        }
                        enabled[which] = !enabled[which];
                    }
                }
                // Check every impersonation the model knows of.
                for admin in 0..2 {
                    let Some(l) = live[admin].clone() else { continue };
                    let expected = admins[admin].is_some()
                        && enabled[l.target]
                        && w.mem.clock.now() < l.started + Duration::minutes(60);
                    let got = auth.authenticate(&l.token).await;
                    assert_eq!(got.is_ok(), expected, "{op:?} admin {admin}: {got:?}");
                    if let Ok(a) = got {
                        assert_eq!(a.actor.impersonator(), Some(admin_ids[admin]));
                        assert_eq!(a.actor.member(), subs[l.target].member());
                    }
                    if !expected {
                        live[admin] = None;
                    }
                }
                // The admins' own sessions are never affected by impersonations.
                for (actor, token) in admins.iter().flatten() {
                    let a = auth.authenticate(token).await.expect("admin session");
                    assert_eq!(a.actor.member(), actor.member());
                    assert!(a.actor.impersonator().is_none());
                }
            }
        });
        Ok(())
    });
}
