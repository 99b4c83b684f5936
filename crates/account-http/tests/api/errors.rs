//! Errors outside the operations' own: unknown routes, wrong methods, bad paths and queries,
//! missing or bad credentials, oversized bodies, and our own faults (500 / 503) — all
//! problem+json. Also the request id and the served document and UI.

use serde_json::json;

use crate::support::{Auth, Fault, app, faulty_app};

#[tokio::test]
async fn routing_errors_are_problems() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let me = Auth::bearer(&org.admin.token);
    app.get("/api/v1/nowhere", &me).await.expect_problem(404, "not-found");
    app.get("/nowhere", &Auth::None).await.expect_problem(404, "not-found");
    app.send("PATCH", "/api/v1/me", &me, &[], None).await.expect_problem(405, "method-not-allowed");
    app.get("/api/v1/team/members/not-a-uuid", &me).await.expect_problem(400, "malformed-request");
    app.get("/api/v1/team/members?limit=500", &me).await.expect_problem(400, "malformed-request");
}

#[tokio::test]
async fn credentials_errors_are_problems_with_www_authenticate() {
    let app = app();
    for auth in [Auth::None, Auth::bearer("acs_nonsense"), Auth::Key("ack_x".into())] {
        let r = app.get("/api/v1/me", &auth).await;
        r.expect_problem(401, "unauthenticated");
        assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer realm=\"accounts\""));
    }
    // Credentials are checked before the body is parsed.
    let r = app
        .send("PUT", "/api/v1/me/profile", &Auth::None, &[], Some(&json!({"nonsense": true})))
        .await;
    r.expect_problem(401, "unauthenticated");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = app();
    let big = json!({"email": "a@b.se", "password": "x".repeat(70 * 1024)});
    app.post("/api/v1/auth/login", &Auth::None, big).await.expect_problem(413, "payload-too-large");
}

#[tokio::test]
async fn request_ids_are_echoed_when_sane_and_made_otherwise() {
    let app = app();
    let r =
        app.send("GET", "/api/v1/health", &Auth::None, &[("X-Request-Id", "abc-123")], None).await;
    assert_eq!(r.header("x-request-id").as_deref(), Some("abc-123"));
    let r = app
        .send("GET", "/api/v1/health", &Auth::None, &[("X-Request-Id", "bad id\twith junk")], None)
        .await;
    let made = r.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
}

#[tokio::test]
async fn internal_faults_are_opaque_500s_and_outages_503s() {
    let app = faulty_app();
    let faults = app.faults.clone().unwrap();
    app.get("/api/v1/health", &Auth::None).await.expect(200);
    let org = app.org("Acme", "ada@acme.test", 5).await;

    faults.set(Fault::Broken);
    let r = app.get("/api/v1/me", &Auth::bearer(&org.admin.token)).await;
    r.expect_problem(500, "internal-error");
    assert!(!r.text.contains("disk on fire"), "{}", r.text);
    assert_eq!(r.str("/request_id"), r.header("x-request-id").unwrap());
    app.get("/api/v1/health", &Auth::None).await.expect_problem(500, "internal-error");

    faults.set(Fault::Unavailable);
    let r = app.get("/api/v1/me", &Auth::bearer(&org.admin.token)).await;
    r.expect_problem(503, "unavailable");
    assert!(r.header("retry-after").is_some());
    app.get("/api/v1/health", &Auth::None).await.expect_problem(503, "unavailable");
    app.post(
        "/api/v1/auth/login",
        &Auth::None,
        json!({"email": "ada@acme.test", "password": "whatever it is"}),
    )
    .await
    .expect_problem(503, "unavailable");

    faults.set(Fault::None);
    app.get("/api/v1/me", &Auth::bearer(&org.admin.token)).await.expect(200);
}

#[tokio::test]
async fn the_document_and_swagger_ui_are_served() {
    let app = app();
    let doc = app.get("/api/v1/openapi.json", &Auth::None).await;
    doc.expect(200);
    let served: serde_json::Value = doc.body.clone();
    let code: serde_json::Value = serde_json::from_str(&account_http::openapi_json()).unwrap();
    assert_eq!(served, code);
    let ui = app.cli.get("/docs").send().await;
    ui.assert_status_is_ok();
    ui.assert_content_type("text/html; charset=utf-8");
}

