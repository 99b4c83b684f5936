//! Rules 1 to 4 and 7: licences, the last admin, disabling, invitations, usernames.

use account_core::domain::credits::CreditKind;
use account_core::domain::mail::MailKind;
use account_core::domain::member::{MemberStatus, Role};
use account_core::domain::organisation::SeatsBelowMembers;
use account_core::ports::Page;
use account_core::services::auth::{AcceptInvitationError, AuthError, LoginError};
use account_core::services::operator::OperatorError;
use account_core::services::profile::DeleteAccountError;
use account_core::services::profile::DeleteConfirmation;
use account_core::services::team::{AddMemberError, ChangeMemberError, NewMember};
use account_memory::token_in;
use chrono::Duration;

use crate::support::{PASSWORD, World, login, op, set_seats};

fn new_member(email: &str) -> NewMember {
    NewMember { first_name: "Sam".into(), last_name: None, email: email.into(), plan: None }
}

#[tokio::test]
async fn rule_01_enabled_members_never_exceed_licences_pending_invitations_included() {
    let w = World::with_licences(3).await;
    let team = w.accounts().team();
    // The admin holds one licence; two pending invitations take the others.
    w.add("a", "a@acme.test").await;
    w.add("b", "b@acme.test").await;
    let refused = team.add_member(&w.admin, &new_member("c@acme.test"), None).await;
    assert!(
        matches!(refused, Err(AddMemberError::NoFreeLicence(ref e)) if e.licences == 3),
        "{refused:?}"
    );
    assert_eq!(team.summary(&w.admin).await.unwrap().enabled, 3);
}

#[tokio::test]
async fn rule_01_disabled_members_hold_no_licence_and_re_enabling_needs_one() {
    let w = World::with_licences(2).await;
    let team = w.accounts().team();
    let a = w.add("a", "a@acme.test").await;
    team.disable(&w.admin, a).await.unwrap();
    let b = w.add("b", "b@acme.test").await;
    let refused = team.enable(&w.admin, a).await;
    assert!(
        matches!(refused, Err(ChangeMemberError::NoFreeLicence(ref e)) if e.licences == 2),
        "{refused:?}"
    );
    team.disable(&w.admin, b).await.unwrap();
    assert_eq!(team.enable(&w.admin, a).await.unwrap().status, MemberStatus::Enabled);
    let summary = team.summary(&w.admin).await.unwrap();
    assert_eq!((summary.enabled, summary.disabled, summary.licences), (2, 1, 2));
}

#[tokio::test]
async fn rule_01_licences_cannot_be_lowered_below_enabled_members() {
    let w = World::with_licences(3).await;
    w.add("a", "a@acme.test").await;
    let refused = set_seats(w.accounts(), w.org, &[("Professional", 1, None)]).await;
    assert!(
        matches!(
            refused,
            Err(OperatorError::SeatsBelowMembers(SeatsBelowMembers::Enabled { enabled: 2, .. }))
        ),
        "{refused:?}"
    );
    let set = set_seats(w.accounts(), w.org, &[("Professional", 2, None)]).await.unwrap();
    assert_eq!(set.seats.total(), 2);
}

#[tokio::test]
async fn rule_02_the_last_enabled_admin_cannot_be_disabled_demoted_or_deleted() {
    let w = World::new().await;
    let team = w.accounts().team();
    let me = w.admin.member();
    assert!(matches!(team.disable(&w.admin, me).await, Err(ChangeMemberError::LastAdmin)));
    assert!(matches!(
        team.set_role(&w.admin, me, Role::SubUser).await,
        Err(ChangeMemberError::LastAdmin)
    ));
    let deleted = w
        .accounts()
        .profile()
        .delete_account(&w.admin, &DeleteConfirmation::Password(PASSWORD.into()))
        .await;
    assert!(matches!(deleted, Err(DeleteAccountError::LastAdmin)), "{deleted:?}");

    // With a second enabled admin, the first may step down.
    let (second, _) = w.sub_user("bea").await;
    team.set_role(&w.admin, second.member(), Role::Admin).await.unwrap();
    assert_eq!(team.set_role(&w.admin, me, Role::SubUser).await.unwrap().role, Role::SubUser);
    // Now `second` is the last admin again.
    let (second, _) = login(w.accounts(), "bea@acme.test", PASSWORD).await;
    assert!(matches!(
        team.disable(&second, second.member()).await,
        Err(ChangeMemberError::LastAdmin)
    ));
}

