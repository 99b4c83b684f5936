//! Support staff with the operator token: organisations, licences, plan, registration number,
//! credits, members (find, rename, API keys), the catalogue, the outbox, digests.

use serde_json::json;

use crate::support::{Auth, PASSWORD, app, app_with};

#[tokio::test]
async fn organisations_licences_plan_and_credits() {
    let app = app();
    let op = Auth::operator();
    let invalid = app
        .post(
            "/api/v1/operator/organisations",
            &op,
            json!({"name": "", "registration_number": "x", "plan": "Pro", "licences": 0, "admin_first_name": "A", "admin_email": "bad"}),
        )
        .await;
    invalid.expect_problem(422, "validation-failed");
    let mut fields = invalid.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["admin_email", "licences", "name", "registration_number"]);

    // Without a password the admin is invited by mail.
    let mark = app.mark().await;
    let created = app
        .post(
            "/api/v1/operator/organisations",
            &op,
            json!({"name": "Acme", "registration_number": "556677-8899", "plan": "Pro", "licences": 2, "admin_first_name": "Ada", "admin_email": "ada@acme.test"}),
        )
        .await;
    created.expect(201);
    let org_id = created.str("/organisation/id");
    assert_eq!(
        created.header("location").unwrap(),
        format!("/api/v1/operator/organisations/{org_id}")
    );
    assert_eq!(created.body["admin"]["invitation_pending"], true);
    assert!(app.mail_to("ada@acme.test", &mark).await.body.contains("aci_"));
    app.post(
        "/api/v1/operator/organisations",
        &op,
        json!({"name": "Dup", "registration_number": "556677-8899", "plan": "Pro", "licences": 2, "admin_first_name": "Ada", "admin_email": "ADA@acme.test"}),
    )
    .await
    .expect_problem(409, "email-taken");
    let beta = app.org("Beta", "bob@beta.test", 3).await;

    let list = app.get("/api/v1/operator/organisations?limit=1", &op).await;
    list.expect(200);
    let next = list.str("/next_cursor");
    let rest = app.get(&format!("/api/v1/operator/organisations?limit=1&cursor={next}"), &op).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);
    assert_ne!(rest.body["items"][0]["id"], list.body["items"][0]["id"]);

    let detail = app.get(&format!("/api/v1/operator/organisations/{}", beta.id), &op).await;
    detail.expect(200);
    assert_eq!((detail.int("/enabled"), detail.int("/enabled_admins")), (1, 1));
    assert_eq!(detail.body["pools"].as_array().unwrap().len(), 4);
    app.get(&format!("/api/v1/operator/organisations/{}", uuid::Uuid::nil()), &op)
        .await
        .expect_problem(404, "not-found");

    app.member(&beta, "Sam", "sam@beta.test").await;
    let seats = format!("/api/v1/operator/organisations/{}/seats", beta.id);
    let one = |plan: &str, licences: u32| json!({"plans": [{"plan": plan, "licences": licences}]});
    app.put(&seats, &op, one("Professional", 1))
        .await
        .expect_problem(409, "licences-below-enabled");
    app.put(&seats, &op, one("Professional", 0)).await.expect_problem(422, "validation-failed");
    app.put(&seats, &op, one("Enterprise", 9)).await.expect_problem(409, "plan-in-use");
    let set = app.put(&seats, &op, one("Professional", 9)).await;
    assert_eq!(set.int("/licences"), 9);
    // Renaming the plan: the new one replaces it and takes its members.
    let renamed = app
        .put(
            &seats,
            &op,
            json!({"plans": [{"plan": "Enterprise", "licences": 9, "replaces": "Professional"}]}),
        )
        .await;
    assert_eq!(renamed.body["plans"], json!([{"plan": "Enterprise", "licences": 9}]));
    let summary = app.get("/api/v1/team/summary", &Auth::bearer(&beta.admin.token)).await;
    assert_eq!(
        summary.body["plans"],
        json!([{"plan": "Enterprise", "licences": 9, "enabled": 2, "disabled": 0}])
    );
    app.put(
        &format!("/api/v1/operator/organisations/{}/registration-number", beta.id),
        &op,
        json!({"registration_number": "!"}),
    )
    .await
    .expect_problem(422, "validation-failed");

    let grants = format!("/api/v1/operator/organisations/{}/grants", beta.id);
    let pool = app
        .post(&grants, &op, json!({"kind": "direct_dial", "amount": 500, "reason": "invoice 1"}))
        .await;
    pool.expect(200);
    assert_eq!((pool.int("/total"), pool.int("/headroom")), (500, 500));
    app.post(&grants, &op, json!({"kind": "direct_dial", "amount": 5, "reason": ""}))
        .await
        .expect_problem(422, "validation-failed");
    let expiries = format!("/api/v1/operator/organisations/{}/expiries", beta.id);
    app.post(
        &expiries,
        &op,
        json!({"kind": "direct_dial", "amount": 501, "reason": "end of term"}),
    )
    .await
    .expect_problem(409, "insufficient-credits");
    let pool = app
        .post(
            &expiries,
            &op,
            json!({"kind": "direct_dial", "amount": 200, "reason": "end of term"}),
        )
        .await;
    assert_eq!(pool.int("/total"), 300);
    let replayed = app
        .send(
            "POST",
            &expiries,
            &op,
            &[("Idempotency-Key", "exp-1")],
            Some(&json!({"kind": "direct_dial", "amount": 1, "reason": "x"})),
        )
        .await;
    let again = app
        .send(
            "POST",
            &expiries,
            &op,
            &[("Idempotency-Key", "exp-1")],
            Some(&json!({"kind": "direct_dial", "amount": 1, "reason": "x"})),
        )
        .await;
    assert_eq!((replayed.int("/total"), again.int("/total")), (299, 299));
    app.post(
        &format!("/api/v1/operator/organisations/{}/grants", uuid::Uuid::nil()),
        &op,
        json!({"kind": "export", "amount": 1, "reason": "x"}),
    )
    .await
    .expect_problem(404, "not-found");
}

