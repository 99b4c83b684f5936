//! Rule 22 (password reset) and its budgets (rule 24): the same answer after the same work for
//! every address, a single-use token valid 30 minutes, rule 8's policy, sessions ended and API
//! keys kept, a notice, nothing for disabled or erased members, admin and support sends.

use std::net::{IpAddr, Ipv4Addr};

use account_core::Denied;
use account_core::domain::limits::rates;
use account_core::domain::mail::MailKind;
use account_core::domain::member::PASSWORD_RESET_TTL;
use account_core::services::auth::{AuthError, LoginError};
use account_core::services::password_reset::{
    CompleteResetError, RequestResetError, SendResetError,
};
use account_core::services::profile::DeleteConfirmation;
use account_memory::token_in;
use chrono::Duration;

use crate::support::{ADMIN_EMAIL, PASSWORD, World, login, op};

const SAM: &str = "sam@acme.test";
const NEW_PASSWORD: &str = "a brand new passphrase";

fn ip(last: u8) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, last)))
}

async fn reset_mails(w: &World, to: &str) -> usize {
    w.mem
        .mails()
        .await
        .into_iter()
        .filter(|(k, m)| *k == MailKind::PasswordReset && m.to.as_str().eq_ignore_ascii_case(to))
        .count()
}

async fn token(w: &World, to: &str) -> String {
    let mail = w.mem.last_mail(MailKind::PasswordReset, to).await.expect("reset mail");
    token_in(&mail, "acr_").expect("token in the mail")
}

#[tokio::test]
async fn rule_22_a_reset_answers_alike_after_equal_work_for_unknown_addresses() {
    let w = World::new().await;
    w.sub_user("sam").await;
    let resets = w.accounts().password_reset();
    let before = w.mem.keyring.work();
    let known = resets.request(SAM, ip(1)).await;
    let known_work = w.mem.keyring.work() - before;
    let before = w.mem.keyring.work();
    let unknown = resets.request("nobody@acme.test", ip(1)).await;
    let unknown_work = w.mem.keyring.work() - before;
    assert!(known.is_ok() && unknown.is_ok(), "{known:?} {unknown:?}");
    // The same keyed work (budget key, token digest, sealed mail) whether or not it exists.
    assert_eq!(known_work, unknown_work);
    assert!(known_work >= 3, "{known_work}");
    assert_eq!(reset_mails(&w, SAM).await, 1);
    assert_eq!(reset_mails(&w, "nobody@acme.test").await, 0);
    let mail = w.mem.last_mail(MailKind::PasswordReset, SAM).await.unwrap();
    let token = token_in(&mail, "acr_").unwrap();
    assert!(mail.body.contains(&format!("/reset-password?token={token}")), "{}", mail.body);
    // A malformed address is refused as such, which tells nothing about accounts.
    let r = resets.request("not an address", ip(1)).await;
    let Err(RequestResetError::Validation(e)) = r else { panic!("{r:?}") };
    assert_eq!(e.fields()[0].field, "email");
}

#[tokio::test]
async fn rule_22_the_token_works_once_and_the_password_follows_rule_8() {
    let w = World::new().await;
    w.sub_user("sam").await;
    let resets = w.accounts().password_reset();
    resets.request(SAM, None).await.unwrap();
    let token = token(&w, SAM).await;
    for weak in ["short", "qwertyuiop123", "sam@acme.test-rocks"] {
        let r = resets.complete(&token, weak, None).await;
        let Err(CompleteResetError::Validation(e)) = r else { panic!("{weak}: {r:?}") };
        assert_eq!(e.fields()[0].field, "password");
    }
    let done = resets.complete(&token, NEW_PASSWORD, None).await.unwrap();
    let again = resets.complete(&token, "yet another passphrase", None).await;
    assert!(matches!(again, Err(CompleteResetError::InvalidToken)), "{again:?}");
    let auth = w.accounts().auth();
    assert!(matches!(
        auth.login(SAM, PASSWORD, None, None).await,
        Err(LoginError::InvalidCredentials)
    ));
    assert_eq!(
        auth.login(SAM, NEW_PASSWORD, None, None).await.unwrap().session.member_id,
        done.member
    );
    // Not a token of this kind, or bent: refused alike.
    let invitation_like = token.replacen("acr_", "aci_", 1);
    for bad in ["", "acr_", invitation_like.as_str()] {
        let r = resets.complete(bad, NEW_PASSWORD, None).await;
        assert!(matches!(r, Err(CompleteResetError::InvalidToken)), "{bad}: {r:?}");
    }
}

