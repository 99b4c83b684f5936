//! Deleting one's account: confirmation, erasure, credits back to the pool, the last admin.

use serde_json::json;

use crate::support::{Auth, PASSWORD, app};

#[tokio::test]
async fn delete_needs_confirmation_erases_and_returns_credits() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    app.grant(&org, "export", 100).await;
    app.allocate(&org, &sam, "export", 40).await.expect(200);
    let me = Auth::bearer(&sam.token);

    let r = app.post("/api/v1/me/deletion", &me, json!({"password": "not my password"})).await;
    r.expect_problem(422, "confirmation-failed");
    assert_eq!(r.invalid_fields(), ["password"]);
    let r = app.post("/api/v1/me/deletion", &me, json!({"username": "someone-else"})).await;
    r.expect_problem(422, "confirmation-failed");
    assert_eq!(r.invalid_fields(), ["username"]);
    let neither = app.post("/api/v1/me/deletion", &me, json!({})).await;
    neither.expect_problem(422, "validation-failed");
    app.post("/api/v1/me/deletion", &me, json!({"password": PASSWORD, "username": "sam"}))
        .await
        .expect_problem(422, "validation-failed");

    let mark = app.mark().await;
    app.post("/api/v1/me/deletion", &me, json!({"password": PASSWORD})).await.expect(204);
    assert!(
        app.mail_to("sam@acme.test", &mark).await.subject.starts_with("Your account was deleted")
    );
    app.get("/api/v1/me", &me).await.expect_problem(401, "unauthenticated");
    app.post(
        "/api/v1/auth/login",
        &Auth::None,
        json!({"email": "sam@acme.test", "password": PASSWORD}),
    )
    .await
    .expect_problem(401, "invalid-credentials");
    app.get(&format!("/api/v1/team/members/{}", sam.id), &admin)
        .await
        .expect_problem(404, "not-found");
    let pools = app.get("/api/v1/team/credits", &admin).await;
    let export = pools.body["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "export")
        .unwrap()
        .clone();
    assert_eq!((export["allocated"].as_i64(), export["headroom"].as_i64()), (Some(0), Some(100)));
    // The ledger keeps the amounts.
    let ledger = app.get("/api/v1/team/ledger?entry_type=reclaim", &admin).await;
    assert_eq!(ledger.body["items"][0]["amount"], 40);
}

#[tokio::test]
async fn the_last_admin_cannot_delete_themselves_but_a_typed_username_works() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);
    let username = app.get("/api/v1/me", &admin).await.str("/username");
    app.post("/api/v1/me/deletion", &admin, json!({"username": username}))
        .await
        .expect_problem(409, "last-admin");
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    app.put(&format!("/api/v1/team/members/{}/role", sam.id), &admin, json!({"role": "admin"}))
        .await
        .expect(200);
    app.post("/api/v1/me/deletion", &admin, json!({"username": username.to_uppercase()}))
        .await
        .expect(204);
}
