//! Rule 21: the audit log.

use account_core::Denied;
use account_core::domain::audit::{AuditAction, AuditTarget, Principal};
use account_core::domain::credits::CreditKind;
use account_core::ports::{Clock, Page};
use account_core::services::profile::AccessError;

use crate::support::{PASSWORD, World, create_org, login, set_seats};

#[tokio::test]
async fn rule_21_changes_are_logged_with_who_what_on_what_and_when() {
    let w = World::new().await;
    w.grant(CreditKind::Export, 10).await;
    let (sam, _) = w.sub_user("sam").await;
    w.accounts()
        .credits()
        .allocate(&w.admin, sam.member(), CreditKind::Export, 5, None, None)
        .await
        .unwrap();
    w.accounts().team().disable(&w.admin, sam.member()).await.unwrap();

    let log = w.accounts().audit().list(&w.admin, Page { after: None, limit: 50 }).await.unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action).collect();
    // Newest first.
    assert_eq!(actions[0], AuditAction::MemberDisabled);
    for expected in [
        AuditAction::OrganisationCreated,
        AuditAction::CreditsGranted,
        AuditAction::MemberAdded,
        AuditAction::InvitationAccepted,
        AuditAction::LoggedIn,
        AuditAction::CreditsAllocated,
    ] {
        assert!(actions.contains(&expected), "{expected:?} missing from {actions:?}");
    }
    let disabled = &log[0];
    assert_eq!(disabled.actor, Principal::Member(w.admin.member()));
    assert_eq!(disabled.target, AuditTarget::Member(sam.member()));
    assert_eq!(disabled.at, w.mem.clock.now());
    let granted = log.iter().find(|e| e.action == AuditAction::CreditsGranted).unwrap();
    assert_eq!(granted.actor, Principal::Operator);
    assert_eq!(granted.detail, "kind=export amount=10");
    // Paging continues where the last page ended.
    let first = w.accounts().audit().list(&w.admin, Page { after: None, limit: 2 }).await.unwrap();
    let cursor = account_core::domain::audit::AuditCursor { at: first[1].at, id: first[1].id };
    let next =
        w.accounts().audit().list(&w.admin, Page { after: Some(cursor), limit: 2 }).await.unwrap();
    assert_eq!(next[0].id, log[2].id);
}

#[tokio::test]
async fn rule_21_an_admin_reads_only_their_organisation_and_sub_users_none() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    assert!(matches!(
        w.accounts().audit().list(&sam, Page { after: None, limit: 10 }).await,
        Err(AccessError::Denied(Denied::NotAdmin))
    ));
    create_org(w.accounts(), "Other", "olga@other.test", 2).await;
    let (olga, _) = login(w.accounts(), "olga@other.test", PASSWORD).await;
    let theirs = w.accounts().audit().list(&olga, Page { after: None, limit: 100 }).await.unwrap();
    assert!(!theirs.is_empty());
    assert!(theirs.iter().all(|e| e.org_id == Some(olga.org())));
    assert!(!theirs.iter().any(|e| e.target == AuditTarget::Member(sam.member())));
}

