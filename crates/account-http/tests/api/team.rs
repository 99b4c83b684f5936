//! The team page: summary, adding sub-users within the licence count, the enabled and disabled
//! tabs, invitations, member profiles, disabling (sessions and keys stop at once) and
//! re-enabling, roles, members' API keys.

use serde_json::json;

use crate::support::{Auth, PASSWORD, app, invitation_token};

#[tokio::test]
async fn add_within_licences_and_refusal_beyond() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 3).await;
    let admin = Auth::bearer(&org.admin.token);

    let summary = app.get("/api/v1/team/summary", &admin).await;
    summary.expect(200);
    assert_eq!(
        (summary.int("/enabled"), summary.int("/disabled"), summary.int("/licences")),
        (1, 0, 3)
    );
    assert_eq!(
        summary.body["plans"],
        json!([{"plan": "Professional", "licences": 3, "enabled": 1, "disabled": 0}])
    );

    let mark = app.mark().await;
    let added = app
        .post(
            "/api/v1/team/members",
            &admin,
            json!({"first_name": "Sam", "last_name": "Sub", "email": "sam@acme.test"}),
        )
        .await;
    added.expect(201);
    let sam = added.str("/id");
    assert_eq!(added.header("location").unwrap(), format!("/api/v1/team/members/{sam}"));
    assert_eq!(added.str("/name"), "Sam Sub");
    assert_eq!(added.str("/role"), "sub_user");
    assert_eq!(added.body["invitation_pending"], true);
    // A new sub-user gets no credits.
    assert!(added.body["credits"].as_array().unwrap().iter().all(|b| b["allocated"] == 0));
    let invitation = app.mail_to("sam@acme.test", &mark).await;
    assert!(invitation.subject.contains("Acme"));

    app.post(
        "/api/v1/team/members",
        &admin,
        json!({"first_name": "Tess", "email": "tess@acme.test"}),
    )
    .await
    .expect(201);
    // Pending invitations hold a licence: 3 of 3 are taken.
    let full = app
        .post(
            "/api/v1/team/members",
            &admin,
            json!({"first_name": "Ugo", "email": "ugo@acme.test"}),
        )
        .await;
    full.expect_problem(409, "no-free-licence");
    assert!(full.str("/detail").contains('3'));

    let dup = app
        .post(
            "/api/v1/team/members",
            &admin,
            json!({"first_name": "Sam", "email": "SAM@acme.test"}),
        )
        .await;
    dup.expect_problem(409, "no-free-licence");
    let invalid =
        app.post("/api/v1/team/members", &admin, json!({"first_name": "", "email": "nope"})).await;
    invalid.expect_problem(422, "validation-failed");
    let mut fields = invalid.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["email", "first_name"]);

    let summary = app.get("/api/v1/team/summary", &admin).await;
    assert_eq!(summary.int("/enabled"), 3);
}

#[tokio::test]
async fn taken_emails_and_invitation_resend() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);
    app.post(
        "/api/v1/team/members",
        &admin,
        json!({"first_name": "Ada", "email": "ADA@acme.test"}),
    )
    .await
    .expect_problem(409, "email-taken");

    let mark = app.mark().await;
    let tina = app
        .post(
            "/api/v1/team/members",
            &admin,
            json!({"first_name": "Tina", "email": "tina@acme.test"}),
        )
        .await;
    let tina_id = tina.str("/id");
    let first = invitation_token(&app.mail_to("tina@acme.test", &mark).await);
    let mark = app.mark().await;
    app.post_empty(&format!("/api/v1/team/members/{tina_id}/invitation"), &admin).await.expect(200);
    let second = invitation_token(&app.mail_to("tina@acme.test", &mark).await);
    assert_ne!(first, second);
    app.post("/api/v1/auth/invitation", &Auth::None, json!({"token": first, "password": PASSWORD}))
        .await
        .expect_problem(422, "invitation-invalid");
    app.post(
        "/api/v1/auth/invitation",
        &Auth::None,
        json!({"token": second, "password": PASSWORD}),
    )
    .await
    .expect(200);
    app.post_empty(&format!("/api/v1/team/members/{tina_id}/invitation"), &admin)
        .await
        .expect_problem(409, "not-invited");
    app.post_empty(&format!("/api/v1/team/members/{}/invitation", uuid::Uuid::nil()), &admin)
        .await
        .expect_problem(404, "not-found");
}

