//! Log-in (same answer for unknown accounts, throttling), sessions (list, revoke one, revoke
//! the others, expiry), log-out, password change, invitations.

use account_core::domain::limits::rates;
use chrono::Duration;
use serde_json::json;

use crate::support::{Auth, PASSWORD, app, app_with, invitation_token};

#[tokio::test]
async fn login_answers_the_same_for_unknown_accounts_and_wrong_passwords() {
    let app = app();
    app.org("Acme", "ada@acme.test", 5).await;
    let wrong = app
        .post(
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": "ada@acme.test", "password": "wrong password!"}),
        )
        .await;
    wrong.expect_problem(401, "invalid-credentials");
    let unknown = app
        .post(
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": "nobody@acme.test", "password": "wrong password!"}),
        )
        .await;
    unknown.expect_problem(401, "invalid-credentials");
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
    let ok = app
        .post(
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": "ada@acme.test", "password": PASSWORD}),
        )
        .await;
    ok.expect(200);
    assert!(ok.str("/token").starts_with("acs_"));
    assert_eq!(ok.body["session"]["current"], true);
}

#[tokio::test]
async fn failed_logins_are_throttled_per_email_then_freed() {
    let app = app_with(account_http::HttpConfig {
        operator_token: Some(
            account_http::OperatorToken::new(crate::support::OPERATOR_TOKEN).unwrap(),
        ),
        ..Default::default()
    });
    app.org("Acme", "ada@acme.test", 5).await;
    let pair = rates::LOGIN_PAIR;
    for _ in 0..pair.burst {
        app.post(
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": "ADA@acme.test", "password": "nope nope nope"}),
        )
        .await
        .expect_problem(401, "invalid-credentials");
    }
    // Even the right password is refused now, without being checked, until one attempt's
    // share of the budget has refilled.
    let blocked = app
        .post(
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": "ada@acme.test", "password": PASSWORD}),
        )
        .await;
    blocked.expect_problem(429, "too-many-requests");
    let wait: i64 = blocked.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= pair.interval().num_seconds(), "{wait}");
    // Another address is not affected.
    app.post(
        "/api/v1/auth/login",
        &Auth::None,
        json!({"email": "eve@acme.test", "password": "nope nope nope"}),
    )
    .await
    .expect_problem(401, "invalid-credentials");
    app.clock.advance(Duration::seconds(wait));
    app.login("ada@acme.test", PASSWORD).await;
}

#[tokio::test]
async fn sessions_list_revoke_one_revoke_others_logout_and_expiry() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let laptop = org.admin.token.clone();
    let phone = app.login("ada@acme.test", PASSWORD).await;
    let tablet = app.login("ada@acme.test", PASSWORD).await;

    let list = app.get("/api/v1/auth/sessions", &Auth::bearer(&laptop)).await;
    list.expect(200);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    let phone_id = app.get("/api/v1/auth/sessions", &Auth::bearer(&phone)).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Paged one at a time.
    let page = app.get("/api/v1/auth/sessions?limit=2", &Auth::bearer(&laptop)).await;
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    let next = page.str("/next_cursor");
    let rest = app
        .get(&format!("/api/v1/auth/sessions?limit=2&cursor={next}"), &Auth::bearer(&laptop))
        .await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert!(rest.body.get("next_cursor").is_none());
    app.get("/api/v1/auth/sessions?cursor=zz", &Auth::bearer(&laptop))
        .await
        .expect_problem(400, "malformed-request");
    app.get("/api/v1/auth/sessions?limit=0", &Auth::bearer(&laptop))
        .await
        .expect_problem(400, "malformed-request");

    app.delete(&format!("/api/v1/auth/sessions/{phone_id}"), &Auth::bearer(&laptop))
        .await
        .expect(204);
    app.get("/api/v1/me", &Auth::bearer(&phone)).await.expect_problem(401, "unauthenticated");
    app.delete(&format!("/api/v1/auth/sessions/{phone_id}"), &Auth::bearer(&laptop))
        .await
        .expect_problem(404, "not-found");
    app.delete("/api/v1/auth/sessions/not-a-uuid", &Auth::bearer(&laptop))
        .await
        .expect_problem(400, "malformed-request");

    let others =
        app.post_empty("/api/v1/auth/sessions/revoke-others", &Auth::bearer(&laptop)).await;
    others.expect(200);
    assert_eq!(others.int("/ended"), 1);
    app.get("/api/v1/me", &Auth::bearer(&tablet)).await.expect_problem(401, "unauthenticated");

    app.post_empty("/api/v1/auth/logout", &Auth::bearer(&laptop)).await.expect(204);
    let after = app.get("/api/v1/me", &Auth::bearer(&laptop)).await;
    after.expect_problem(401, "unauthenticated");
    assert!(after.header("www-authenticate").unwrap().starts_with("Bearer"));

    // Idle sessions expire.
    let fresh = app.login("ada@acme.test", PASSWORD).await;
    app.clock.advance(Duration::minutes(31));
    app.get("/api/v1/me", &Auth::bearer(&fresh)).await.expect_problem(401, "session-expired");
}

