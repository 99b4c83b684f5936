//! Rules 8, 9, 10, 17 and 18: passwords and log-in, email change, verification codes, API
//! keys, sessions.

use account_core::Denied;
use account_core::domain::mail::MailKind;
use account_core::domain::password::{Password, PasswordError};
use account_core::domain::verification::{CodeError, ResendError};
use account_core::services::api_keys::ApiKeyError;
use account_core::services::auth::{AuthError, LoginError};
use account_core::services::email_change::EmailChangeError;
use account_core::services::profile::ChangePasswordError;
use chrono::Duration;

use account_memory::code_in;

use crate::support::{ADMIN_EMAIL, PASSWORD, World, login};

#[tokio::test]
async fn rule_08_password_change_needs_the_current_one_and_ends_other_sessions() {
    let w = World::new().await;
    let (_, other_token) = login(w.accounts(), ADMIN_EMAIL, PASSWORD).await;
    let profiles = w.accounts().profile();
    let wrong =
        profiles.change_password(&w.admin, "not my password", "a brand new passphrase").await;
    assert!(matches!(wrong, Err(ChangePasswordError::WrongPassword)), "{wrong:?}");
    profiles.change_password(&w.admin, PASSWORD, "a brand new passphrase").await.unwrap();
    let auth = w.accounts().auth();
    assert!(matches!(auth.authenticate(&other_token).await, Err(AuthError::InvalidToken)));
    assert!(auth.authenticate(&w.admin_token).await.is_ok(), "the current session stays");
    assert!(matches!(
        auth.login(ADMIN_EMAIL, PASSWORD, None, None).await,
        Err(LoginError::InvalidCredentials)
    ));
    auth.login(ADMIN_EMAIL, "a brand new passphrase", None, None).await.unwrap();
    assert!(w.mem.last_mail(MailKind::PasswordChanged, ADMIN_EMAIL).await.is_some());
}

#[tokio::test]
async fn rule_08_password_policy_length_common_lists_identity_and_no_truncation() {
    let w = World::new().await;
    let profiles = w.accounts().profile();
    for (new, why) in [
        ("elevenchars", "too short"),
        ("qwertyuiop123", "common"),
        ("ada@acme.test-rocks", "contains the email"),
    ] {
        let r = profiles.change_password(&w.admin, PASSWORD, new).await;
        let Err(ChangePasswordError::Validation(e)) = r else { panic!("{why}: {r:?}") };
        assert_eq!(e.fields()[0].field, "new_password", "{why}");
    }
    let long = "x".repeat(129);
    assert!(matches!(
        profiles.change_password(&w.admin, PASSWORD, &long).await,
        Err(ChangePasswordError::Validation(_))
    ));
    // 128 characters are kept whole: the 128th matters.
    let max = format!("{}A", "tangerine-".repeat(13).chars().take(127).collect::<String>());
    profiles.change_password(&w.admin, PASSWORD, &max).await.unwrap();
    let almost = format!("{}B", &max[..127]);
    assert!(w.accounts().auth().login(ADMIN_EMAIL, &almost, None, None).await.is_err());
    assert!(w.accounts().auth().login(ADMIN_EMAIL, &max, None, None).await.is_ok());
}

#[tokio::test]
async fn rule_08_passwords_on_the_breached_list_or_trivial_sequences_are_refused() {
    let w = World::new().await;
    let profiles = w.accounts().profile();
    // Through the use case (each try spends the member's password budget, rule 24)…
    for common in ["1234567890123", "correct horse battery staple", "Voponakapysel"] {
        let r = profiles.change_password(&w.admin, PASSWORD, common).await;
        let Err(ChangePasswordError::Validation(e)) = r else { panic!("{common}: {r:?}") };
        assert_eq!(e.fields()[0].field, "new_password", "{common}");
        assert!(e.fields()[0].message.contains("too common"), "{common}: {e:?}");
    }
    // …and the policy itself for more samples.
    for common in [
        // Trivial sequences (the first two are on the list as well).
        "123456789012",
        "abcdefghijkl",
        "9876543210987",
        // xkcd 936's example, however it is spaced or capitalised.
        "CorrectHorseBatteryStaple",
        // Entries of the list, as typed and in other cases.
        "yaroslav1991",
        "FKTRCFYLHJDRF",
        "iloveyou1234",
    ] {
        assert_eq!(Password::parse(common).map(|_| ()), Err(PasswordError::TooCommon), "{common}");
    }
    // The suites' own password is on none of them.
    profiles.change_password(&w.admin, PASSWORD, "plum violin harbour tractor").await.unwrap();
}