#[tokio::test]
async fn rule_22_the_token_expires_after_30_minutes_and_a_new_one_replaces_it() {
    let w = World::new().await;
    w.sub_user("sam").await;
    let resets = w.accounts().password_reset();
    resets.request(SAM, None).await.unwrap();
    let old = token(&w, SAM).await;
    w.mem.clock.advance(PASSWORD_RESET_TTL - Duration::seconds(1));
    resets.request(SAM, None).await.unwrap();
    let new = token(&w, SAM).await;
    assert_ne!(old, new);
    // The newer request replaced the older token.
    let r = resets.complete(&old, NEW_PASSWORD, None).await;
    assert!(matches!(r, Err(CompleteResetError::InvalidToken)), "{r:?}");
    w.mem.clock.advance(PASSWORD_RESET_TTL);
    let r = resets.complete(&new, NEW_PASSWORD, None).await;
    assert!(matches!(r, Err(CompleteResetError::Expired)), "{r:?}");
    resets.request(SAM, None).await.unwrap();
    w.mem.clock.advance(PASSWORD_RESET_TTL - Duration::seconds(1));
    resets.complete(&token(&w, SAM).await, NEW_PASSWORD, None).await.unwrap();
}

#[tokio::test]
async fn rule_22_every_session_ends_api_keys_stay_and_a_notice_says_so() {
    let w = World::new().await;
    let (sam, sam_token) = w.sub_user("sam").await;
    let (_, other_token) = login(w.accounts(), SAM, PASSWORD).await;
    let key = w.accounts().api_keys().create(&sam, None).await.unwrap().secret;
    let resets = w.accounts().password_reset();
    resets.request(SAM, None).await.unwrap();
    let done = resets.complete(&token(&w, SAM).await, NEW_PASSWORD, None).await.unwrap();
    assert_eq!(done.sessions_ended, 2);
    let auth = w.accounts().auth();
    for t in [&sam_token, &other_token] {
        assert!(matches!(auth.authenticate(t).await, Err(AuthError::InvalidToken)));
    }
    assert!(auth.authenticate_api_key(&key).await.is_ok(), "API keys stay");
    assert!(auth.authenticate(&w.admin_token).await.is_ok(), "nobody else's sessions end");
    let notice = w.mem.last_mail(MailKind::PasswordWasReset, SAM).await.expect("a notice");
    assert!(notice.body.contains("API keys still work"), "{}", notice.body);
    assert!(!notice.body.contains("acr_"), "the notice holds no token");
}

#[tokio::test]
async fn rule_22_disabled_and_erased_members_get_nothing() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let (tina, _) = w.sub_user("tina").await;
    let resets = w.accounts().password_reset();
    // A token mailed before the member is disabled stops working, and re-enabling does not
    // revive it.
    resets.request(SAM, None).await.unwrap();
    let token = token(&w, SAM).await;
    w.accounts().team().disable(&w.admin, sam.member()).await.unwrap();
    resets.request(SAM, None).await.unwrap();
    assert_eq!(reset_mails(&w, SAM).await, 1, "no mail while disabled");
    let r = resets.complete(&token, NEW_PASSWORD, None).await;
    assert!(matches!(r, Err(CompleteResetError::InvalidToken)), "{r:?}");
    w.accounts().team().enable(&w.admin, sam.member()).await.unwrap();
    let r = resets.complete(&token, NEW_PASSWORD, None).await;
    assert!(matches!(r, Err(CompleteResetError::InvalidToken)), "{r:?}");
    // Erased: no mail, and a token from before is dead.
    resets.request("tina@acme.test", None).await.unwrap();
    let tinas = self::token(&w, "tina@acme.test").await;
    w.accounts()
        .profile()
        .delete_account(&tina, &DeleteConfirmation::Password(PASSWORD.into()))
        .await
        .unwrap();
    resets.request("tina@acme.test", None).await.unwrap();
    assert_eq!(reset_mails(&w, "tina@acme.test").await, 1);
    let r = resets.complete(&tinas, NEW_PASSWORD, None).await;
    assert!(matches!(r, Err(CompleteResetError::InvalidToken)), "{r:?}");
    // Support cannot send one either.
    let r = w.accounts().operator().send_password_reset(&op(), tina.member()).await;
    assert!(matches!(r, Err(SendResetError::MemberNotFound)), "{r:?}");
}