#[tokio::test]
async fn password_change_needs_the_current_one_and_ends_other_sessions() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let me = Auth::bearer(&org.admin.token);
    let other = app.login("ada@acme.test", PASSWORD).await;

    let wrong = app.put(
        "/api/v1/me/password",
        &me,
        json!({"current_password": "wrong wrong wrong", "new_password": "a brand new passphrase"}),
    )
    .await;
    wrong.expect_problem(422, "wrong-password");
    assert_eq!(wrong.invalid_fields(), ["current_password"]);
    let weak = app
        .put(
            "/api/v1/me/password",
            &me,
            json!({"current_password": PASSWORD, "new_password": "short"}),
        )
        .await;
    weak.expect_problem(422, "validation-failed");
    assert_eq!(weak.invalid_fields(), ["new_password"]);

    let mark = app.mark().await;
    app.put(
        "/api/v1/me/password",
        &me,
        json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
    )
    .await
    .expect(204);
    assert!(
        app.mail_to("ada@acme.test", &mark).await.subject.starts_with("Your password was changed")
    );
    app.get("/api/v1/me", &Auth::bearer(&other)).await.expect_problem(401, "unauthenticated");
    app.get("/api/v1/me", &me).await.expect(200);
    app.login("ada@acme.test", "a brand new passphrase").await;
}

#[tokio::test]
async fn invitations_are_accepted_once_and_expire() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);
    let mark = app.mark().await;
    app.post(
        "/api/v1/team/members",
        &admin,
        json!({"first_name": "Tina", "email": "tina@acme.test"}),
    )
    .await
    .expect(201);
    let token = invitation_token(&app.mail_to("tina@acme.test", &mark).await);

    // Not logged in yet: no password.
    app.post(
        "/api/v1/auth/login",
        &Auth::None,
        json!({"email": "tina@acme.test", "password": PASSWORD}),
    )
    .await
    .expect_problem(401, "invalid-credentials");
    let bad_token = app
        .post(
            "/api/v1/auth/invitation",
            &Auth::None,
            json!({"token": "aci_nonsense", "password": PASSWORD}),
        )
        .await;
    bad_token.expect_problem(422, "invitation-invalid");
    assert_eq!(bad_token.invalid_fields(), ["token"]);
    let weak = app
        .post("/api/v1/auth/invitation", &Auth::None, json!({"token": token, "password": "short"}))
        .await;
    weak.expect_problem(422, "validation-failed");
    assert_eq!(weak.invalid_fields(), ["password"]);
    let accepted = app
        .post("/api/v1/auth/invitation", &Auth::None, json!({"token": token, "password": PASSWORD}))
        .await;
    accepted.expect(200);
    app.post("/api/v1/auth/invitation", &Auth::None, json!({"token": token, "password": PASSWORD}))
        .await
        .expect_problem(422, "invitation-invalid");
    app.login("tina@acme.test", PASSWORD).await;

    // An invitation older than its lifetime.
    let mark = app.mark().await;
    app.post(
        "/api/v1/team/members",
        &admin,
        json!({"first_name": "Ulla", "email": "ulla@acme.test"}),
    )
    .await
    .expect(201);
    let token = invitation_token(&app.mail_to("ulla@acme.test", &mark).await);
    app.clock.advance(Duration::days(8));
    app.post("/api/v1/auth/invitation", &Auth::None, json!({"token": token, "password": PASSWORD}))
        .await
        .expect_problem(422, "invitation-expired");
}