#[tokio::test]
async fn wrong_json_types_are_refused_naming_the_field_not_converted() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let me = Auth::bearer(&org.admin.token);
    let etag = app.profile_etag(&org.admin.token).await;
    for wrong in [json!(true), json!(12), json!(1.5), json!(["Ada"]), json!({"a": 1})] {
        let r = app.put_if("/api/v1/me/profile", &me, &etag, json!({"first_name": wrong})).await;
        r.expect_problem(400, "malformed-request");
        assert_eq!(r.invalid_fields(), ["first_name"], "{}", r.text);
        assert!(r.body["errors"][0]["message"].as_str().unwrap().contains("string"));
    }
    // Nothing was saved: the profile keeps its name.
    let profile = app.get("/api/v1/me/profile", &me).await;
    assert_eq!(profile.str("/first_name"), "Ada");

    // API key labels, product names and offering texts alike.
    app.post("/api/v1/me/api-keys", &me, json!({"label": 7}))
        .await
        .expect_problem(400, "malformed-request");
    let r = app
        .put("/api/v1/me/offerings", &me, json!({"offerings": [{"text": "CRM"}, {"text": false}]}))
        .await;
    r.expect_problem(400, "malformed-request");
    assert_eq!(r.invalid_fields(), ["offerings[1].text"], "{}", r.text);
    let op = Auth::operator();
    let r = app.post("/api/v1/operator/products", &op, json!({"name": 42})).await;
    r.expect_problem(400, "malformed-request");
    assert_eq!(r.invalid_fields(), ["name"]);
    // A wrong enum value, a number where a whole one is needed, and a bad UUID are named too.
    let r = app
        .post(
            &format!("/api/v1/team/members/{}/allocations", org.admin.id),
            &me,
            json!({"kind": "gold", "amount": 2.5}),
        )
        .await;
    r.expect_problem(400, "malformed-request");
    assert_eq!(r.invalid_fields(), ["amount", "kind"], "{}", r.text);
    let r =
        app.put("/api/v1/me/offerings", &me, json!({"offerings": [{"product_id": "nope"}]})).await;
    assert_eq!(r.invalid_fields(), ["offerings[0].product_id"], "{}", r.text);
}

#[tokio::test]
async fn missing_fields_and_unreadable_bodies_are_named() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let me = Auth::bearer(&org.admin.token);
    let r = app.post("/api/v1/team/members", &me, json!({"first_name": "Sam"})).await;
    r.expect_problem(400, "malformed-request");
    assert_eq!(r.invalid_fields(), ["email"], "{}", r.text);
    assert_eq!(r.body["errors"][0]["message"], "is required");
    let r = app.post("/api/v1/team/members", &me, json!({"first_name": null, "email": 3})).await;
    assert_eq!(r.invalid_fields(), ["first_name", "email"], "{}", r.text);
    let r = app.post("/api/v1/team/members", &me, json!([1, 2])).await;
    assert_eq!(r.invalid_fields(), ["body"], "{}", r.text);
    let r = app
        .send_raw(
            "POST",
            "/api/v1/team/members",
            &me,
            &[],
            Some("application/json"),
            b"{\"first_name\":".to_vec(),
        )
        .await;
    r.expect_problem(400, "malformed-request");
    assert_eq!(r.invalid_fields(), ["body"], "{}", r.text);
}

#[tokio::test]
async fn parameters_and_headers_at_fault_are_named() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let me = Auth::bearer(&org.admin.token);
    let r = app.get("/api/v1/team/members/not-a-uuid", &me).await;
    assert_eq!(r.invalid_fields(), ["member_id"], "{}", r.text);
    let r = app.get("/api/v1/team/members?limit=500", &me).await;
    assert_eq!(r.invalid_fields(), ["limit"], "{}", r.text);
    let r = app.get("/api/v1/team/members?cursor=zz", &me).await;
    assert_eq!(r.invalid_fields(), ["cursor"], "{}", r.text);
    let r = app.get("/api/v1/me/usage?from=2026-01-01", &me).await;
    assert_eq!(r.invalid_fields(), ["to"], "{}", r.text);
    let r = app
        .send(
            "PUT",
            "/api/v1/me/profile",
            &me,
            &[("If-Match", "W/\"1\"")],
            Some(&json!({"first_name": "Ada"})),
        )
        .await;
    r.expect_problem(400, "malformed-request");
    assert_eq!(r.invalid_fields(), ["If-Match"], "{}", r.text);
}
