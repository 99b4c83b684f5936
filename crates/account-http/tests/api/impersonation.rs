//! Impersonation: started with a reason, every response carries the banner header, password /
//! email / API keys / deletion are refused under it, admin pages too; it ends with stop, with
//! the admin's session, and after an hour.

use chrono::Duration;
use serde_json::json;

use crate::support::{Auth, PASSWORD, app};

#[tokio::test]
async fn impersonate_banner_forbidden_actions_and_stop() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let path = format!("/api/v1/team/members/{}/impersonation", sam.id);

    app.post(&path, &admin, json!({"reason": ""})).await.expect_problem(422, "validation-failed");
    let started = app.post(&path, &admin, json!({"reason": "ticket 4711: export fails"})).await;
    started.expect(201);
    let token = started.str("/token");
    assert_eq!(started.str("/member_id"), sam.id);
    assert_eq!(started.str("/admin_id"), org.admin.id);
    let imp = Auth::bearer(&token);

    let me = app.get("/api/v1/me", &imp).await;
    me.expect(200);
    assert_eq!(me.str("/id"), sam.id);
    assert_eq!(me.str("/impersonation/admin_id"), org.admin.id);
    let banner = me.header("accounts-impersonation").expect("banner header");
    assert!(
        banner.starts_with(&format!("member={}; admin={}; expires=", sam.id, org.admin.id)),
        "{banner}"
    );
    assert!(banner.ends_with('Z'));

    // Acting as the sub-user: the profile can be edited...
    let etag = app.profile_etag(&token).await;
    let saved = app
        .put_if("/api/v1/me/profile", &imp, &etag, json!({"first_name": "Sam", "company": "Acme"}))
        .await;
    saved.expect(200);
    assert!(saved.header("accounts-impersonation").is_some());
    // ...but not password, email, API keys or deletion (and errors carry the banner too).
    let refused = app
        .put(
            "/api/v1/me/password",
            &imp,
            json!({"current_password": PASSWORD, "new_password": "another long passphrase"}),
        )
        .await;
    refused.expect_problem(403, "not-while-impersonating");
    assert!(refused.header("accounts-impersonation").is_some());
    app.post_empty("/api/v1/me/email-change", &imp)
        .await
        .expect_problem(403, "not-while-impersonating");
    app.get("/api/v1/me/api-keys", &imp).await.expect_problem(403, "not-while-impersonating");
    app.post("/api/v1/me/api-keys", &imp, json!({}))
        .await
        .expect_problem(403, "not-while-impersonating");
    app.post("/api/v1/me/deletion", &imp, json!({"password": PASSWORD}))
        .await
        .expect_problem(403, "not-while-impersonating");
    // Admin pages are refused, as to the sub-user; nesting is refused.
    app.get("/api/v1/team/members", &imp).await.expect_problem(403, "admin-only");
    app.post(&path, &imp, json!({"reason": "nested"}))
        .await
        .expect_problem(409, "impersonation-active");
    // The admin's own session carries no banner.
    assert!(app.get("/api/v1/me", &admin).await.header("accounts-impersonation").is_none());

    // The audit log names the admin, acting as the sub-user.
    let audit = app.get("/api/v1/team/audit-log", &admin).await;
    let entry = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "member.profile_updated")
        .unwrap()
        .clone();
    assert_eq!(entry["actor"]["member_id"], json!(org.admin.id));
    assert_eq!(entry["acting_as"], json!(sam.id));

    app.delete("/api/v1/impersonation", &admin).await.expect_problem(409, "not-impersonating");
    app.delete("/api/v1/impersonation", &imp).await.expect(204);
    app.get("/api/v1/me", &imp).await.expect_problem(401, "unauthenticated");
    app.get("/api/v1/me", &admin).await.expect(200);
}

#[tokio::test]
async fn targets_and_endings() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let other = app.org("Beta", "bob@beta.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let dan = app.member(&org, "Dan", "dan@acme.test").await;
    let reason = json!({"reason": "support"});

    app.post(
        &format!("/api/v1/team/members/{}/impersonation", org.admin.id),
        &admin,
        reason.clone(),
    )
    .await
    .expect_problem(422, "target-is-admin");
    app.post(
        &format!("/api/v1/team/members/{}/impersonation", other.admin.id),
        &admin,
        reason.clone(),
    )
    .await
    .expect_problem(404, "not-found");
    app.post_empty(&format!("/api/v1/team/members/{}/disable", dan.id), &admin).await.expect(200);
    app.post(&format!("/api/v1/team/members/{}/impersonation", dan.id), &admin, reason.clone())
        .await
        .expect_problem(422, "target-disabled");
    app.post(
        &format!("/api/v1/team/members/{}/impersonation", org.admin.id),
        &Auth::bearer(&sam.token),
        reason.clone(),
    )
    .await
    .expect_problem(403, "admin-only");

    // Logging the admin out ends the impersonation hanging on the session.
    let started = app
        .post(&format!("/api/v1/team/members/{}/impersonation", sam.id), &admin, reason.clone())
        .await;
    let imp = Auth::bearer(&started.str("/token"));
    app.post_empty("/api/v1/auth/logout", &admin).await.expect(204);
    app.get("/api/v1/me", &imp).await.expect_problem(401, "unauthenticated");

    // An hour at most, even with activity.
    let admin = Auth::bearer(&app.login("ada@acme.test", PASSWORD).await);
    let started =
        app.post(&format!("/api/v1/team/members/{}/impersonation", sam.id), &admin, reason).await;
    let imp = Auth::bearer(&started.str("/token"));
    for _ in 0..2 {
        app.clock.advance(Duration::minutes(20));
        app.get("/api/v1/me", &admin).await.expect(200);
        app.get("/api/v1/me", &imp).await.expect(200);
    }
    app.clock.advance(Duration::minutes(21));
    app.get("/api/v1/me", &imp).await.expect_problem(401, "session-expired");
    app.get("/api/v1/me", &admin).await.expect(200);
}