#[tokio::test]
async fn rule_02_a_disabled_admin_does_not_count_as_the_enabled_admin() {
    let w = World::new().await;
    let team = w.accounts().team();
    let (bea, _) = w.sub_user("bea").await;
    team.set_role(&w.admin, bea.member(), Role::Admin).await.unwrap();
    team.disable(&w.admin, bea.member()).await.unwrap();
    assert!(matches!(
        team.disable(&w.admin, w.admin.member()).await,
        Err(ChangeMemberError::LastAdmin)
    ));
}

#[tokio::test]
async fn rule_03_disabling_keeps_data_ends_sessions_and_keys_at_once_until_re_enabled() {
    let w = World::new().await;
    let (sam, sam_token) = w.sub_user("sam").await;
    let key = w.accounts().api_keys().create(&sam, Some("crm")).await.unwrap();
    w.grant(CreditKind::Export, 100).await;
    w.accounts()
        .credits()
        .allocate(&w.admin, sam.member(), CreditKind::Export, 40, None, None)
        .await
        .unwrap();

    w.accounts().team().disable(&w.admin, sam.member()).await.unwrap();
    let auth = w.accounts().auth();
    assert!(matches!(auth.authenticate(&sam_token).await, Err(AuthError::InvalidToken)));
    assert!(matches!(auth.authenticate_api_key(&key.secret).await, Err(AuthError::InvalidToken)));
    let login = auth.login("sam@acme.test", PASSWORD, None, None).await;
    assert!(matches!(login, Err(LoginError::AccountDisabled)), "{login:?}");
    // An actor built before the disable is refused by every use case too.
    assert!(w.accounts().profile().me(&sam).await.is_err());

    // Data is kept: the member, their allocation, their key.
    let row = w.accounts().team().member(&w.admin, sam.member()).await.unwrap();
    assert_eq!(row.member.status, MemberStatus::Disabled);
    assert_eq!(row.balances[0].allocated, 40);

    w.accounts().team().enable(&w.admin, sam.member()).await.unwrap();
    // The sessions ended for good: re-enabling does not bring them back.
    assert!(matches!(auth.authenticate(&sam_token).await, Err(AuthError::InvalidToken)));
    let (again, _) = crate::support::login(w.accounts(), "sam@acme.test", PASSWORD).await;
    assert_eq!(again.member(), sam.member());
    assert!(auth.authenticate_api_key(&key.secret).await.is_ok());
}

#[tokio::test]
async fn rule_04_a_new_sub_user_gets_no_credits_and_an_invitation_to_set_a_password() {
    let w = World::new().await;
    w.grant(CreditKind::Export, 1000).await;
    let id = w.add("sam", "sam@acme.test").await;
    let row = w.accounts().team().member(&w.admin, id).await.unwrap();
    assert_eq!(row.member.role, Role::SubUser);
    assert!(row.balances.iter().all(|b| b.allocated == 0 && b.available == 0));
    assert!(row.member.password.is_none());

    // Before accepting, nobody can log in as them.
    let refused = w.accounts().auth().login("sam@acme.test", PASSWORD, None, None).await;
    assert!(matches!(refused, Err(LoginError::InvalidCredentials)));

    let mail = w.mem.last_mail(MailKind::Invitation, "sam@acme.test").await.unwrap();
    let token = token_in(&mail, "aci_").unwrap();
    let weak = w.accounts().auth().accept_invitation(&token, "short", None).await;
    assert!(matches!(weak, Err(AcceptInvitationError::Validation(_))));
    w.accounts().auth().accept_invitation(&token, PASSWORD, None).await.unwrap();
    login(w.accounts(), "sam@acme.test", PASSWORD).await;
    // Single use.
    let again = w.accounts().auth().accept_invitation(&token, "another long password", None).await;
    assert!(matches!(again, Err(AcceptInvitationError::InvalidToken)), "{again:?}");
}