#[tokio::test]
async fn members_usernames_and_api_keys() {
    let app = app();
    let op = Auth::operator();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let sam = app.member(&org, "Sam", "sam@acme.test").await;

    let found =
        app.post("/api/v1/operator/members/lookup", &op, json!({"query": "SAM@acme.test"})).await;
    found.expect(200);
    assert_eq!(found.str("/id"), sam.id);
    let username = found.str("/username");
    assert_eq!(
        app.post("/api/v1/operator/members/lookup", &op, json!({"query": username}))
            .await
            .str("/id"),
        sam.id
    );
    app.post("/api/v1/operator/members/lookup", &op, json!({"query": "ghost@acme.test"}))
        .await
        .expect_problem(404, "not-found");

    let path = format!("/api/v1/operator/members/{}/username", sam.id);
    let renamed = app.put(&path, &op, json!({"username": "samuel"})).await;
    renamed.expect(200);
    assert_eq!(renamed.str("/username"), "samuel");
    assert_eq!(app.get("/api/v1/me", &Auth::bearer(&sam.token)).await.str("/username"), "samuel");
    let admin_username =
        app.get("/api/v1/me", &Auth::bearer(&org.admin.token)).await.str("/username");
    app.put(&path, &op, json!({"username": admin_username}))
        .await
        .expect_problem(409, "username-taken");
    app.put(&path, &op, json!({"username": "No Spaces"}))
        .await
        .expect_problem(422, "validation-failed");
    app.put(
        &format!("/api/v1/operator/members/{}/username", uuid::Uuid::nil()),
        &op,
        json!({"username": "ghost"}),
    )
    .await
    .expect_problem(404, "not-found");

    let secret = app.api_key(&sam).await;
    let keys = app.get(&format!("/api/v1/operator/members/{}/api-keys", sam.id), &op).await;
    keys.expect(200);
    let key_id = keys.str("/items/0/id");
    let rotated = app.post_empty(&format!("/api/v1/operator/api-keys/{key_id}/rotate"), &op).await;
    rotated.expect(200);
    let usage = "/api/v1/integrations/usage?from=2026-01-01&to=2026-01-02";
    app.get(usage, &Auth::Key(secret)).await.expect_problem(401, "unauthenticated");
    let new_secret = rotated.str("/secret");
    app.get(usage, &Auth::Key(new_secret.clone())).await.expect(200);
    app.delete(&format!("/api/v1/operator/api-keys/{}", rotated.str("/key/id")), &op)
        .await
        .expect(204);
    app.get(usage, &Auth::Key(new_secret)).await.expect_problem(401, "unauthenticated");
    app.delete(&format!("/api/v1/operator/api-keys/{key_id}"), &op)
        .await
        .expect_problem(404, "not-found");
    app.post_empty(&format!("/api/v1/operator/api-keys/{key_id}/rotate"), &op)
        .await
        .expect_problem(404, "not-found");
    app.get(&format!("/api/v1/operator/members/{}/api-keys", uuid::Uuid::nil()), &op)
        .await
        .expect_problem(404, "not-found");
}

