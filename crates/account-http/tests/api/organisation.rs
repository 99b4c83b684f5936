//! The organisation page: customer info (ETag / If-Match), the read-only registration number,
//! and contact addresses: add (a code is mailed), verify, roles, remove, with refusals naming
//! the role that would be left unheld.

use chrono::Duration;
use serde_json::json;

use crate::support::{Auth, app};

#[tokio::test]
async fn customer_info_is_versioned_and_the_registration_number_read_only() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);

    let o = app.get("/api/v1/organisation", &admin).await;
    o.expect(200);
    assert_eq!(o.str("/registration_number"), "556677-8899");
    assert_eq!(o.str("/name"), "Acme");

    let info = app.get("/api/v1/organisation/customer-info", &admin).await;
    info.expect(200);
    let etag = info.header("etag").unwrap();
    let body = json!({
        "contact_person": "Ada Admin",
        "postal_address": ["Storgatan 1", "111 22 Stockholm"],
        "company_name": "Acme AB",
        "purchase_order_number": "PO-42",
        "registration_number": "000000-0000",
    });
    let saved = app.put_if("/api/v1/organisation/customer-info", &admin, &etag, body.clone()).await;
    saved.expect(200);
    assert_eq!(saved.str("/purchase_order_number"), "PO-42");
    assert_ne!(saved.header("etag").unwrap(), etag);
    // Not through self-service: the number stays.
    assert_eq!(
        app.get("/api/v1/organisation", &admin).await.str("/registration_number"),
        "556677-8899"
    );
    app.put_if("/api/v1/organisation/customer-info", &admin, &etag, body.clone())
        .await
        .expect_problem(412, "stale-version");
    app.put("/api/v1/organisation/customer-info", &admin, body)
        .await
        .expect_problem(428, "precondition-required");
    let too_long = json!({"purchase_order_number": "x".repeat(65)});
    let r = app
        .put_if(
            "/api/v1/organisation/customer-info",
            &admin,
            &saved.header("etag").unwrap(),
            too_long,
        )
        .await;
    r.expect_problem(422, "validation-failed");
    assert_eq!(r.invalid_fields(), ["purchase_order_number"]);

    // Support changes it (a transfer).
    app.put(
        &format!("/api/v1/operator/organisations/{}/registration-number", org.id),
        &Auth::operator(),
        json!({"registration_number": "998877-6655"}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get("/api/v1/organisation", &admin).await.str("/registration_number"),
        "998877-6655"
    );

    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    app.get("/api/v1/organisation/customer-info", &Auth::bearer(&sam.token))
        .await
        .expect_problem(403, "admin-only");
}

#[tokio::test]
async fn a_postal_address_is_saved_and_returned_as_lines() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);
    let path = "/api/v1/organisation/customer-info";
    let etag = app.get(path, &admin).await.header("etag").unwrap();
    let lines =
        json!(["Acme AB", "Attn: Accounts payable", "Box 1", "", "111 22 Stockholm", "Sweden"]);
    let saved = app.put_if(path, &admin, &etag, json!({"postal_address": lines})).await;
    saved.expect(200);
    let expected =
        json!(["Acme AB", "Attn: Accounts payable", "Box 1", "111 22 Stockholm", "Sweden"]);
    assert_eq!(saved.body["postal_address"], expected, "blank lines dropped");
    let read = app.get(path, &admin).await;
    assert_eq!(read.body["postal_address"], expected);
    assert_eq!(
        app.get("/api/v1/organisation", &admin).await.body["customer_info"]["postal_address"],
        expected
    );

    let etag = read.header("etag").unwrap();
    for (body, field) in [
        (json!({"postal_address": ["ok", "x".repeat(101)]}), "postal_address[1]"),
        (json!({"postal_address": ["Box 1\nStockholm"]}), "postal_address[0]"),
    ] {
        let r = app.put_if(path, &admin, &etag, body).await;
        r.expect_problem(422, "validation-failed");
        assert_eq!(r.invalid_fields(), [field], "{}", r.text);
    }
    // Seven lines break the document's maxItems: refused before the domain sees them.
    let seven = app
        .put_if(path, &admin, &etag, json!({"postal_address": ["a", "b", "c", "d", "e", "f", "g"]}))
        .await;
    assert!(matches!(seven.status, 400 | 422), "{}", seven.text);
    assert_eq!(seven.invalid_fields(), ["postal_address"], "{}", seven.text);
    // A string is not a list of lines.
    app.put_if(path, &admin, &etag, json!({"postal_address": "Box 1"}))
        .await
        .expect_problem(400, "malformed-request");
    // No lines clear it.
    let cleared = app.put_if(path, &admin, &etag, json!({"postal_address": []})).await;
    cleared.expect(200);
    assert!(cleared.body.get("postal_address").is_none(), "{}", cleared.text);
}

