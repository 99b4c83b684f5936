//! Rule 24: abuse budgets. Guesses and triggered mails are counted before they are checked or
//! sent, per the keys that bound an attacker (address, client, member, recipient), and a
//! refused attempt tells nothing and changes nothing.

use std::net::{IpAddr, Ipv4Addr};

use account_core::domain::limits::rates;
use account_core::domain::mail::MailKind;
use account_core::domain::verification::CodeError;
use account_core::services::auth::{AcceptInvitationError, LoginError};
use account_core::services::contacts::ContactError;
use account_core::services::email_change::EmailChangeError;
use account_core::services::profile::{
    ChangePasswordError, DeleteAccountError, DeleteConfirmation,
};
use account_core::services::team::ChangeMemberError;
use chrono::Duration;

use crate::support::{ADMIN_EMAIL, PASSWORD, World};

fn ip(last: u8) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, last)))
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

#[tokio::test]
async fn rule_24_a_client_gets_its_pair_budget_and_a_right_password_gives_its_attempt_back() {
    let w = World::new().await;
    let auth = w.accounts().auth();
    let before = w.mem.hasher.verifications();
    for _ in 0..rates::LOGIN_PAIR.burst - 1 {
        let r = auth.login(ADMIN_EMAIL, "not the password", None, ip(1)).await;
        assert!(matches!(r, Err(LoginError::InvalidCredentials)), "{r:?}");
    }
    // The right password logs in and gives its attempt back: the owner is not one failure
    // from a lock-out after logging in.
    auth.login(ADMIN_EMAIL, PASSWORD, None, ip(1)).await.unwrap();
    let r = auth.login(ADMIN_EMAIL, "not the password", None, ip(1)).await;
    assert!(matches!(r, Err(LoginError::InvalidCredentials)), "{r:?}");
    let r = auth.login(ADMIN_EMAIL, PASSWORD, None, ip(1)).await;
    let Err(LoginError::Throttled(e)) = r else { panic!("{r:?}") };
    assert!(e.retry_after_secs() <= rates::LOGIN_PAIR.interval().num_seconds() as u64);
    // Refused without a hash: the budget's attempts were checked, no more.
    let checked = w.mem.hasher.verifications() - before;
    assert_eq!(checked, u64::from(rates::LOGIN_PAIR.burst) + 1, "burst + the one given back");
    w.mem.clock.advance(rates::LOGIN_PAIR.interval());
    auth.login(ADMIN_EMAIL, PASSWORD, None, ip(1)).await.unwrap();
}

#[tokio::test]
async fn rule_24_an_attacker_cannot_lock_the_owner_out() {
    let w = World::new().await;
    let auth = w.accounts().auth();
    // The owner's browser logs in once: it is known for the address from now on.
    auth.login(ADMIN_EMAIL, PASSWORD, None, ip(1)).await.unwrap();
    // Many clients spend the address's budget for unknown clients…
    let mut refused = 0;
    for i in 0..rates::LOGIN_ADDRESS.burst + 10 {
        let from = Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, u8::try_from(i).unwrap())));
        match auth.login(ADMIN_EMAIL, "guess", None, from).await {
            Err(LoginError::InvalidCredentials) => {}
            Err(LoginError::Throttled(_)) => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        refused,
        10,
        "the address's budget for unknown clients is {}",
        rates::LOGIN_ADDRESS.burst
    );
    // …a new client is refused, even with the right password…
    let r = auth.login(ADMIN_EMAIL, PASSWORD, None, ip(2)).await;
    assert!(matches!(r, Err(LoginError::Throttled(_))), "{r:?}");
    // …but the owner's known client still logs in.
    auth.login(ADMIN_EMAIL, PASSWORD, None, ip(1)).await.unwrap();
}

#[tokio::test]
async fn rule_24_one_client_is_held_whatever_the_addresses() {
    let w = World::new().await;
    let auth = w.accounts().auth();
    for i in 0..rates::LOGIN_CLIENT.burst {
        let r = auth.login(&format!("user{i}@elsewhere.test"), "guess", None, ip(9)).await;
        assert!(matches!(r, Err(LoginError::InvalidCredentials)), "{r:?}");
    }
    let r = auth.login("another@elsewhere.test", "guess", None, ip(9)).await;
    assert!(matches!(r, Err(LoginError::Throttled(_))), "{r:?}");
}

