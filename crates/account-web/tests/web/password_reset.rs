//! Forgot password and reset password (rule 22): the log-in page links to the form, the form
//! answers alike for every address, the mail's link lands on the reset form, which needs its
//! CSRF token and shows errors beside the fields; admins send a reset from the team page.

use account_core::domain::mail::MailKind;

use crate::support::{ADMIN, App, PASSWORD, SUB};

const NEW_PASSWORD: &str = "a brand new passphrase";

#[tokio::test]
async fn forgot_password_answers_alike_and_the_mails_link_resets_the_password_once() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    let login = b.get("/login").await;
    assert!(login.html.contains("href=\"/forgot-password\""), "the log-in page links to it");
    let form = b.get("/forgot-password").await;
    assert_eq!(form.status, 200);
    let known = b.post("/forgot-password", Some(&form.csrf()), &[("email", SUB)]).await;
    let unknown =
        b.post("/forgot-password", Some(&form.csrf()), &[("email", "nobody@acme.test")]).await;
    assert_eq!((known.status, unknown.status), (200, 200));
    let strip = |html: &str, email: &str| html.replace(email, "ADDRESS");
    assert_eq!(strip(&known.html, SUB), strip(&unknown.html, "nobody@acme.test"));
    assert!(known.html.contains("id=\"reset-sent\""));
    let mail = app.mem.last_mail(MailKind::PasswordReset, SUB).await.unwrap();
    assert!(
        mail.body.contains("http://127.0.0.1:8080/reset-password?token=acr_"),
        "the link lands on the console: {}",
        mail.body
    );
    assert!(app.mem.last_mail(MailKind::PasswordReset, "nobody@acme.test").await.is_none());
    let token = account_memory::token_in(&mail, "acr_").unwrap();

    let mut sam = app.browser();
    let page = sam.get(&format!("/reset-password?token={token}")).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains(&format!("value=\"{token}\"")), "the token rides in the form");
    let fields =
        [("token", token.as_str()), ("password", NEW_PASSWORD), ("password_repeat", NEW_PASSWORD)];
    // Without its CSRF token the form is refused and nothing changes.
    let forged = sam.post("/reset-password", None, &fields).await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    // Errors show inline, beside the field.
    let short = sam
        .post(
            "/reset-password",
            Some(&page.csrf()),
            &[("token", &token), ("password", "short"), ("password_repeat", "short")],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(short.html.contains("id=\"password-error\""), "{}", short.html);
    let differ = sam
        .post(
            "/reset-password",
            Some(&page.csrf()),
            &[("token", &token), ("password", NEW_PASSWORD), ("password_repeat", "something else")],
        )
        .await;
    assert!(differ.html.contains("id=\"password_repeat-error\""), "{}", differ.html);
    let done = sam.post("/reset-password", Some(&page.csrf()), &fields).await;
    assert_eq!(done.location.as_deref(), Some("/login?notice=password-reset"));
    assert!(app.mem.last_mail(MailKind::PasswordWasReset, SUB).await.is_some());
    assert_eq!(sam.log_in(SUB, NEW_PASSWORD).await.location.as_deref(), Some("/profile"));
    // Once only.
    let again = sam.post("/reset-password", Some(&page.csrf()), &fields).await;
    assert_eq!(again.status, 422);
    assert!(again.html.contains("The reset link is not valid"), "{}", again.html);
}

#[tokio::test]
async fn a_malformed_address_is_named_beside_its_field_and_a_link_without_token_explains() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    let form = b.get("/forgot-password").await;
    let bad = b.post("/forgot-password", Some(&form.csrf()), &[("email", "not an address")]).await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("id=\"email-error\""), "{}", bad.html);
    let bare = b.get("/reset-password").await;
    assert!(bare.html.contains("no reset token"), "{}", bare.html);
    assert!(!bare.html.contains("name=\"password\""));
}

#[tokio::test]
async fn an_admin_sends_a_sub_user_a_reset_from_the_team_page() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(ADMIN, PASSWORD).await;
    let team = b.get("/team").await;
    let at = team.html.find("/password-reset\"").expect("a reset button for the sub-user");
    let start = team.html[..at].rfind("action=\"").unwrap() + 8;
    let action = format!("{}/password-reset", &team.html[start..at]);
    let sent = b.post(&action, Some(&team.csrf()), &[]).await;
    assert_eq!(sent.location.as_deref(), Some("/team?notice=password-reset-sent"));
    assert!(app.mem.last_mail(MailKind::PasswordReset, SUB).await.is_some());
    assert!(app.mem.last_mail(MailKind::PasswordReset, ADMIN).await.is_none());
}