#[tokio::test]
async fn rule_08_login_fails_alike_and_with_equal_work_for_unknown_accounts() {
    let w = World::new().await;
    let auth = w.accounts().auth();
    let before = w.mem.hasher.verifications();
    let unknown = auth.login("nobody@acme.test", PASSWORD, None, None).await;
    let after_unknown = w.mem.hasher.verifications();
    let wrong = auth.login(ADMIN_EMAIL, "wrong password here", None, None).await;
    let after_wrong = w.mem.hasher.verifications();
    let malformed = auth.login("not an email", "", None, None).await;
    assert!(matches!(unknown, Err(LoginError::InvalidCredentials)));
    assert!(matches!(wrong, Err(LoginError::InvalidCredentials)));
    assert!(matches!(malformed, Err(LoginError::InvalidCredentials)));
    assert_eq!(unknown.unwrap_err().to_string(), wrong.unwrap_err().to_string());
    // One password verification each, whether or not the account exists.
    assert_eq!(after_unknown - before, 1);
    assert_eq!(after_wrong - after_unknown, 1);
    assert_eq!(w.mem.hasher.verifications() - after_wrong, 1);
    // The stored hash is not the password.
    let me = w.accounts().profile().me(&w.admin).await.unwrap().member;
    assert!(!me.password.unwrap().as_str().contains(PASSWORD));
}

#[tokio::test]
async fn rule_09_email_switches_only_after_both_codes_tells_the_old_address_and_ends_sessions() {
    let w = World::new().await;
    let (_, other_token) = login(w.accounts(), ADMIN_EMAIL, PASSWORD).await;
    let flows = w.accounts().email_change();
    flows.start(&w.admin).await.unwrap();
    let code = w.code(MailKind::EmailChangeCurrentCode, ADMIN_EMAIL).await;
    // Steps cannot be skipped.
    assert!(matches!(
        flows.submit_new(&w.admin, "new@acme.test", "new@acme.test").await,
        Err(EmailChangeError::WrongStage { .. })
    ));
    flows.confirm_current(&w.admin, &code).await.unwrap();
    let typo = flows.submit_new(&w.admin, "new@acme.test", "mew@acme.test").await;
    let Err(EmailChangeError::Validation(e)) = typo else { panic!("{typo:?}") };
    assert_eq!(e.fields()[0].field, "new_email_repeat");
    flows.submit_new(&w.admin, "new@acme.test", "new@acme.test").await.unwrap();
    // Not switched yet.
    assert_eq!(
        w.accounts().profile().me(&w.admin).await.unwrap().member.email.as_str(),
        ADMIN_EMAIL
    );
    let code = w.code(MailKind::EmailChangeNewCode, "new@acme.test").await;
    let changed = flows.confirm_new(&w.admin, &code).await.unwrap();
    assert_eq!(changed.email.as_str(), "new@acme.test");
    assert!(
        w.mem.last_mail(MailKind::EmailChanged, ADMIN_EMAIL).await.is_some(),
        "old address told"
    );
    assert!(w.accounts().auth().authenticate(&other_token).await.is_err());
    assert!(w.accounts().auth().authenticate(&w.admin_token).await.is_ok());
    assert!(w.accounts().auth().login("new@acme.test", PASSWORD, None, None).await.is_ok());
    assert!(w.accounts().auth().login(ADMIN_EMAIL, PASSWORD, None, None).await.is_err());
}