#[tokio::test]
async fn catalogue_outbox_and_digests() {
    let app = app();
    let op = Auth::operator();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let created =
        app.post("/api/v1/operator/products", &op, json!({"name": "Lead Generation"})).await;
    created.expect(201);
    let id = created.str("/id");
    app.post("/api/v1/operator/products", &op, json!({"name": "lead generation"}))
        .await
        .expect_problem(409, "product-name-taken");
    app.post("/api/v1/operator/products", &op, json!({"name": " "}))
        .await
        .expect_problem(422, "validation-failed");
    let updated = app
        .send(
            "PATCH",
            &format!("/api/v1/operator/products/{id}"),
            &op,
            &[],
            Some(&json!({"active": false})),
        )
        .await;
    updated.expect(200);
    assert_eq!(updated.body["active"], false);
    app.send(
        "PATCH",
        &format!("/api/v1/operator/products/{}", uuid::Uuid::nil()),
        &op,
        &[],
        Some(&json!({"active": true})),
    )
    .await
    .expect_problem(404, "not-found");
    let all = app.get("/api/v1/operator/products", &op).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 1);
    // Members see only active entries.
    let visible = app.get("/api/v1/catalogue/products", &Auth::bearer(&org.admin.token)).await;
    assert!(visible.body["items"].as_array().unwrap().is_empty());

    app.post(
        "/api/v1/team/members",
        &Auth::bearer(&org.admin.token),
        json!({"first_name": "Tina", "email": "tina@acme.test"}),
    )
    .await
    .expect(201);
    let outbox = app.get("/api/v1/operator/outbox", &op).await;
    outbox.expect(200);
    assert!(outbox.body["items"].as_array().unwrap().iter().any(|m| m["kind"] == "invitation"));
    assert!(!outbox.text.contains("aci_"), "mail content is never shown");

    let mut prefs = app.get("/api/v1/me/preferences", &Auth::bearer(&org.admin.token)).await.body;
    prefs["notifications"]["weekly_usage_digest"] = json!(true);
    app.put("/api/v1/me/preferences", &Auth::bearer(&org.admin.token), prefs).await.expect(200);
    let none_due = app.post("/api/v1/operator/digests/run", &op, json!({})).await;
    assert_eq!(none_due.int("/sent"), 0);
    app.clock.advance(chrono::Duration::days(7));
    let mark = app.mark().await;
    assert_eq!(
        app.post("/api/v1/operator/digests/run", &op, json!({"limit": 10})).await.int("/sent"),
        1
    );
    assert!(app.mail_to("ada@acme.test", &mark).await.subject.starts_with("Your weekly usage"));
}

#[tokio::test]
async fn operator_credential_is_required_and_can_be_absent() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    app.get("/api/v1/operator/organisations", &Auth::None)
        .await
        .expect_problem(401, "unauthenticated");
    app.get(
        "/api/v1/operator/organisations",
        &Auth::bearer("op-token-wrong-0123456789abcdef0123456789"),
    )
    .await
    .expect_problem(401, "unauthenticated");
    app.get("/api/v1/operator/organisations", &Auth::bearer(&org.admin.token))
        .await
        .expect_problem(401, "unauthenticated");
    // The operator token is not a member session.
    app.get("/api/v1/me", &Auth::operator()).await.expect_problem(401, "unauthenticated");

    let closed = app_with(account_http::HttpConfig::default());
    let r = closed.get("/api/v1/operator/organisations", &Auth::operator()).await;
    r.expect_problem(401, "unauthenticated");
    assert!(r.str("/detail").contains("disabled"));
    let _ = PASSWORD;
}

#[test]
fn operator_tokens_must_be_long_and_are_never_printed() {
    assert_eq!(
        account_http::OperatorToken::new("short").unwrap_err(),
        account_http::OperatorTokenError::TooShort
    );
    assert_eq!(
        account_http::OperatorToken::new(format!("{} ", "x".repeat(40))).unwrap_err(),
        account_http::OperatorTokenError::BadCharacters
    );
    let token = account_http::OperatorToken::new(crate::support::OPERATOR_TOKEN).unwrap();
    let config = account_http::HttpConfig { operator_token: Some(token), ..Default::default() };
    let printed = format!("{config:?}");
    assert!(!printed.contains(crate::support::OPERATOR_TOKEN), "{printed}");
    assert!(printed.contains("REDACTED"));
}