#[tokio::test]
async fn tabs_member_profile_and_other_organisations() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let other = app.org("Beta", "bob@beta.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let dan = app.member(&org, "Dan", "dan@acme.test").await;
    app.post_empty(&format!("/api/v1/team/members/{}/disable", dan.id), &admin).await.expect(200);

    let enabled = app.get("/api/v1/team/members?status=enabled", &admin).await;
    enabled.expect(200);
    let names: Vec<_> =
        enabled.body["items"].as_array().unwrap().iter().map(|m| m["name"].clone()).collect();
    assert_eq!(names, [json!("Ada Admin"), json!("Sam")]);
    let row = &enabled.body["items"][1];
    assert_eq!(row["email"], "sam@acme.test");
    assert_eq!(row["plan"], "Professional");
    assert_eq!(row["credits"].as_array().unwrap().len(), 4);
    let disabled = app.get("/api/v1/team/members?status=disabled", &admin).await;
    assert_eq!(disabled.body["items"][0]["id"], json!(dan.id));
    app.get("/api/v1/team/members?status=gone", &admin)
        .await
        .expect_problem(400, "malformed-request");

    // Paging.
    let page = app.get("/api/v1/team/members?limit=2", &admin).await;
    let next = page.str("/next_cursor");
    let rest = app.get(&format!("/api/v1/team/members?limit=2&cursor={next}"), &admin).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 1);

    // The member's profile, edited by the admin with If-Match.
    let path = format!("/api/v1/team/members/{}/profile", sam.id);
    let read = app.get(&path, &admin).await;
    read.expect(200);
    let etag = read.header("etag").unwrap();
    let edited = app
        .put_if(&path, &admin, &etag, json!({"first_name": "Samuel", "job_title": "Seller"}))
        .await;
    edited.expect(200);
    assert_eq!(edited.header("etag").as_deref(), Some("\"2\""));
    app.put_if(&path, &admin, &etag, json!({"first_name": "Sam"}))
        .await
        .expect_problem(412, "stale-version");
    app.put(&path, &admin, json!({"first_name": "Sam"}))
        .await
        .expect_problem(428, "precondition-required");
    app.put_if(&path, &admin, "\"2\"", json!({"first_name": "Sam", "phone": "12"}))
        .await
        .expect_problem(422, "validation-failed");
    assert_eq!(
        app.get("/api/v1/me/profile", &Auth::bearer(&sam.token)).await.str("/first_name"),
        "Samuel"
    );
    assert_eq!(
        app.get(&format!("/api/v1/team/members/{}", sam.id), &admin).await.str("/name"),
        "Samuel"
    );

    // Members of another organisation read as absent; a sub-user has no team page.
    let bob = Auth::bearer(&other.admin.token);
    app.get(&format!("/api/v1/team/members/{}", sam.id), &bob)
        .await
        .expect_problem(404, "not-found");
    app.get(&path, &bob).await.expect_problem(404, "not-found");
    app.get("/api/v1/team/members", &Auth::bearer(&sam.token))
        .await
        .expect_problem(403, "admin-only");
}