#[tokio::test]
async fn rule_09_the_new_address_must_be_free_and_the_flow_is_not_for_impersonators_or_keys() {
    let w = World::new().await;
    w.sub_user("sam").await;
    // A taken address is answered as a free one (rule 24): its owner gets a notice without a
    // code, so the change cannot complete and the asker learns nothing.
    let flows = w.accounts().email_change();
    flows.start(&w.admin).await.unwrap();
    let code = w.code(MailKind::EmailChangeCurrentCode, ADMIN_EMAIL).await;
    flows.confirm_current(&w.admin, &code).await.unwrap();
    flows.submit_new(&w.admin, "sam@acme.test", "sam@acme.test").await.unwrap();
    let notice = w.mem.last_mail(MailKind::EmailChangeNewCode, "sam@acme.test").await.unwrap();
    assert!(code_in(&notice).is_none(), "the owner of a taken address gets no code");
    for guess in ["000000", "123456"] {
        let r = flows.confirm_new(&w.admin, guess).await;
        assert!(matches!(r, Err(EmailChangeError::Code(_))), "{r:?}");
    }
    flows.cancel(&w.admin).await.unwrap();
    let (sam, _) = login(w.accounts(), "sam@acme.test", PASSWORD).await;
    let key = w.accounts().api_keys().create(&sam, None).await.unwrap();
    let via_key = w.accounts().auth().authenticate_api_key(&key.secret).await.unwrap();
    let r = w.accounts().email_change().start(&via_key).await;
    assert!(matches!(r, Err(EmailChangeError::Denied(Denied::NeedsSession))), "{r:?}");
}

#[tokio::test]
async fn rule_10_codes_allow_five_wrong_tries_then_the_flow_must_start_again() {
    let w = World::new().await;
    let flows = w.accounts().email_change();
    flows.start(&w.admin).await.unwrap();
    let code = w.code(MailKind::EmailChangeCurrentCode, ADMIN_EMAIL).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (1..5).rev() {
        let r = flows.confirm_current(&w.admin, wrong).await;
        assert!(
            matches!(r, Err(EmailChangeError::Code(CodeError::Wrong { tries_left })) if tries_left == left),
            "{r:?}"
        );
    }
    assert!(matches!(
        flows.confirm_current(&w.admin, wrong).await,
        Err(EmailChangeError::Code(CodeError::TooManyTries))
    ));
    // Even the right code no longer works, and no resend helps.
    assert!(matches!(
        flows.confirm_current(&w.admin, &code).await,
        Err(EmailChangeError::Code(CodeError::TooManyTries))
    ));
    w.mem.clock.advance(Duration::minutes(2));
    assert!(matches!(
        flows.resend(&w.admin).await,
        Err(EmailChangeError::Resend(ResendError::Exhausted))
    ));
    // Starting again works.
    flows.start(&w.admin).await.unwrap();
    let fresh = w.code(MailKind::EmailChangeCurrentCode, ADMIN_EMAIL).await;
    flows.confirm_current(&w.admin, &fresh).await.unwrap();
}

#[tokio::test]
async fn rule_10_codes_expire_after_ten_minutes_are_single_use_and_bound_to_their_flow() {
    let w = World::new().await;
    let flows = w.accounts().email_change();
    flows.start(&w.admin).await.unwrap();
    let code = w.code(MailKind::EmailChangeCurrentCode, ADMIN_EMAIL).await;
    assert_eq!(code.len(), 6);
    w.mem.clock.advance(Duration::minutes(10));
    assert!(matches!(
        flows.confirm_current(&w.admin, &code).await,
        Err(EmailChangeError::Code(CodeError::Expired))
    ));
    // A resend replaces the code: the old one stops working.
    flows.resend(&w.admin).await.unwrap();
    let second = w.code(MailKind::EmailChangeCurrentCode, ADMIN_EMAIL).await;
    if second != code {
        assert!(matches!(
            flows.confirm_current(&w.admin, &code).await,
            Err(EmailChangeError::Code(CodeError::Wrong { .. }))
        ));
    }
    flows.confirm_current(&w.admin, &second).await.unwrap();
    // Single use: the flow moved on, the code means nothing now.
    assert!(matches!(
        flows.confirm_current(&w.admin, &second).await,
        Err(EmailChangeError::WrongStage { .. })
    ));

    // Bound to the flow: a code from an abandoned flow does not confirm a new one.
    flows.cancel(&w.admin).await.unwrap();
    w.mem.clock.advance(Duration::minutes(2));
    flows.start(&w.admin).await.unwrap();
    let third = w.code(MailKind::EmailChangeCurrentCode, ADMIN_EMAIL).await;
    if third != second {
        assert!(flows.confirm_current(&w.admin, &second).await.is_err());
    }
}