#[tokio::test]
async fn rule_22_admins_send_resets_to_sub_users_and_support_to_any_member() {
    let w = World::new().await;
    let (sam, _) = w.sub_user("sam").await;
    let resets = w.accounts().password_reset();
    resets.send_by_admin(&w.admin, sam.member()).await.unwrap();
    resets.complete(&token(&w, SAM).await, NEW_PASSWORD, None).await.unwrap();
    let r = resets.send_by_admin(&w.admin, w.admin.member()).await;
    assert!(matches!(r, Err(SendResetError::TargetIsAdmin)), "{r:?}");
    let r = resets.send_by_admin(&sam, w.admin.member()).await;
    assert!(matches!(r, Err(SendResetError::Denied(Denied::NotAdmin))), "{r:?}");
    // A member still invited has no password to reset: the invitation is resent instead.
    let ivy = w.add("ivy", "ivy@acme.test").await;
    let r = resets.send_by_admin(&w.admin, ivy).await;
    assert!(matches!(r, Err(SendResetError::NotResettable)), "{r:?}");
    // Support, for anyone who may reset, admins included; never seeing the password.
    w.accounts().operator().send_password_reset(&op(), w.admin.member()).await.unwrap();
    assert_eq!(reset_mails(&w, ADMIN_EMAIL).await, 1);
    let r = w.accounts().operator().send_password_reset(&op(), ivy).await;
    assert!(matches!(r, Err(SendResetError::NotResettable)), "{r:?}");
    let entries = w.mem.store.audit_entries().await;
    let sent = entries.iter().filter(|e| e.action.as_str() == "member.password_reset_sent");
    assert_eq!(sent.count(), 2);
    assert!(entries.iter().any(|e| e.action.as_str() == "member.password_reset"));
}

#[tokio::test]
async fn rule_24_password_resets_are_held_per_address_and_per_client() {
    let w = World::new().await;
    let resets = w.accounts().password_reset();
    // Per address, from many clients: the budget keys the address, known or not.
    for address in [ADMIN_EMAIL, "nobody@acme.test"] {
        for n in 0..rates::MAILS_TO_ADDRESS.burst {
            resets.request(address, ip(u8::try_from(n).unwrap())).await.unwrap();
        }
        let r = resets.request(address, ip(200)).await;
        assert!(matches!(r, Err(RequestResetError::Throttled(_))), "{address}: {r:?}");
    }
    assert_eq!(reset_mails(&w, ADMIN_EMAIL).await, rates::MAILS_TO_ADDRESS.burst as usize);
    // Per client, whatever the addresses.
    for n in 0..rates::MAILS_BY_CLIENT.burst {
        resets.request(&format!("x{n}@acme.test"), ip(250)).await.unwrap();
    }
    for address in ["fresh@acme.test", "other@acme.test"] {
        let r = resets.request(address, ip(250)).await;
        let Err(RequestResetError::Throttled(e)) = r else { panic!("{r:?}") };
        assert!(e.retry_after_secs() > 0);
    }
    w.mem.clock.advance(rates::MAILS_BY_CLIENT.interval());
    resets.request("fresh@acme.test", ip(250)).await.unwrap();
}

#[tokio::test]
async fn rule_24_reset_tokens_are_held_per_client() {
    let w = World::new().await;
    w.sub_user("sam").await;
    let resets = w.accounts().password_reset();
    resets.request(SAM, None).await.unwrap();
    let token = token(&w, SAM).await;
    let wrong =
        format!("{}{}", &token[..token.len() - 1], if token.ends_with('0') { '1' } else { '0' });
    for _ in 0..rates::TOKEN_TRIES_CLIENT.burst {
        let r = resets.complete(&wrong, NEW_PASSWORD, ip(9)).await;
        assert!(matches!(r, Err(CompleteResetError::InvalidToken)), "{r:?}");
    }
    // Even the right token is not checked past the budget; another client is not held.
    let r = resets.complete(&token, NEW_PASSWORD, ip(9)).await;
    assert!(matches!(r, Err(CompleteResetError::Throttled(_))), "{r:?}");
    resets.complete(&token, NEW_PASSWORD, ip(10)).await.unwrap();
}