#[tokio::test]
async fn disable_stops_sessions_and_keys_at_once_and_reenable_needs_a_licence() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 2).await;
    let admin = Auth::bearer(&org.admin.token);
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let key = app.api_key(&sam).await;
    let usage = "/api/v1/integrations/usage?from=2026-01-01&to=2026-01-31";
    app.get(usage, &Auth::Key(key.clone())).await.expect(200);

    let disabled =
        app.post_empty(&format!("/api/v1/team/members/{}/disable", sam.id), &admin).await;
    disabled.expect(200);
    assert_eq!(disabled.str("/status"), "disabled");
    app.get("/api/v1/me", &Auth::bearer(&sam.token)).await.expect_problem(401, "unauthenticated");
    app.get(usage, &Auth::Key(key.clone())).await.expect_problem(401, "unauthenticated");
    app.post("/api/v1/auth/login", &Auth::None, json!({"email": sam.email, "password": PASSWORD}))
        .await
        .expect_problem(403, "account-disabled");
    let summary = app.get("/api/v1/team/summary", &admin).await;
    assert_eq!((summary.int("/enabled"), summary.int("/disabled")), (1, 1));

    // The freed licence is taken; re-enabling needs one.
    app.post(
        "/api/v1/team/members",
        &admin,
        json!({"first_name": "Tess", "email": "tess@acme.test"}),
    )
    .await
    .expect(201);
    app.post_empty(&format!("/api/v1/team/members/{}/enable", sam.id), &admin)
        .await
        .expect_problem(409, "no-free-licence");
    app.put(
        &format!("/api/v1/operator/organisations/{}/seats", org.id),
        &Auth::operator(),
        json!({}),
    )
    .await
    .expect_problem(400, "malformed-request");
    app.put(
        &format!("/api/v1/operator/organisations/{}/seats", org.id),
        &Auth::operator(),
        json!({"plans": [{"plan": "Professional", "licences": 3}]}),
    )
    .await
    .expect(200);
    let enabled = app.post_empty(&format!("/api/v1/team/members/{}/enable", sam.id), &admin).await;
    enabled.expect(200);
    assert_eq!(enabled.str("/status"), "enabled");
    // Data was kept: the key works again, and the member can log in.
    app.get(usage, &Auth::Key(key)).await.expect(200);
    app.login(&sam.email, PASSWORD).await;

    // The last enabled admin cannot be disabled or demoted.
    app.post_empty(&format!("/api/v1/team/members/{}/disable", org.admin.id), &admin)
        .await
        .expect_problem(409, "last-admin");
    app.put(
        &format!("/api/v1/team/members/{}/role", org.admin.id),
        &admin,
        json!({"role": "sub_user"}),
    )
    .await
    .expect_problem(409, "last-admin");
}

#[tokio::test]
async fn roles_and_members_api_keys() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let tom = app.member(&org, "Tom", "tom@acme.test").await;
    let key = app.api_key(&sam).await;

    let keys = app.get(&format!("/api/v1/team/members/{}/api-keys", sam.id), &admin).await;
    keys.expect(200);
    let key_id = keys.str("/items/0/id");
    assert!(key.starts_with(&keys.str("/items/0/prefix")));
    assert!(!keys.text.contains(&key));
    // The path names the member: a key of someone else is not found there.
    app.delete(&format!("/api/v1/team/members/{}/api-keys/{key_id}", tom.id), &admin)
        .await
        .expect_problem(404, "not-found");
    app.delete(&format!("/api/v1/team/members/{}/api-keys/{key_id}", sam.id), &admin)
        .await
        .expect(204);
    app.get("/api/v1/integrations/usage?from=2026-01-01&to=2026-01-02", &Auth::Key(key))
        .await
        .expect_problem(401, "unauthenticated");

    let promoted = app
        .put(&format!("/api/v1/team/members/{}/role", sam.id), &admin, json!({"role": "admin"}))
        .await;
    promoted.expect(200);
    assert_eq!(promoted.str("/role"), "admin");
    app.get("/api/v1/team/summary", &Auth::bearer(&sam.token)).await.expect(200);
    app.put(&format!("/api/v1/team/members/{}/role", sam.id), &admin, json!({"role": "owner"}))
        .await
        .expect_problem(400, "malformed-request");
    app.put(
        &format!("/api/v1/team/members/{}/role", org.admin.id),
        &Auth::bearer(&sam.token),
        json!({"role": "sub_user"}),
    )
    .await
    .expect(200);
    app.get("/api/v1/team/summary", &admin).await.expect_problem(403, "admin-only");
}