#[tokio::test]
async fn rule_10_resends_are_throttled_and_codes_are_stored_only_as_digests() {
    let w = World::new().await;
    let flows = w.accounts().email_change();
    flows.start(&w.admin).await.unwrap();
    let r = flows.resend(&w.admin).await;
    assert!(
        matches!(r, Err(EmailChangeError::Resend(ResendError::TooSoon { retry_after_secs: 60 }))),
        "{r:?}"
    );
    let restart = flows.start(&w.admin).await;
    assert!(
        matches!(restart, Err(EmailChangeError::Resend(ResendError::TooSoon { .. }))),
        "{restart:?}"
    );
    for _ in 0..4 {
        w.mem.clock.advance(Duration::seconds(61));
        flows.resend(&w.admin).await.unwrap();
    }
    w.mem.clock.advance(Duration::seconds(61));
    assert!(matches!(
        flows.resend(&w.admin).await,
        Err(EmailChangeError::Resend(ResendError::Exhausted))
    ));
    // The flow shows no code: it holds only a digest.
    let code = w.code(MailKind::EmailChangeCurrentCode, ADMIN_EMAIL).await;
    let debug = format!("{:?}", flows.status(&w.admin).await.unwrap());
    assert!(!debug.contains(&code));
}

#[tokio::test]
async fn rule_17_api_keys_are_shown_once_stored_hashed_listed_by_prefix_rotated_and_revoked() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let keys = w.accounts().api_keys();
    let created = keys.create(&sam, Some("crm sync")).await.unwrap();
    assert!(created.secret.starts_with("ack_") && created.secret.len() == 100);
    assert!(created.secret.starts_with(&created.key.prefix));
    let listed = keys.list(&sam).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!format!("{listed:?}").contains(&created.secret[created.key.prefix.len()..]));
    assert!(listed[0].last_used_at.is_none());

    let auth = w.accounts().auth();
    assert_eq!(auth.authenticate_api_key(&created.secret).await.unwrap().member(), sam.member());
    assert!(keys.list(&sam).await.unwrap()[0].last_used_at.is_some());

    let rotated = keys.rotate(&sam, created.key.id).await.unwrap();
    assert!(auth.authenticate_api_key(&created.secret).await.is_err());
    assert!(auth.authenticate_api_key(&rotated.secret).await.is_ok());
    assert_eq!(rotated.key.label.as_ref().unwrap().as_str(), "crm sync");
    // The key keeps its id (a client that stored it finds it again); secret and prefix change.
    assert_eq!(rotated.key.id, created.key.id);
    assert_ne!(rotated.key.prefix, created.key.prefix);
    assert!(rotated.secret.starts_with(&rotated.key.prefix));
    let listed = keys.list(&sam).await.unwrap();
    assert_eq!((listed.len(), listed[0].id), (1, created.key.id));
    assert_eq!(listed[0].prefix, rotated.key.prefix);

    // Another sub-user cannot revoke it; the admin can.
    let (bob, _) = w.sub_user("bob").await;
    assert!(matches!(keys.revoke(&bob, rotated.key.id).await, Err(ApiKeyError::NotFound)));
    keys.revoke(&w.admin, rotated.key.id).await.unwrap();
    assert!(auth.authenticate_api_key(&rotated.secret).await.is_err());
    assert!(keys.list(&sam).await.unwrap().is_empty());
}

