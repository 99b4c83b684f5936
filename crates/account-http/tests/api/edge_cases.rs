//! The rarer documented errors of operations, each at least once: throttled resubmission of a
//! new address, the last step of an email change out of order, exhausted contact codes,
//! invalid report periods, and the operator's refusals.

use chrono::Duration;
use serde_json::json;

use crate::support::{Auth, app};

#[tokio::test]
async fn email_change_last_steps_out_of_order_and_throttled_resubmission() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let me = Auth::bearer(&org.admin.token);
    let flow = "/api/v1/me/email-change";
    app.post(&format!("{flow}/new-code"), &me, json!({"code": "123456"}))
        .await
        .expect_problem(409, "email-change-not-started");
    let mark = app.mark().await;
    app.post_empty(flow, &me).await.expect(201);
    let code = app.code_to("ada@acme.test", &mark).await;
    app.post(&format!("{flow}/new-code"), &me, json!({"code": code}))
        .await
        .expect_problem(409, "email-change-wrong-step");
    app.post(&format!("{flow}/current-code"), &me, json!({"code": code})).await.expect(200);
    let new = json!({"new_email": "ada@new.test", "new_email_repeat": "ada@new.test"});
    app.post(&format!("{flow}/new-address"), &me, new).await.expect(200);
    // A corrected address within the minute is throttled like a resend.
    let corrected = json!({"new_email": "ada@newer.test", "new_email_repeat": "ada@newer.test"});
    let r = app.post(&format!("{flow}/new-address"), &me, corrected.clone()).await;
    r.expect_problem(429, "code-resend-too-soon");
    assert!(r.header("retry-after").is_some());
    app.clock.advance(Duration::seconds(61));
    let mark = app.mark().await;
    app.post(&format!("{flow}/new-address"), &me, corrected).await.expect(200);
    let code = app.code_to("ada@newer.test", &mark).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = app.post(&format!("{flow}/new-code"), &me, json!({"code": wrong})).await;
    r.expect_problem(422, "code-wrong");
    app.post(&format!("{flow}/new-code"), &me, json!({"code": code})).await.expect(200);
}

#[tokio::test]
async fn contact_codes_run_out_after_five_sends() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);
    let id = app
        .post("/api/v1/organisation/contacts", &admin, json!({"email": "x@acme.test"}))
        .await
        .str("/id");
    for _ in 0..4 {
        app.clock.advance(Duration::seconds(61));
        let admin = Auth::bearer(&app.login("ada@acme.test", crate::support::PASSWORD).await);
        app.post_empty(&format!("/api/v1/organisation/contacts/{id}/resend-code"), &admin)
            .await
            .expect(200);
    }
    app.clock.advance(Duration::seconds(61));
    let admin = Auth::bearer(&app.login("ada@acme.test", crate::support::PASSWORD).await);
    app.post_empty(&format!("/api/v1/organisation/contacts/{id}/resend-code"), &admin)
        .await
        .expect_problem(422, "code-resend-exhausted");
}

#[tokio::test]
async fn report_periods_and_amounts_are_validated_everywhere() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let key = Auth::Key(app.api_key(&sam).await);
    let too_long = "from=2020-01-01&to=2026-01-01";
    for (path, auth) in [
        (format!("/api/v1/team/usage?{too_long}"), &admin),
        (format!("/api/v1/team/members/{}/usage?{too_long}", sam.id), &admin),
        (format!("/api/v1/integrations/usage?{too_long}"), &key),
    ] {
        let r = app.get(&path, auth).await;
        r.expect_problem(422, "validation-failed");
        assert_eq!(r.invalid_fields(), ["to"]);
    }
    app.get("/api/v1/team/usage?from=2026-01-01&to=2026-01-02&bucket=year", &admin)
        .await
        .expect_problem(400, "malformed-request");
    app.get("/api/v1/integrations/usage?from=2026-01-01", &key)
        .await
        .expect_problem(400, "malformed-request");
    app.get(
        &format!(
            "/api/v1/integrations/usage?from=2026-01-01&to=2026-01-02&member_id={}",
            uuid::Uuid::nil()
        ),
        &Auth::Key(app.api_key(&org.admin).await),
    )
    .await
    .expect_problem(404, "not-found");
    app.post(
        &format!("/api/v1/team/members/{}/reclaims", sam.id),
        &admin,
        json!({"kind": "export", "amount": -5}),
    )
    .await
    .expect_problem(422, "validation-failed");
    app.get("/api/v1/operator/outbox?limit=0", &Auth::operator())
        .await
        .expect_problem(400, "malformed-request");
    // A sub-user reads their own usage through the member route, nobody else's.
    let own = format!("/api/v1/team/members/{}/usage?from=2026-01-01&to=2026-01-02", sam.id);
    app.get(&own, &Auth::bearer(&sam.token)).await.expect(200);
    let other =
        format!("/api/v1/team/members/{}/usage?from=2026-01-01&to=2026-01-02", org.admin.id);
    app.get(&other, &Auth::bearer(&sam.token)).await.expect_problem(403, "admin-only");
}

#[tokio::test]
async fn operator_refusals() {
    let app = app();
    let op = Auth::operator();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let nobody = uuid::Uuid::nil();
    let seats = |licences: u32| json!({"plans": [{"plan": "Pro", "licences": licences}]});
    app.put(&format!("/api/v1/operator/organisations/{nobody}/seats"), &op, seats(3))
        .await
        .expect_problem(404, "not-found");
    let refused = app
        .put(
            &format!("/api/v1/operator/organisations/{}/seats", org.id),
            &op,
            json!({"plans": [{"plan": "", "licences": 3}]}),
        )
        .await;
    refused.expect_problem(422, "validation-failed");
    assert_eq!(refused.str("/errors/0/field"), "plans[0].plan");
    app.put(
        &format!("/api/v1/operator/organisations/{nobody}/registration-number"),
        &op,
        json!({"registration_number": "1234-5678"}),
    )
    .await
    .expect_problem(404, "not-found");
    let expiry = json!({"kind": "export", "amount": 1, "reason": "x"});
    app.post(&format!("/api/v1/operator/organisations/{nobody}/expiries"), &op, expiry)
        .await
        .expect_problem(404, "not-found");
    app.post(
        &format!("/api/v1/operator/organisations/{}/expiries", org.id),
        &op,
        json!({"kind": "export", "amount": 0, "reason": "x"}),
    )
    .await
    .expect_problem(422, "validation-failed");
    let a = app.post("/api/v1/operator/products", &op, json!({"name": "Alpha"})).await.str("/id");
    app.post("/api/v1/operator/products", &op, json!({"name": "Beta"})).await.expect(201);
    app.send(
        "PATCH",
        &format!("/api/v1/operator/products/{a}"),
        &op,
        &[],
        Some(&json!({"name": "BETA"})),
    )
    .await
    .expect_problem(409, "product-name-taken");
    app.send(
        "PATCH",
        &format!("/api/v1/operator/products/{a}"),
        &op,
        &[],
        Some(&json!({"name": "x".repeat(81)})),
    )
    .await
    .expect_problem(422, "validation-failed");
}