#[tokio::test]
async fn contacts_add_verify_roles_remove() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);

    let list = app.get("/api/v1/organisation/contacts", &admin).await;
    list.expect(200);
    let sole = list.body["items"][0].clone();
    assert_eq!(sole["roles"], json!(["billing", "tech", "dpo"]));
    let sole_id = sole["id"].as_str().unwrap().to_owned();

    let mark = app.mark().await;
    let added =
        app.post("/api/v1/organisation/contacts", &admin, json!({"email": "dpo@acme.test"})).await;
    added.expect(201);
    assert_eq!(
        (added.body["verified"].clone(), added.body["roles"].clone()),
        (json!(false), json!([]))
    );
    let id = added.str("/id");
    let mail = app.mail_to("dpo@acme.test", &mark).await;
    assert!(mail.subject.starts_with("Please confirm your new address"), "{}", mail.subject);
    let code = crate::support::code_in(&mail);

    app.post("/api/v1/organisation/contacts", &admin, json!({"email": "DPO@acme.test"}))
        .await
        .expect_problem(409, "contact-exists");
    app.post("/api/v1/organisation/contacts", &admin, json!({"email": "nope"}))
        .await
        .expect_problem(422, "validation-failed");
    app.put(
        &format!("/api/v1/organisation/contacts/{id}/roles"),
        &admin,
        json!({"roles": ["dpo"]}),
    )
    .await
    .expect_problem(409, "contact-not-verified");
    app.post_empty(&format!("/api/v1/organisation/contacts/{id}/resend-code"), &admin)
        .await
        .expect_problem(429, "code-resend-too-soon");
    let wrong = app
        .post(
            &format!("/api/v1/organisation/contacts/{id}/verify"),
            &admin,
            json!({"code": "000000"}),
        )
        .await;
    wrong.expect_problem(422, "code-wrong");

    let verified = app
        .post(&format!("/api/v1/organisation/contacts/{id}/verify"), &admin, json!({"code": code}))
        .await;
    verified.expect(200);
    assert_eq!(verified.body["verified"], true);
    app.post(&format!("/api/v1/organisation/contacts/{id}/verify"), &admin, json!({"code": code}))
        .await
        .expect_problem(409, "contact-already-verified");
    app.post_empty(&format!("/api/v1/organisation/contacts/{id}/resend-code"), &admin)
        .await
        .expect_problem(409, "contact-already-verified");

    let roles = app
        .put(
            &format!("/api/v1/organisation/contacts/{id}/roles"),
            &admin,
            json!({"roles": ["dpo"]}),
        )
        .await;
    roles.expect(200);
    assert_eq!(roles.body["roles"], json!(["dpo"]));
    app.put(
        &format!("/api/v1/organisation/contacts/{sole_id}/roles"),
        &admin,
        json!({"roles": ["billing", "tech"]}),
    )
    .await
    .expect(200);

    // Removing the only DPO is refused, naming the role.
    let refused = app.delete(&format!("/api/v1/organisation/contacts/{id}"), &admin).await;
    refused.expect_problem(409, "roles-unheld");
    assert_eq!(refused.body["roles"], json!(["dpo"]));
    assert!(refused.str("/detail").contains("dpo"));
    let refused = app
        .put(
            &format!("/api/v1/organisation/contacts/{sole_id}/roles"),
            &admin,
            json!({"roles": ["tech"]}),
        )
        .await;
    refused.expect_problem(409, "roles-unheld");
    assert_eq!(refused.body["roles"], json!(["billing"]));
    app.put(
        &format!("/api/v1/organisation/contacts/{id}/roles"),
        &admin,
        json!({"roles": ["auditor"]}),
    )
    .await
    .expect_problem(400, "malformed-request");

    // Give DPO back to the first address; then the second one can go.
    app.put(
        &format!("/api/v1/organisation/contacts/{sole_id}/roles"),
        &admin,
        json!({"roles": ["billing", "tech", "dpo"]}),
    )
    .await
    .expect(200);
    app.delete(&format!("/api/v1/organisation/contacts/{id}"), &admin).await.expect(204);
    app.delete(&format!("/api/v1/organisation/contacts/{id}"), &admin)
        .await
        .expect_problem(404, "not-found");

    // An unverified address: resend after a minute replaces the code; it can be removed.
    let mark = app.mark().await;
    let added =
        app.post("/api/v1/organisation/contacts", &admin, json!({"email": "tech@acme.test"})).await;
    let id = added.str("/id");
    let first = app.code_to("tech@acme.test", &mark).await;
    app.clock.advance(Duration::seconds(61));
    let mark = app.mark().await;
    app.post_empty(&format!("/api/v1/organisation/contacts/{id}/resend-code"), &admin)
        .await
        .expect(200);
    let second = app.code_to("tech@acme.test", &mark).await;
    if first != second {
        app.post(
            &format!("/api/v1/organisation/contacts/{id}/verify"),
            &admin,
            json!({"code": first}),
        )
        .await
        .expect_problem(422, "code-wrong");
    }
    app.delete(&format!("/api/v1/organisation/contacts/{id}"), &admin).await.expect(204);
}