/// Rule 23 over HTTP: licences per plan (pending invitations included), the plan named when
/// the organisation has several, plan changes and re-enabling within a plan's free seats, and
/// the summary per plan.
#[tokio::test]
async fn seats_per_plan_hold_licences_plan_changes_and_the_summary() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 2).await;
    let admin = Auth::bearer(&org.admin.token);
    app.put(
        &format!("/api/v1/operator/organisations/{}/seats", org.id),
        &Auth::operator(),
        json!({"plans": [{"plan": "Professional", "licences": 2}, {"plan": "Basic", "licences": 1}]}),
    )
    .await
    .expect(200);
    let add = |email: &str, plan: Option<&str>| {
        let mut body = json!({"first_name": "N", "email": email});
        if let Some(plan) = plan {
            body["plan"] = json!(plan);
        }
        app.post("/api/v1/team/members", &admin, body)
    };
    let unnamed = add("a@acme.test", None).await;
    unnamed.expect_problem(422, "validation-failed");
    assert_eq!(unnamed.str("/errors/0/field"), "plan");
    assert!(unnamed.str("/errors/0/message").contains("Professional, Basic"));
    let basic = add("b@acme.test", Some("Basic")).await;
    basic.expect(201);
    assert_eq!(basic.str("/plan"), "Basic");
    let b = basic.str("/id").to_owned();
    // Basic's one licence is held by the pending invitation; Professional has one free.
    add("c@acme.test", Some("Basic")).await.expect_problem(409, "no-free-licence");
    let pro = add("p@acme.test", Some("Professional")).await;
    pro.expect(201);
    let p = pro.str("/id").to_owned();
    let summary = app.get("/api/v1/team/summary", &admin).await;
    assert_eq!((summary.int("/enabled"), summary.int("/licences")), (3, 3));
    assert_eq!(
        summary.body["plans"],
        json!([
            {"plan": "Professional", "licences": 2, "enabled": 2, "disabled": 0},
            {"plan": "Basic", "licences": 1, "enabled": 1, "disabled": 0},
        ])
    );
    // Moving an enabled member needs a free seat on the new plan.
    let plan_of = |id: &str| format!("/api/v1/team/members/{id}/plan");
    app.put(&plan_of(&b), &admin, json!({"plan": "Professional"}))
        .await
        .expect_problem(409, "no-free-licence");
    app.put(&plan_of(&b), &admin, json!({"plan": "Gold"}))
        .await
        .expect_problem(422, "validation-failed");
    // A disabled member holds none: p moves to Basic freely, but cannot come back while b
    // holds Basic's licence; back on Professional, it can.
    app.post_empty(&format!("/api/v1/team/members/{p}/disable"), &admin).await.expect(200);
    let moved = app.put(&plan_of(&p), &admin, json!({"plan": "basic"})).await;
    moved.expect(200);
    assert_eq!(moved.str("/plan"), "Basic");
    app.post_empty(&format!("/api/v1/team/members/{p}/enable"), &admin)
        .await
        .expect_problem(409, "no-free-licence");
    app.put(&plan_of(&p), &admin, json!({"plan": "Professional"})).await.expect(200);
    app.post_empty(&format!("/api/v1/team/members/{p}/enable"), &admin).await.expect(200);
    let listed = app.get("/api/v1/team/members?status=enabled", &admin).await;
    let plans: Vec<_> =
        listed.body["items"].as_array().unwrap().iter().map(|m| m["plan"].clone()).collect();
    assert_eq!(plans.iter().filter(|p| **p == "Basic").count(), 1);
    assert_eq!(plans.iter().filter(|p| **p == "Professional").count(), 2);
    // Each member reads their own plan.
    let me = app.get("/api/v1/me", &admin).await;
    assert_eq!(me.str("/plan"), "Professional");
}
