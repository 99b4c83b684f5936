//! Rule 16: impersonation.

use account_core::Denied;
use account_core::domain::audit::{AuditAction, Principal};
use account_core::domain::member::Role;
use account_core::services::api_keys::ApiKeyError;
use account_core::services::auth::{AuthError, SessionError};
use account_core::services::email_change::EmailChangeError;
use account_core::services::impersonation::ImpersonationError;
use account_core::services::profile::{ChangePasswordError, ProfileInput};
use chrono::Duration;

use crate::support::{PASSWORD, World, create_org, login};

#[tokio::test]
async fn rule_16_an_admin_acts_as_a_sub_user_and_the_audit_names_both() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let imp = w.accounts().impersonation();
    let started =
        imp.start(&w.admin, sam.member(), "ticket 42: profile looks wrong").await.unwrap();
    let auth = w.accounts().auth().authenticate(&started.token).await.unwrap();
    let (info, ends) = auth.impersonation().unwrap();
    assert_eq!(info.admin_id, w.admin.member());
    assert_eq!(ends, started.session.expires_at);
    let as_sam = auth.actor;
    assert_eq!(as_sam.member(), sam.member());
    assert_eq!(as_sam.impersonator(), Some(w.admin.member()));

    let input = ProfileInput { first_name: "Samantha".into(), ..Default::default() };
    w.accounts().profile().save_profile(&as_sam, &input, 1).await.unwrap();
    let entries = w.mem.store.audit_entries().await;
    let saved = entries.iter().rev().find(|e| e.action == AuditAction::ProfileUpdated).unwrap();
    assert_eq!(saved.actor, Principal::Member(w.admin.member()));
    assert_eq!(saved.acting_as, Some(sam.member()));
    assert!(
        entries.iter().any(
            |e| e.action == AuditAction::ImpersonationStarted && e.detail.contains("ticket 42")
        )
    );

    // Stopping returns to the admin's own session.
    imp.stop(&as_sam).await.unwrap();
    assert!(w.accounts().auth().authenticate(&started.token).await.is_err());
    assert!(w.accounts().auth().authenticate(&w.admin_token).await.is_ok());
}

#[tokio::test]
async fn rule_16_never_an_admin_another_organisation_a_disabled_member_or_nested() {
    let w = World::new().await;
    let imp = w.accounts().impersonation();
    let (sam, _) = w.sub_user("sam").await;
    let (bea, _) = w.sub_user("bea").await;
    w.accounts().team().set_role(&w.admin, bea.member(), Role::Admin).await.unwrap();
    assert!(matches!(
        imp.start(&w.admin, bea.member(), "x").await,
        Err(ImpersonationError::TargetIsAdmin)
    ));
    assert!(matches!(
        imp.start(&w.admin, w.admin.member(), "x").await,
        Err(ImpersonationError::TargetIsAdmin)
    ));
    create_org(w.accounts(), "Other", "olga@other.test", 3).await;
    let (olga, _) = login(w.accounts(), "olga@other.test", PASSWORD).await;
    assert!(matches!(
        imp.start(&olga, sam.member(), "x").await,
        Err(ImpersonationError::MemberNotFound)
    ));
    assert!(matches!(
        imp.start(&sam, bea.member(), "x").await,
        Err(ImpersonationError::Denied(Denied::NotAdmin))
    ));
    assert!(matches!(
        imp.start(&w.admin, sam.member(), " ").await,
        Err(ImpersonationError::Validation(_))
    ));

    let started = imp.start(&w.admin, sam.member(), "help").await.unwrap();
    let as_sam = w.accounts().auth().authenticate(&started.token).await.unwrap().actor;
    let (tom, _) = w.sub_user("tom").await;
    assert!(matches!(
        imp.start(&as_sam, tom.member(), "nested").await,
        Err(ImpersonationError::Nested)
    ));

    w.accounts().team().disable(&w.admin, tom.member()).await.unwrap();
    assert!(matches!(
        imp.start(&w.admin, tom.member(), "x").await,
        Err(ImpersonationError::TargetDisabled)
    ));
}

