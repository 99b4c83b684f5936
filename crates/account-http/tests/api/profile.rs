//! The profile page: read with ETag, save with If-Match, stale save (412), missing If-Match
//! (428), per-field validation (422), reset = re-read; preferences; products and services.

use serde_json::json;

use crate::support::{Auth, app};

fn profile(first: &str, phone: &str) -> serde_json::Value {
    json!({
        "first_name": first,
        "last_name": "Lovelace",
        "phone": phone,
        "company": "Analytical Engines",
        "job_title": "Programmer",
        "linkedin": "https://www.linkedin.com/in/ada",
    })
}

#[tokio::test]
async fn save_stale_save_missing_if_match_and_reset() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let me = Auth::bearer(&org.admin.token);

    let read = app.get("/api/v1/me/profile", &me).await;
    read.expect(200);
    let etag = read.header("etag").unwrap();
    assert_eq!(etag, "\"1\"");
    assert_eq!(read.str("/first_name"), "Ada");

    let saved = app.put_if("/api/v1/me/profile", &me, &etag, profile("Ada", "+46701234567")).await;
    saved.expect(200);
    assert_eq!(saved.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(saved.str("/phone"), "+46701234567");

    // A second tab still holds version 1: refused, never merged.
    let stale =
        app.put_if("/api/v1/me/profile", &me, &etag, profile("Augusta", "+46700000000")).await;
    stale.expect_problem(412, "stale-version");
    assert_eq!(stale.str("/current_etag"), "\"2\"");

    let missing = app.put("/api/v1/me/profile", &me, profile("Augusta", "+46700000000")).await;
    missing.expect_problem(428, "precondition-required");
    let star = app.put_if("/api/v1/me/profile", &me, "*", profile("Augusta", "+46700000000")).await;
    star.expect_problem(428, "precondition-required");
    let weak = app.put_if("/api/v1/me/profile", &me, "W/\"2\"", profile("A", "+46700000000")).await;
    weak.expect_problem(400, "malformed-request");

    // Reset is re-reading the saved version.
    let reset = app.get("/api/v1/me/profile", &me).await;
    assert_eq!(reset.str("/first_name"), "Ada");
    assert_eq!(reset.str("/phone"), "+46701234567");
    assert_eq!(reset.header("etag").as_deref(), Some("\"2\""));
}

#[tokio::test]
async fn invalid_fields_are_each_named_and_nothing_is_saved() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let me = Auth::bearer(&org.admin.token);
    let bad = json!({
        "first_name": " ",
        "phone": "0701234567",
        "linkedin": "https://example.com/ada",
        "job_title": "x".repeat(101),
    });
    let r = app.put_if("/api/v1/me/profile", &me, "\"1\"", bad).await;
    r.expect_problem(422, "validation-failed");
    let mut fields = r.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["first_name", "job_title", "linkedin", "phone"]);
    for e in r.body["errors"].as_array().unwrap() {
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    // The message names what to fix, never the rejected value.
    assert!(!r.text.contains("0701234567"));
    let read = app.get("/api/v1/me/profile", &me).await;
    assert_eq!(read.header("etag").as_deref(), Some("\"1\""));
}

#[tokio::test]
async fn names_with_bidi_overrides_zero_width_or_line_separators_are_refused_naming_the_field() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let me = Auth::bearer(&org.admin.token);
    let bad = json!({
        "first_name": "Ada\u{202E}nimdA",
        "last_name": "Love\u{200B}lace",
        "company": "Analytical\u{2028}Engines",
        "job_title": "\u{2066}Programmer\u{2069}",
    });
    let r = app.put_if("/api/v1/me/profile", &me, "\"1\"", bad).await;
    r.expect_problem(422, "validation-failed");
    let mut fields = r.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["company", "first_name", "job_title", "last_name"]);
    assert!(r.text.contains("right-to-left"), "the message says what to remove: {}", r.text);
    // An admin adding a member with such a name gets the same answer.
    let added = app
        .post(
            "/api/v1/team/members",
            &me,
            json!({"first_name": "Eve\u{202E}", "email": "eve@acme.test"}),
        )
        .await;
    added.expect_problem(422, "validation-failed");
    assert_eq!(added.invalid_fields(), ["first_name"]);
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_400_problems() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let auth = format!("Bearer {}", org.admin.token);
    let resp = app
        .cli
        .put("/api/v1/me/profile")
        .header("Authorization", auth.clone())
        .header("If-Match", "\"1\"")
        .content_type("application/json")
        .body("{not json")
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::BAD_REQUEST);
    resp.assert_content_type("application/problem+json");
    let wrong_type = app
        .send(
            "PUT",
            "/api/v1/me/profile",
            &Auth::bearer(&org.admin.token),
            &[("If-Match", "\"1\"")],
            Some(&json!({"first_name": ["Ada"]})),
        )
        .await;
    wrong_type.expect_problem(400, "malformed-request");
    let no_type = app
        .cli
        .put("/api/v1/me/profile")
        .header("Authorization", auth)
        .header("If-Match", "\"1\"")
        .body("{}")
        .send()
        .await;
    no_type.assert_status(poem::http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    no_type.assert_content_type("application/problem+json");
}