#[tokio::test]
async fn rule_21_every_change_adds_an_entry_naming_it() {
    use account_core::domain::contact::ContactRole;
    use account_core::domain::member::Role;
    use account_core::services::credits::ConsumeInput;
    use account_core::services::profile::{PreferencesInput, ProfileInput};

    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let a = w.accounts();
    let count = || async { w.mem.store.audit_entries().await.len() };
    let last = || async { w.mem.store.audit_entries().await.last().map(|e| e.action) };
    macro_rules! changes {
        ($action:expr, $call:expr) => {{
            let before = count().await;
            $call.await.expect(stringify!($call));
            assert!(count().await > before, "{:?} left no audit entry", $action);
            assert!(
                w.mem.store.audit_entries().await[before..].iter().any(|e| e.action == $action),
                "expected {:?}, last was {:?}",
                $action,
                last().await
            );
        }};
    }
    let op = crate::support::op();
    changes!(
        AuditAction::CreditsGranted,
        a.operator().grant_credits(&op, w.org, (CreditKind::Export, 10, "r"), None)
    );
    changes!(
        AuditAction::CreditsExpired,
        a.operator().expire_credits(&op, w.org, (CreditKind::Export, 1, "r"), None)
    );
    changes!(
        AuditAction::CreditsAllocated,
        a.credits().allocate(&w.admin, sam.member(), CreditKind::Export, 5, None, None)
    );
    changes!(
        AuditAction::CreditsReclaimed,
        a.credits().reclaim(&w.admin, sam.member(), CreditKind::Export, 1, None, None)
    );
    let consumption = ConsumeInput {
        kind: "export".into(),
        amount: 1,
        data_type: "email".into(),
        provider: "p".into(),
        event_id: "ev".into(),
    };
    changes!(AuditAction::CreditsConsumed, a.credits().consume(&sam, &consumption, None));
    let profile = ProfileInput { first_name: "Sam".into(), ..Default::default() };
    changes!(AuditAction::ProfileUpdated, a.profile().save_profile(&sam, &profile, 1));
    let prefs = PreferencesInput {
        notifications: Default::default(),
        export: Default::default(),
        timezone: "UTC".into(),
    };
    changes!(AuditAction::PreferencesUpdated, a.profile().set_preferences(&sam, &prefs));
    changes!(AuditAction::OfferingsUpdated, a.profile().set_offerings(&sam, &[]));
    changes!(AuditAction::ApiKeyCreated, a.api_keys().create(&sam, None));
    changes!(
        AuditAction::LicencesChanged,
        set_seats(a, w.org, &[("Professional", 6, None), ("Basic", 1, None)])
    );
    changes!(
        AuditAction::PlanChanged,
        set_seats(a, w.org, &[("Enterprise", 6, Some("Professional")), ("Basic", 1, None)])
    );
    changes!(AuditAction::MemberPlanChanged, a.team().set_plan(&w.admin, sam.member(), "Basic"));
    changes!(
        AuditAction::RegistrationNumberChanged,
        a.operator().change_registration_number(&op, w.org, "112233-4455")
    );
    changes!(
        AuditAction::UsernameChanged,
        a.operator().rename_username(&op, sam.member(), "sam.s")
    );
    changes!(
        AuditAction::CustomerInfoUpdated,
        a.organisation().save_customer_info(&w.admin, &Default::default(), 1)
    );
    changes!(AuditAction::ContactAdded, a.contacts().add(&w.admin, "tech@acme.test"));
    let contact = a
        .contacts()
        .list(&w.admin)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.email.as_str() == "tech@acme.test")
        .unwrap();
    let code =
        w.code(account_core::domain::mail::MailKind::ContactVerification, "tech@acme.test").await;
    changes!(AuditAction::ContactVerified, a.contacts().verify(&w.admin, contact.id, &code));
    changes!(
        AuditAction::ContactRolesChanged,
        a.contacts().set_roles(&w.admin, contact.id, &[ContactRole::Tech])
    );
    changes!(AuditAction::ContactRemoved, a.contacts().remove(&w.admin, contact.id));
    changes!(AuditAction::RoleChanged, a.team().set_role(&w.admin, sam.member(), Role::Admin));
    changes!(AuditAction::RoleChanged, a.team().set_role(&w.admin, sam.member(), Role::SubUser));
    changes!(AuditAction::MemberDisabled, a.team().disable(&w.admin, sam.member()));
    changes!(AuditAction::MemberEnabled, a.team().enable(&w.admin, sam.member()));
    changes!(
        AuditAction::ImpersonationStarted,
        a.impersonation().start(&w.admin, sam.member(), "help")
    );
    changes!(AuditAction::ProductCreated, a.operator().create_product(&op, "Data"));
    changes!(AuditAction::OtherSessionsRevoked, a.auth().revoke_other_sessions(&w.admin));
    changes!(AuditAction::LoggedOut, a.auth().logout(&w.admin));
}
