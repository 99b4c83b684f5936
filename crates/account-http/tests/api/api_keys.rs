//! API keys: shown once, listed by prefix, rotated and revoked by their owner.

use serde_json::json;

use crate::support::{Auth, app};

const USAGE: &str = "/api/v1/integrations/usage?from=2026-01-01&to=2026-01-07";

#[tokio::test]
async fn create_list_rotate_revoke() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let me = Auth::bearer(&sam.token);

    let created = app.post("/api/v1/me/api-keys", &me, json!({"label": "CRM sync"})).await;
    created.expect(201);
    let secret = created.str("/secret");
    assert!(secret.starts_with("ack_") && secret.len() > 64);
    let id = created.str("/key/id");
    assert!(secret.starts_with(&created.str("/key/prefix")));

    let list = app.get("/api/v1/me/api-keys", &me).await;
    list.expect(200);
    assert_eq!(list.str("/items/0/label"), "CRM sync");
    assert!(!list.text.contains(&secret), "the secret is shown once only");
    assert!(list.body["items"][0].get("last_used_at").is_none());

    app.get(USAGE, &Auth::Key(secret.clone())).await.expect(200);
    let used = app.get("/api/v1/me/api-keys", &me).await;
    assert!(used.body["items"][0]["last_used_at"].is_string());

    let rotated = app.post_empty(&format!("/api/v1/me/api-keys/{id}/rotate"), &me).await;
    rotated.expect(200);
    let new_secret = rotated.str("/secret");
    assert_eq!(rotated.str("/key/label"), "CRM sync");
    app.get(USAGE, &Auth::Key(secret)).await.expect_problem(401, "unauthenticated");
    app.get(USAGE, &Auth::Key(new_secret.clone())).await.expect(200);

    let new_id = rotated.str("/key/id");
    app.delete(&format!("/api/v1/me/api-keys/{new_id}"), &me).await.expect(204);
    app.get(USAGE, &Auth::Key(new_secret)).await.expect_problem(401, "unauthenticated");
    app.delete(&format!("/api/v1/me/api-keys/{new_id}"), &me)
        .await
        .expect_problem(404, "not-found");
    app.post_empty(&format!("/api/v1/me/api-keys/{new_id}/rotate"), &me)
        .await
        .expect_problem(404, "not-found");

    // Someone else's key is not found; labels are bounded; the count is bounded.
    let other = app.post("/api/v1/me/api-keys", &Auth::bearer(&org.admin.token), json!({})).await;
    app.delete(&format!("/api/v1/me/api-keys/{}", other.str("/key/id")), &me)
        .await
        .expect_problem(404, "not-found");
    let long = app.post("/api/v1/me/api-keys", &me, json!({"label": "x".repeat(101)})).await;
    long.expect_problem(422, "validation-failed");
    assert_eq!(long.invalid_fields(), ["label"]);
    for _ in 0..20 {
        app.post("/api/v1/me/api-keys", &me, json!({})).await.expect(201);
    }
    app.post("/api/v1/me/api-keys", &me, json!({})).await.expect_problem(409, "too-many-api-keys");
    app.get(USAGE, &Auth::Key("ack_garbage".into())).await.expect_problem(401, "unauthenticated");
}

#[tokio::test]
async fn rotating_a_key_keeps_its_id_for_the_owner_and_for_support() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let me = Auth::bearer(&sam.token);
    let created = app.post("/api/v1/me/api-keys", &me, json!({"label": "CRM sync"})).await;
    let id = created.str("/key/id");
    let mut prefix = created.str("/key/prefix");
    let mut secret = created.str("/secret");

    for path in [
        format!("/api/v1/me/api-keys/{id}/rotate"),
        format!("/api/v1/operator/api-keys/{id}/rotate"),
    ] {
        let auth = if path.contains("operator") { Auth::operator() } else { me.clone() };
        let rotated = app.post_empty(&path, &auth).await;
        rotated.expect(200);
        assert_eq!(rotated.str("/key/id"), id, "{path}: the id is kept");
        assert_eq!(rotated.str("/key/label"), "CRM sync");
        let new_secret = rotated.str("/secret");
        let new_prefix = rotated.str("/key/prefix");
        assert_ne!(new_secret, secret, "{path}");
        assert_ne!(new_prefix, prefix, "{path}: the prefix follows the secret");
        assert!(new_secret.starts_with(&new_prefix));
        app.get(USAGE, &Auth::Key(secret.clone())).await.expect_problem(401, "unauthenticated");
        app.get(USAGE, &Auth::Key(new_secret.clone())).await.expect(200);
        // The id the client kept still names the key, in both lists.
        let mine = app.get("/api/v1/me/api-keys", &me).await;
        assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
        assert_eq!(mine.str("/items/0/id"), id);
        assert_eq!(mine.str("/items/0/prefix"), new_prefix);
        let theirs = app
            .get(&format!("/api/v1/operator/members/{}/api-keys", sam.id), &Auth::operator())
            .await;
        assert_eq!(theirs.str("/items/0/id"), id);
        (secret, prefix) = (new_secret, new_prefix);
    }
    app.delete(&format!("/api/v1/me/api-keys/{id}"), &me).await.expect(204);
    app.get(USAGE, &Auth::Key(secret)).await.expect_problem(401, "unauthenticated");
}