#[tokio::test]
async fn preferences_and_offerings() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let me = Auth::bearer(&org.admin.token);

    let prefs = app.get("/api/v1/me/preferences", &me).await;
    prefs.expect(200);
    assert_eq!(prefs.str("/timezone"), "UTC");
    let mut new = prefs.body.clone();
    new["timezone"] = json!("Europe/Stockholm");
    new["notifications"]["weekly_usage_digest"] = json!(true);
    let saved = app.put("/api/v1/me/preferences", &me, new.clone()).await;
    saved.expect(200);
    assert_eq!(saved.str("/timezone"), "Europe/Stockholm");
    new["timezone"] = json!("Mars/Olympus");
    let bad = app.put("/api/v1/me/preferences", &me, new).await;
    bad.expect_problem(422, "validation-failed");
    assert_eq!(bad.invalid_fields(), ["timezone"]);

    // The catalogue, managed by the operator.
    let product = app
        .post("/api/v1/operator/products", &Auth::operator(), json!({"name": "Lead Generation"}))
        .await;
    product.expect(201);
    let product_id = product.str("/id");
    let catalogue = app.get("/api/v1/catalogue/products", &me).await;
    catalogue.expect(200);
    assert_eq!(catalogue.str("/items/0/name"), "Lead Generation");

    let offerings = json!({"offerings": [
        {"product_id": product_id},
        {"text": "lead   generation"},
        {"text": "CRM consulting"},
        {"text": "crm consulting"},
    ]});
    let saved = app.put("/api/v1/me/offerings", &me, offerings).await;
    saved.expect(200);
    let list = saved.body["offerings"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{}", saved.text);
    assert_eq!(list[0]["name"], "Lead Generation");
    assert_eq!(list[1]["name"], "CRM consulting");
    let read = app.get("/api/v1/me/offerings", &me).await;
    assert_eq!(read.body, saved.body);

    // A deactivated entry can no longer be picked, but the member still sees its name.
    let path = format!("/api/v1/operator/products/{product_id}");
    app.send("PATCH", &path, &Auth::operator(), &[], Some(&json!({"active": false})))
        .await
        .expect(200);
    let catalogue = app.get("/api/v1/catalogue/products", &me).await;
    assert_eq!(catalogue.body["items"].as_array().unwrap().len(), 0);
    let read = app.get("/api/v1/me/offerings", &me).await;
    assert_eq!(read.body["offerings"][0]["name"], "Lead Generation");

    let both = app
        .put(
            "/api/v1/me/offerings",
            &me,
            json!({"offerings": [{"product_id": product_id, "text": "x"}]}),
        )
        .await;
    both.expect_problem(422, "validation-failed");
    assert_eq!(both.invalid_fields(), ["offerings[0]"]);
    let unknown = app
        .put("/api/v1/me/offerings", &me, json!({"offerings": [{"product_id": uuid::Uuid::nil()}]}))
        .await;
    unknown.expect_problem(422, "validation-failed");
    assert_eq!(unknown.invalid_fields(), ["offerings[0]"]);
}

#[tokio::test]
async fn a_retired_product_is_kept_by_who_holds_it_and_refused_to_anyone_picking_it_anew() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let ada = Auth::bearer(&org.admin.token);
    let tina = app.member(&org, "Tina", "tina@acme.test").await;
    let tina = Auth::bearer(&tina.token);
    let product = app
        .post("/api/v1/operator/products", &Auth::operator(), json!({"name": "Lead Generation"}))
        .await;
    let product_id = product.str("/id");
    let pick = json!({"offerings": [{"text": "Consulting"}, {"product_id": product_id}]});
    app.put("/api/v1/me/offerings", &ada, pick.clone()).await.expect(200);

    let path = format!("/api/v1/operator/products/{product_id}");
    app.send("PATCH", &path, &Auth::operator(), &[], Some(&json!({"active": false})))
        .await
        .expect(200);
    let catalogue = app.get("/api/v1/catalogue/products", &tina).await;
    assert!(catalogue.body["items"].as_array().unwrap().is_empty());

    // Tina never held it: picking it by id is refused, naming the entry.
    let refused = app.put("/api/v1/me/offerings", &tina, pick.clone()).await;
    refused.expect_problem(422, "validation-failed");
    assert_eq!(refused.invalid_fields(), ["offerings[1]"], "{}", refused.text);
    assert!(refused.text.contains("retired"), "{}", refused.text);
    let read = app.get("/api/v1/me/offerings", &tina).await;
    assert!(read.body["offerings"].as_array().unwrap().is_empty(), "{}", read.text);

    // Ada held it before it was retired: saving her list again keeps it.
    let again = app.put("/api/v1/me/offerings", &ada, pick).await;
    again.expect(200);
    assert_eq!(again.body["offerings"][1]["name"], "Lead Generation", "{}", again.text);
}
