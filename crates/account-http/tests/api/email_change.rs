//! Changing the login email: a code to the current address, the new address typed twice, a
//! code to the new address; the switch, the notice to the old address, other sessions ended.

use chrono::Duration;
use serde_json::json;

use crate::support::{Auth, PASSWORD, app};

const FLOW: &str = "/api/v1/me/email-change";

#[tokio::test]
async fn full_flow_with_codes_from_the_outbox() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let me = Auth::bearer(&org.admin.token);
    let other_session = app.login("ada@acme.test", PASSWORD).await;

    app.get(FLOW, &me).await.expect_problem(404, "not-found");
    let mark = app.mark().await;
    let started = app.post_empty(FLOW, &me).await;
    started.expect(201);
    assert_eq!(started.str("/stage"), "awaiting_current_code");
    let code = app.code_to("ada@acme.test", &mark).await;
    assert_eq!(app.get(FLOW, &me).await.str("/stage"), "awaiting_current_code");

    // The new address cannot be given before the current one is confirmed.
    let early = app
        .post(
            &format!("{FLOW}/new-address"),
            &me,
            json!({"new_email": "ada@new.test", "new_email_repeat": "ada@new.test"}),
        )
        .await;
    early.expect_problem(409, "email-change-wrong-step");

    let wrong = app.post(&format!("{FLOW}/current-code"), &me, json!({"code": "000000"})).await;
    wrong.expect_problem(422, "code-wrong");
    assert_eq!(wrong.int("/tries_left"), 4);
    assert_eq!(wrong.invalid_fields(), ["code"]);
    let confirmed = app.post(&format!("{FLOW}/current-code"), &me, json!({"code": code})).await;
    confirmed.expect(200);
    assert_eq!(confirmed.str("/stage"), "awaiting_new_address");

    let typo = app
        .post(
            &format!("{FLOW}/new-address"),
            &me,
            json!({"new_email": "ada@new.test", "new_email_repeat": "ada@nwe.test"}),
        )
        .await;
    typo.expect_problem(422, "validation-failed");
    assert_eq!(typo.invalid_fields(), ["new_email_repeat"]);

    let mark = app.mark().await;
    let submitted = app
        .post(
            &format!("{FLOW}/new-address"),
            &me,
            json!({"new_email": "ada@new.test", "new_email_repeat": "ada@new.test"}),
        )
        .await;
    submitted.expect(200);
    assert_eq!(submitted.str("/stage"), "awaiting_new_code");
    assert_eq!(submitted.str("/new_email"), "ada@new.test");
    let code = app.code_to("ada@new.test", &mark).await;

    let mark = app.mark().await;
    let done = app.post(&format!("{FLOW}/new-code"), &me, json!({"code": code})).await;
    done.expect(200);
    assert_eq!(done.str("/email"), "ada@new.test");
    let notice = app.mail_to("ada@acme.test", &mark).await;
    assert!(notice.subject.starts_with("Your login email was changed"), "{}", notice.subject);

    // Other sessions ended; this one goes on; the new address logs in, the old one does not.
    app.get("/api/v1/me", &Auth::bearer(&other_session))
        .await
        .expect_problem(401, "unauthenticated");
    assert_eq!(app.get("/api/v1/me", &me).await.str("/email"), "ada@new.test");
    app.login("ada@new.test", PASSWORD).await;
    app.post(
        "/api/v1/auth/login",
        &Auth::None,
        json!({"email": "ada@acme.test", "password": PASSWORD}),
    )
    .await
    .expect_problem(401, "invalid-credentials");
    app.get(FLOW, &me).await.expect_problem(404, "not-found");
}

#[tokio::test]
async fn resend_is_throttled_and_replaces_the_code() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let me = Auth::bearer(&org.admin.token);
    let mark = app.mark().await;
    app.post_empty(FLOW, &me).await.expect(201);
    let first = app.code_to("ada@acme.test", &mark).await;

    let soon = app.post_empty(&format!("{FLOW}/resend"), &me).await;
    soon.expect_problem(429, "code-resend-too-soon");
    let wait: u64 = soon.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    assert_eq!(soon.int("/retry_after"), i64::try_from(wait).unwrap());
    // Restarting within the minute is throttled too.
    app.post_empty(FLOW, &me).await.expect_problem(429, "code-resend-too-soon");

    app.clock.advance(Duration::seconds(61));
    let mark = app.mark().await;
    app.post_empty(&format!("{FLOW}/resend"), &me).await.expect(200);
    let second = app.code_to("ada@acme.test", &mark).await;
    if first != second {
        app.post(&format!("{FLOW}/current-code"), &me, json!({"code": first}))
            .await
            .expect_problem(422, "code-wrong");
    }
    app.post(&format!("{FLOW}/current-code"), &me, json!({"code": second})).await.expect(200);
    // Nothing to resend while waiting for the new address.
    app.post_empty(&format!("{FLOW}/resend"), &me)
        .await
        .expect_problem(409, "email-change-wrong-step");
}

#[tokio::test]
async fn wrong_codes_expiry_cancel_and_taken_addresses() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let sub = app.member(&org, "Sam", "sam@acme.test").await;
    let me = Auth::bearer(&org.admin.token);

    // Five wrong codes end the flow.
    app.post_empty(FLOW, &me).await.expect(201);
    for left in (1..=4).rev() {
        let r = app.post(&format!("{FLOW}/current-code"), &me, json!({"code": "999999"})).await;
        r.expect_problem(422, "code-wrong");
        assert_eq!(r.int("/tries_left"), left);
    }
    app.post(&format!("{FLOW}/current-code"), &me, json!({"code": "999999"}))
        .await
        .expect_problem(422, "code-tries-exhausted");
    app.clock.advance(Duration::seconds(61));
    app.post_empty(&format!("{FLOW}/resend"), &me)
        .await
        .expect_problem(422, "code-resend-exhausted");

    // A code older than ten minutes.
    let mark = app.mark().await;
    app.post_empty(FLOW, &me).await.expect(201);
    let code = app.code_to("ada@acme.test", &mark).await;
    app.clock.advance(Duration::minutes(11));
    let me = Auth::bearer(&app.login("ada@acme.test", PASSWORD).await);
    app.post(&format!("{FLOW}/current-code"), &me, json!({"code": code}))
        .await
        .expect_problem(422, "code-expired");

    // Cancel, then no flow.
    app.delete(FLOW, &me).await.expect(204);
    app.post(&format!("{FLOW}/current-code"), &me, json!({"code": code}))
        .await
        .expect_problem(409, "email-change-not-started");

    // Another member's login cannot be taken, and the answer does not tell that it is one:
    // its owner gets a notice without a code.
    let mark = app.mark().await;
    app.post_empty(FLOW, &me).await.expect(201);
    let code = app.code_to("ada@acme.test", &mark).await;
    app.post(&format!("{FLOW}/current-code"), &me, json!({"code": code})).await.expect(200);
    let mark = app.mark().await;
    app.post(
        &format!("{FLOW}/new-address"),
        &me,
        json!({"new_email": sub.email, "new_email_repeat": sub.email}),
    )
    .await
    .expect(200);
    let notice = app.mail_to(&sub.email, &mark).await;
    assert!(!notice.body.contains("Your code: "), "{}", notice.body);
    app.post(
        &format!("{FLOW}/new-address"),
        &me,
        json!({"new_email": "not-an-email", "new_email_repeat": "not-an-email"}),
    )
    .await
    .expect_problem(422, "validation-failed");
}
