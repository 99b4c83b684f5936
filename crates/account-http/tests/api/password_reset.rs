//! Password reset over HTTP (rule 22): the same answer for known and unknown addresses, the
//! link and code working once, sessions ended and API keys kept, admin and support sends,
//! and throttling alike for every address.

use account_core::domain::limits::rates;
use serde_json::json;

use crate::support::{Auth, PASSWORD, app, reset_token};

const NEW_PASSWORD: &str = "a brand new passphrase";
const PERIOD: &str = "from=2026-01-01&to=2026-01-31";

#[tokio::test]
async fn a_reset_answers_alike_for_unknown_addresses_and_its_token_works_once() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let key = app.api_key(&sam).await;
    let mark = app.mark().await;
    let known = app
        .post("/api/v1/auth/password-reset", &Auth::None, json!({"email": "SAM@acme.test"}))
        .await;
    let unknown = app
        .post("/api/v1/auth/password-reset", &Auth::None, json!({"email": "nobody@acme.test"}))
        .await;
    known.expect(202);
    unknown.expect(202);
    assert_eq!(known.text, unknown.text, "the same body");
    assert_eq!(known.header("content-type"), unknown.header("content-type"));
    assert!(app.mails_to("nobody@acme.test", &mark).await.is_empty());
    let mail = app.mail_to("sam@acme.test", &mark).await;
    let token = reset_token(&mail);
    assert!(mail.body.contains(&format!("/reset-password?token={token}")), "{}", mail.body);

    let mark = app.mark().await;
    let done = app
        .post(
            "/api/v1/auth/password-reset/complete",
            &Auth::None,
            json!({"token": token, "password": NEW_PASSWORD}),
        )
        .await;
    done.expect(200);
    assert_eq!(done.str("/member_id"), sam.id);
    assert_eq!(done.int("/sessions_ended"), 1);
    // Once only.
    app.post(
        "/api/v1/auth/password-reset/complete",
        &Auth::None,
        json!({"token": token, "password": "yet another passphrase"}),
    )
    .await
    .expect_problem(422, "password-reset-invalid");
    // The session ended; the API key still works; the notice says so.
    app.get("/api/v1/me", &Auth::bearer(&sam.token)).await.expect(401);
    app.get(&format!("/api/v1/integrations/usage?{PERIOD}"), &Auth::Key(key)).await.expect(200);
    let notice = app.mail_to("sam@acme.test", &mark).await;
    assert!(notice.body.contains("API"), "{}", notice.body);
    app.post(
        "/api/v1/auth/login",
        &Auth::None,
        json!({"email": "sam@acme.test", "password": PASSWORD}),
    )
    .await
    .expect_problem(401, "invalid-credentials");
    app.login("sam@acme.test", NEW_PASSWORD).await;
}

#[tokio::test]
async fn a_weak_new_password_is_refused_by_field_and_the_token_still_works() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    app.member(&org, "Sam", "sam@acme.test").await;
    let mark = app.mark().await;
    app.post("/api/v1/auth/password-reset", &Auth::None, json!({"email": "sam@acme.test"}))
        .await
        .expect(202);
    let token = reset_token(&app.mail_to("sam@acme.test", &mark).await);
    let weak = app
        .post(
            "/api/v1/auth/password-reset/complete",
            &Auth::None,
            json!({"token": token, "password": "short"}),
        )
        .await;
    weak.expect_problem(422, "validation-failed");
    assert_eq!(weak.invalid_fields(), ["password"]);
    app.post(
        "/api/v1/auth/password-reset/complete",
        &Auth::None,
        json!({"token": "acr_not-a-token", "password": NEW_PASSWORD}),
    )
    .await
    .expect_problem(422, "password-reset-invalid");
    app.post(
        "/api/v1/auth/password-reset/complete",
        &Auth::None,
        json!({"token": token, "password": NEW_PASSWORD}),
    )
    .await
    .expect(200);
    // A malformed address is a validation error, which says nothing about accounts.
    app.post("/api/v1/auth/password-reset", &Auth::None, json!({"email": "not an address"}))
        .await
        .expect_problem(422, "validation-failed");
}

#[tokio::test]
async fn reset_requests_are_throttled_alike_for_known_and_unknown_addresses() {
    let app = app();
    app.org("Acme", "ada@acme.test", 5).await;
    for n in 0..rates::MAILS_BY_CLIENT.burst {
        let email = if n % 2 == 0 { "ada@acme.test".to_owned() } else { format!("x{n}@acme.test") };
        app.post("/api/v1/auth/password-reset", &Auth::None, json!({"email": email}))
            .await
            .expect(202);
    }
    for email in ["ada@acme.test", "nobody@acme.test"] {
        let r = app.post("/api/v1/auth/password-reset", &Auth::None, json!({"email": email})).await;
        r.expect_problem(429, "too-many-requests");
        assert!(r.header("retry-after").is_some());
    }
}

#[tokio::test]
async fn admins_send_resets_to_sub_users_and_support_to_anyone() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let admin = Auth::bearer(&org.admin.token);
    let mark = app.mark().await;
    let r =
        app.post_empty(&format!("/api/v1/team/members/{}/password-reset", sam.id), &admin).await;
    r.expect(200);
    assert!(reset_token(&app.mail_to("sam@acme.test", &mark).await).starts_with("acr_"));
    // Not to an admin, not to a sub-user who has no password yet, not by a sub-user.
    app.post_empty(&format!("/api/v1/team/members/{}/password-reset", org.admin.id), &admin)
        .await
        .expect_problem(422, "target-is-admin");
    let invited = app
        .post(
            "/api/v1/team/members",
            &admin,
            json!({"first_name": "Ivy", "email": "ivy@acme.test"}),
        )
        .await;
    invited.expect(201);
    app.post_empty(&format!("/api/v1/team/members/{}/password-reset", invited.str("/id")), &admin)
        .await
        .expect_problem(409, "password-reset-unavailable");
    app.post_empty(
        &format!("/api/v1/team/members/{}/password-reset", sam.id),
        &Auth::bearer(&sam.token),
    )
    .await
    .expect(403);
    // Support, for any member, admins included.
    let mark = app.mark().await;
    app.post_empty(
        &format!("/api/v1/operator/members/{}/password-reset", org.admin.id),
        &Auth::operator(),
    )
    .await
    .expect(200);
    assert!(reset_token(&app.mail_to("ada@acme.test", &mark).await).starts_with("acr_"));
}