#[tokio::test]
async fn rule_16_it_hangs_on_the_admin_session_and_lasts_at_most_an_hour() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let imp = w.accounts().impersonation();
    let auth = w.accounts().auth();

    let started = imp.start(&w.admin, sam.member(), "help").await.unwrap();
    auth.logout(&w.admin).await.unwrap();
    assert!(auth.authenticate(&started.token).await.is_err(), "ending the admin session ends it");

    let (admin, _) = login(w.accounts(), crate::support::ADMIN_EMAIL, PASSWORD).await;
    let started = imp.start(&admin, sam.member(), "help").await.unwrap();
    for minutes in [20, 20, 19] {
        w.mem.clock.advance(Duration::minutes(minutes));
        assert!(auth.authenticate(&started.token).await.is_ok());
    }
    w.mem.clock.advance(Duration::seconds(60));
    assert!(
        matches!(auth.authenticate(&started.token).await, Err(AuthError::Expired)),
        "60 minutes at most"
    );

    // Disabling the admin, or the sub-user, ends it at once.
    let started = imp.start(&admin, sam.member(), "help").await.unwrap();
    w.accounts().team().disable(&admin, sam.member()).await.unwrap();
    assert!(auth.authenticate(&started.token).await.is_err());
}

#[tokio::test]
async fn rule_16_password_email_api_keys_and_deletion_are_out_of_reach() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let started = w.accounts().impersonation().start(&w.admin, sam.member(), "help").await.unwrap();
    let as_sam = w.accounts().auth().authenticate(&started.token).await.unwrap().actor;
    let pw =
        w.accounts().profile().change_password(&as_sam, PASSWORD, "another long passphrase").await;
    assert!(matches!(pw, Err(ChangePasswordError::Denied(Denied::Impersonating))), "{pw:?}");
    let email = w.accounts().email_change().start(&as_sam).await;
    assert!(matches!(email, Err(EmailChangeError::Denied(Denied::Impersonating))));
    assert!(matches!(
        w.accounts().api_keys().create(&as_sam, None).await,
        Err(ApiKeyError::Denied(Denied::Impersonating))
    ));
    assert!(matches!(
        w.accounts().api_keys().list(&as_sam).await,
        Err(ApiKeyError::Denied(Denied::Impersonating))
    ));
    // Admin pages are refused too: the request acts as the sub-user.
    assert!(w.accounts().team().summary(&as_sam).await.is_err());
}

#[tokio::test]
async fn rule_16_the_sub_users_own_sessions_are_out_of_reach() {
    let w = World::new().await;
    let (sam, sam_token) = w.sub_user("sam").await;
    let sams_session = w.accounts().auth().authenticate(&sam_token).await.unwrap().actor;
    let started = w.accounts().impersonation().start(&w.admin, sam.member(), "help").await.unwrap();
    let as_sam = w.accounts().auth().authenticate(&started.token).await.unwrap().actor;
    let own = sams_session.session().unwrap();
    let one = w.accounts().auth().revoke_session(&as_sam, own).await;
    assert!(matches!(one, Err(SessionError::Denied(Denied::Impersonating))), "{one:?}");
    let others = w.accounts().auth().revoke_other_sessions(&as_sam).await;
    assert!(matches!(others, Err(SessionError::Denied(Denied::Impersonating))), "{others:?}");
    // Sam's session still works; Sam himself may end it.
    assert!(w.accounts().auth().authenticate(&sam_token).await.is_ok());
    w.accounts().auth().revoke_other_sessions(&sams_session).await.unwrap();
}

/// `authenticate_me`, which `GET /me` uses to read the caller with the session in one
/// statement, answers what `authenticate` then `profile().me` answer, impersonation included,
/// and refuses what `authenticate` refuses (rules 3 and 16).
#[tokio::test]
async fn authenticate_me_reads_what_authenticate_then_me_read() {
    let w = World::new().await;
    let (sam, sam_token) = w.sub_user("sam").await;
    let auth = w.accounts().auth();
    let started = w.accounts().impersonation().start(&w.admin, sam.member(), "help").await.unwrap();
    for token in [&w.admin_token, &sam_token, &started.token] {
        let (authenticated, me) = auth.authenticate_me(token).await.unwrap();
        let separately = auth.authenticate(token).await.unwrap();
        assert_eq!(authenticated.actor, separately.actor);
        assert_eq!(authenticated.session, separately.session);
        let read = w.accounts().profile().me(&separately.actor).await.unwrap();
        assert_eq!(me.member, read.member);
        assert_eq!(me.organisation, read.organisation);
        assert_eq!(me.organisation.id, w.org);
    }
    let (_, as_sam) = auth.authenticate_me(&started.token).await.unwrap();
    assert_eq!(as_sam.member.id, sam.member());

    // Disabling Sam ends his session and the impersonation of him at once.
    w.accounts().team().disable(&w.admin, sam.member()).await.unwrap();
    for token in [&sam_token, &started.token] {
        assert!(matches!(auth.authenticate_me(token).await, Err(AuthError::InvalidToken)));
    }
    assert!(matches!(auth.authenticate_me("acs_not-a-token").await, Err(AuthError::InvalidToken)));
    assert!(auth.authenticate_me(&w.admin_token).await.is_ok());
}