#[tokio::test]
async fn rule_18_sessions_are_listed_and_revoked_one_by_one_or_all_others() {
    let w = World::new().await;
    let (_, second) = login(w.accounts(), ADMIN_EMAIL, PASSWORD).await;
    let (_, third) = login(w.accounts(), ADMIN_EMAIL, PASSWORD).await;
    let auth = w.accounts().auth();
    let list = auth.sessions(&w.admin).await.unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list.iter().filter(|s| s.current).count(), 1);
    assert!(list.iter().all(|s| s.client.as_ref().is_some_and(|c| c.as_str() == "tests")));
    let second_id = auth.authenticate(&second).await.unwrap().session.id;
    auth.revoke_session(&w.admin, second_id).await.unwrap();
    assert!(auth.authenticate(&second).await.is_err());
    assert_eq!(auth.revoke_other_sessions(&w.admin).await.unwrap(), 1);
    assert!(auth.authenticate(&third).await.is_err());
    assert_eq!(auth.sessions(&w.admin).await.unwrap().len(), 1);
}

#[tokio::test]
async fn rule_18_sessions_expire_when_idle_and_at_their_absolute_end() {
    let w = World::new().await;
    let auth = w.accounts().auth();
    w.mem.clock.advance(Duration::minutes(29));
    assert!(auth.authenticate(&w.admin_token).await.is_ok());
    w.mem.clock.advance(Duration::minutes(29));
    assert!(auth.authenticate(&w.admin_token).await.is_ok(), "activity kept it alive");
    w.mem.clock.advance(Duration::minutes(31));
    assert!(matches!(auth.authenticate(&w.admin_token).await, Err(AuthError::Expired)));
    let (_, token) = login(w.accounts(), ADMIN_EMAIL, PASSWORD).await;
    for _ in 0..25 {
        w.mem.clock.advance(Duration::minutes(29));
        let _ = auth.authenticate(&token).await;
    }
    assert!(
        matches!(auth.authenticate(&token).await, Err(AuthError::Expired)),
        "12 h absolute end"
    );
}

#[tokio::test]
async fn rule_18_housekeeping_forgets_sessions_past_their_absolute_end() {
    let w = World::new().await;
    assert_eq!(w.accounts().housekeeping().purge_expired().await.unwrap().sessions, 0);
    w.mem.clock.advance(Duration::hours(12));
    let purged = w.accounts().housekeeping().purge_expired().await.unwrap();
    assert_eq!(purged.sessions, 1);
    assert!(w.accounts().auth().authenticate(&w.admin_token).await.is_err());
}

#[tokio::test]
async fn rule_17_an_api_key_only_records_consumption_and_reads_usage() {
    use account_core::domain::credits::CreditKind;
    use account_core::ports::{LedgerFilter, Page};
    use account_core::services::profile::AccessError;
    let w = World::new().await;
    let key = w.accounts().api_keys().create(&w.admin, None).await.unwrap();
    let admin_key = w.accounts().auth().authenticate_api_key(&key.secret).await.unwrap();
    let page = Page { after: None, limit: 10 };
    let needs_session =
        |r: Result<(), AccessError>| matches!(r, Err(AccessError::Denied(Denied::NeedsSession)));
    assert!(needs_session(w.accounts().profile().me(&admin_key).await.map(drop)));
    assert!(needs_session(w.accounts().team().summary(&admin_key).await.map(drop)));
    assert!(needs_session(w.accounts().team().members(&admin_key, None, page).await.map(drop)));
    assert!(needs_session(w.accounts().credits().overview(&admin_key).await.map(drop)));
    assert!(needs_session(
        w.accounts()
            .credits()
            .ledger(&admin_key, LedgerFilter::default(), Page { after: None, limit: 10 })
            .await
            .map(drop)
    ));
    assert!(needs_session(
        w.accounts().audit().list(&admin_key, Page { after: None, limit: 10 }).await.map(drop)
    ));
    assert!(needs_session(w.accounts().organisation().get(&admin_key).await.map(drop)));
    assert!(w.accounts().contacts().list(&admin_key).await.is_err());
    assert!(w.accounts().email_change().status(&admin_key).await.is_err());
    // What integrations do still works.
    w.grant(CreditKind::Export, 5).await;
    let input = crate::credits::consume(CreditKind::Export, 1, "k1");
    w.accounts().credits().consume(&admin_key, &input, None).await.unwrap();
    assert!(w.accounts().credits().my_credits(&admin_key).await.is_ok());
}