#[tokio::test]
async fn rule_04_invitations_expire_and_a_resend_replaces_them() {
    let w = World::new().await;
    let id = w.add("sam", "sam@acme.test").await;
    let first =
        token_in(&w.mem.last_mail(MailKind::Invitation, "sam@acme.test").await.unwrap(), "aci_")
            .unwrap();
    w.mem.clock.advance(Duration::days(8));
    let late = w.accounts().auth().accept_invitation(&first, PASSWORD, None).await;
    assert!(matches!(late, Err(AcceptInvitationError::Expired)), "{late:?}");
    w.accounts().team().resend_invitation(&w.admin, id).await.unwrap();
    let second =
        token_in(&w.mem.last_mail(MailKind::Invitation, "sam@acme.test").await.unwrap(), "aci_")
            .unwrap();
    assert_ne!(first, second);
    assert!(matches!(
        w.accounts().auth().accept_invitation(&first, PASSWORD, None).await,
        Err(AcceptInvitationError::InvalidToken)
    ));
    w.accounts().auth().accept_invitation(&second, PASSWORD, None).await.unwrap();
}

#[tokio::test]
async fn rule_04_only_admins_add_members_and_emails_are_unique() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let denied = w.accounts().team().add_member(&sam, &new_member("x@acme.test"), None).await;
    assert!(matches!(denied, Err(AddMemberError::Denied(_))), "{denied:?}");
    let dup = w.accounts().team().add_member(&w.admin, &new_member("SAM@acme.test"), None).await;
    assert!(matches!(dup, Err(AddMemberError::EmailTaken)), "{dup:?}");
    let bad = w
        .accounts()
        .team()
        .add_member(
            &w.admin,
            &NewMember {
                first_name: " ".into(),
                last_name: None,
                email: "nope".into(),
                plan: None,
            },
            None,
        )
        .await;
    let Err(AddMemberError::Validation(errors)) = bad else { panic!("{bad:?}") };
    let fields: Vec<_> = errors.fields().iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["first_name", "email"]);
}

#[tokio::test]
async fn rule_04_an_email_domain_typed_in_unicode_or_punycode_is_one_login() {
    let w = World::new().await;
    let team = w.accounts().team();
    let added = team.add_member(&w.admin, &new_member("ada@bücher.example"), None).await.unwrap();
    assert_eq!(added.member.email.as_str(), "ada@xn--bcher-kva.example", "kept in ASCII form");
    for same in ["ada@xn--bcher-kva.example", "Ada@BÜCHER.example"] {
        let dup = team.add_member(&w.admin, &new_member(same), None).await;
        assert!(matches!(dup, Err(AddMemberError::EmailTaken)), "{same}: {dup:?}");
    }
    // The contacts of an organisation are unique the same way.
    let contacts = w.accounts().contacts();
    contacts.add(&w.admin, "billing@bücher.example").await.unwrap();
    let dup = contacts.add(&w.admin, "billing@xn--bcher-kva.example").await;
    assert!(
        matches!(dup, Err(account_core::services::contacts::ContactError::AlreadyExists)),
        "{dup:?}"
    );
}

#[tokio::test]
async fn rule_07_only_support_changes_a_username() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let before = w.accounts().profile().me(&sam).await.unwrap().member.username;
    assert_eq!(before.as_str(), "sam");
    // Nothing a member can call takes a username: saving the profile keeps it.
    let input = account_core::services::profile::ProfileInput {
        first_name: "Samuel".into(),
        ..Default::default()
    };
    w.accounts().profile().save_profile(&sam, &input, 1).await.unwrap();
    assert_eq!(w.accounts().profile().me(&sam).await.unwrap().member.username, before);

    let ops = w.accounts().operator();
    let renamed = ops.rename_username(&op(), sam.member(), "samuel.s").await.unwrap();
    assert_eq!(renamed.username.as_str(), "samuel.s");
    let taken = ops.rename_username(&op(), sam.member(), "ada").await;
    assert!(matches!(taken, Err(OperatorError::UsernameTaken)), "{taken:?}");
    let invalid = ops.rename_username(&op(), sam.member(), "x").await;
    assert!(matches!(invalid, Err(OperatorError::Validation(_))));
}

#[tokio::test]
async fn rule_04_usernames_are_derived_from_the_email_and_kept_unique() {
    let w = World::new().await;
    w.add("one", "sam@acme.test").await;
    let two = w.add("two", "sam@other.test").await;
    let rows =
        w.accounts().team().members(&w.admin, None, Page { after: None, limit: 10 }).await.unwrap();
    let names: Vec<_> = rows.iter().map(|r| r.member.username.as_str().to_owned()).collect();
    assert!(names.contains(&"sam".to_owned()) && names.contains(&"sam1".to_owned()), "{names:?}");
    assert!(rows.iter().any(|r| r.member.id == two && r.member.username.as_str() == "sam1"));
}