#[tokio::test]
async fn rule_24_a_session_is_no_password_oracle() {
    let w = World::new().await;
    let profile = w.accounts().profile();
    let before = w.mem.hasher.verifications();
    for _ in 0..rates::PASSWORD_CHECK.burst - 1 {
        let r = profile.change_password(&w.admin, "a wrong one", "a new password here 42").await;
        assert!(matches!(r, Err(ChangePasswordError::WrongPassword)), "{r:?}");
    }
    // Deleting the account checks the same password and spends the same budget.
    let confirm = DeleteConfirmation::Password("a wrong one".to_owned());
    let r = profile.delete_account(&w.admin, &confirm).await;
    assert!(matches!(r, Err(DeleteAccountError::ConfirmationFailed)), "{r:?}");
    let r = profile.change_password(&w.admin, PASSWORD, "a new password here 42").await;
    assert!(matches!(r, Err(ChangePasswordError::Throttled(_))), "{r:?}");
    let confirm = DeleteConfirmation::Password(PASSWORD.to_owned());
    let r = profile.delete_account(&w.admin, &confirm).await;
    assert!(matches!(r, Err(DeleteAccountError::Throttled(_))), "{r:?}");
    assert_eq!(w.mem.hasher.verifications() - before, u64::from(rates::PASSWORD_CHECK.burst));
    w.mem.clock.advance(rates::PASSWORD_CHECK.interval());
    profile.change_password(&w.admin, PASSWORD, "a new password here 42").await.unwrap();
}

#[tokio::test]
async fn rule_24_restarting_an_email_change_gives_no_new_guesses() {
    let w = World::new().await;
    let flows = w.accounts().email_change();
    let mut guesses = 0;
    let throttled = 'restarts: loop {
        flows.start(&w.admin).await.unwrap();
        let code = w.code(MailKind::EmailChangeCurrentCode, ADMIN_EMAIL).await;
        for _ in 0..5 {
            match flows.confirm_current(&w.admin, wrong(&code)).await {
                Err(EmailChangeError::Code(CodeError::Wrong { .. } | CodeError::TooManyTries)) => {
                    guesses += 1;
                }
                Err(EmailChangeError::Throttled(e)) => break 'restarts e,
                other => panic!("{other:?}"),
            }
        }
        flows.cancel(&w.admin).await.unwrap();
        assert!(guesses <= 20, "restarting must not refill the member's code budget");
    };
    assert_eq!(guesses, rates::CODE_TRIES_MEMBER.burst);
    assert!(throttled.wait > Duration::zero());
}

#[tokio::test]
async fn rule_24_removing_and_adding_a_contact_gives_no_new_guesses() {
    let w = World::new().await;
    let contacts = w.accounts().contacts();
    let mut guesses = 0;
    for _ in 0..3 {
        let added = contacts.add(&w.admin, "dpo@acme.test").await.unwrap();
        let code = w.code(MailKind::ContactVerification, "dpo@acme.test").await;
        for _ in 0..5 {
            match contacts.verify(&w.admin, added.id, wrong(&code)).await {
                Err(ContactError::Code(_)) => guesses += 1,
                Err(ContactError::Throttled(_)) => {}
                other => panic!("{other:?}"),
            }
        }
        contacts.remove(&w.admin, added.id).await.unwrap();
    }
    assert_eq!(guesses, rates::CODE_TRIES_CONTACT.burst);
}

#[tokio::test]
async fn rule_24_invitation_resends_are_held_per_recipient() {
    let w = World::new().await;
    let team = w.accounts().team();
    let id = w.add("Nia", "nia@acme.test").await;
    let mut sent = 1;
    let refused = loop {
        match team.resend_invitation(&w.admin, id).await {
            Ok(()) => sent += 1,
            Err(ChangeMemberError::Throttled(e)) => break e,
            Err(other) => panic!("{other:?}"),
        }
        assert!(sent <= 20, "resends must be held");
    };
    assert_eq!(sent, rates::MAILS_TO_ADDRESS.burst);
    assert!(refused.wait > Duration::zero());
    // A refused resend sent nothing and kept the last invitation working.
    w.accept("nia@acme.test").await;
}

#[tokio::test]
async fn rule_24_invitation_tokens_are_held_per_client() {
    let w = World::new().await;
    let auth = w.accounts().auth();
    let mut tried = 0;
    let refused = loop {
        let token = format!("aci_{:032x}{:064x}", tried, tried);
        match auth.accept_invitation(&token, PASSWORD, ip(7)).await {
            Err(AcceptInvitationError::Throttled(e)) => break e,
            Err(_) => tried += 1,
            Ok(_) => panic!("a made-up token was accepted"),
        }
        assert!(tried <= 100, "token guesses must be held");
    };
    assert_eq!(tried, rates::TOKEN_TRIES_CLIENT.burst);
    assert!(refused.wait > Duration::zero());
}
