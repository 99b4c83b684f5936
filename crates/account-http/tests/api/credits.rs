//! Credits: the team overview, allocation and reclaim (calling minutes are a kind),
//! Idempotency-Key replays, consumption through an API key (idempotent on the event id),
//! usage reports (own, team with a per-member breakdown, one member), the ledger.

use serde_json::json;

use crate::support::{Auth, Org, Person, app};

async fn setup(app: &crate::support::App) -> (Org, Person) {
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    app.grant(&org, "export", 1000).await;
    app.grant(&org, "calling_minutes", 300).await;
    (org, sam)
}

#[tokio::test]
async fn allocate_and_reclaim_within_headroom() {
    let app = app();
    let (org, sam) = setup(&app).await;
    let admin = Auth::bearer(&org.admin.token);

    let done = app.allocate(&org, &sam, "export", 600).await;
    done.expect(200);
    assert_eq!(done.int("/balance/allocated"), 600);
    assert_eq!(done.int("/pool/headroom"), 400);
    let minutes = app.allocate(&org, &sam, "calling_minutes", 120).await;
    minutes.expect(200);
    assert_eq!(minutes.str("/balance/kind"), "calling_minutes");

    let over = app.allocate(&org, &sam, "export", 401).await;
    over.expect_problem(409, "insufficient-credits");
    assert_eq!((over.str("/kind"), over.int("/available")), ("export".to_owned(), 400));
    let zero = app.allocate(&org, &sam, "export", 0).await;
    zero.expect_problem(422, "validation-failed");
    assert_eq!(zero.invalid_fields(), ["amount"]);
    app.post(
        &format!("/api/v1/team/members/{}/allocations", sam.id),
        &admin,
        json!({"kind": "gold", "amount": 1}),
    )
    .await
    .expect_problem(400, "malformed-request");
    let to_admin = app
        .post(
            &format!("/api/v1/team/members/{}/allocations", org.admin.id),
            &admin,
            json!({"kind": "export", "amount": 1}),
        )
        .await;
    to_admin.expect_problem(422, "target-is-admin");
    assert_eq!(to_admin.invalid_fields(), ["member_id"]);

    let reclaimed = app
        .post(
            &format!("/api/v1/team/members/{}/reclaims", sam.id),
            &admin,
            json!({"kind": "export", "amount": 100, "reason": "rebalance"}),
        )
        .await;
    reclaimed.expect(200);
    assert_eq!(reclaimed.int("/balance/allocated"), 500);
    app.post(
        &format!("/api/v1/team/members/{}/reclaims", sam.id),
        &admin,
        json!({"kind": "export", "amount": 501}),
    )
    .await
    .expect_problem(409, "insufficient-credits");

    let overview = app.get("/api/v1/team/credits", &admin).await;
    overview.expect(200);
    let export = overview.body["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "export")
        .unwrap()
        .clone();
    assert_eq!(
        (export["total"].as_i64(), export["allocated"].as_i64(), export["headroom"].as_i64()),
        (Some(1000), Some(500), Some(500))
    );
    let mine = app.get("/api/v1/me/credits", &Auth::bearer(&sam.token)).await;
    assert_eq!(mine.body["spends_from_pool"], false);
    let admins = app.get("/api/v1/me/credits", &admin).await;
    assert_eq!(admins.body["spends_from_pool"], true);

    // Disabled members receive nothing.
    app.post_empty(&format!("/api/v1/team/members/{}/disable", sam.id), &admin).await.expect(200);
    app.allocate(&org, &sam, "export", 1).await.expect_problem(422, "target-disabled");
}

#[tokio::test]
async fn idempotency_key_replays_the_first_response_and_refuses_another_body() {
    let app = app();
    let (org, sam) = setup(&app).await;
    let admin = Auth::bearer(&org.admin.token);
    let path = format!("/api/v1/team/members/{}/allocations", sam.id);
    let body = json!({"kind": "export", "amount": 10});

    let first = app.send("POST", &path, &admin, &[("Idempotency-Key", "k-1")], Some(&body)).await;
    first.expect(200);
    assert!(first.header("idempotent-replayed").is_none());
    let again = app.send("POST", &path, &admin, &[("Idempotency-Key", "k-1")], Some(&body)).await;
    again.expect(200);
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.body, first.body);
    let other = app
        .send(
            "POST",
            &path,
            &admin,
            &[("Idempotency-Key", "k-1")],
            Some(&json!({"kind": "export", "amount": 11})),
        )
        .await;
    other.expect_problem(422, "idempotency-key-reused");
    assert_eq!(other.invalid_fields(), ["Idempotency-Key"]);
    let bad_key =
        app.send("POST", &path, &admin, &[("Idempotency-Key", "has space")], Some(&body)).await;
    bad_key.expect_problem(400, "malformed-request");

    // Only one allocation happened.
    let ledger = app
        .get(&format!("/api/v1/team/ledger?entry_type=allocate&member_id={}", sam.id), &admin)
        .await;
    assert_eq!(ledger.body["items"].as_array().unwrap().len(), 1);

    // A failed request releases its key: the retry runs again.
    let too_much = json!({"kind": "export", "amount": 5000});
    app.send("POST", &path, &admin, &[("Idempotency-Key", "k-2")], Some(&too_much))
        .await
        .expect_problem(409, "insufficient-credits");
    app.grant(&org, "export", 5000).await;
    app.send("POST", &path, &admin, &[("Idempotency-Key", "k-2")], Some(&too_much))
        .await
        .expect(200);

    // Adding a member: the replay does not invite twice.
    let member = json!({"first_name": "Tess", "email": "tess@acme.test"});
    let mark = app.mark().await;
    let added = app
        .send(
            "POST",
            "/api/v1/team/members",
            &admin,
            &[("Idempotency-Key", "add-tess")],
            Some(&member),
        )
        .await;
    added.expect(201);
    let replay = app
        .send(
            "POST",
            "/api/v1/team/members",
            &admin,
            &[("Idempotency-Key", "add-tess")],
            Some(&member),
        )
        .await;
    replay.expect(201);
    assert_eq!(replay.str("/id"), added.str("/id"));
    assert_eq!(app.mails_to("tess@acme.test", &mark).await.len(), 1);
    // The key is the caller's: another admin's identical key is another request.
    let other_org = app.org("Beta", "bob@beta.test", 5).await;
    app.send(
        "POST",
        "/api/v1/team/members",
        &Auth::bearer(&other_org.admin.token),
        &[("Idempotency-Key", "add-tess")],
        Some(&json!({"first_name": "Tess", "email": "tess@beta.test"})),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn consumption_through_an_api_key_is_idempotent_on_the_event_id() {
    let app = app();
    let (org, sam) = setup(&app).await;
    app.allocate(&org, &sam, "export", 50).await.expect(200);
    let key = Auth::Key(app.api_key(&sam).await);
    let event = json!({"kind": "export", "amount": 5, "data_type": "email", "provider": "apollo", "event_id": "evt-1"});

    let first = app.post("/api/v1/integrations/consumptions", &key, event.clone()).await;
    first.expect(201);
    assert_eq!(first.int("/available"), 45);
    assert_eq!(first.body["replayed"], false);
    let again = app.post("/api/v1/integrations/consumptions", &key, event.clone()).await;
    again.expect(200);
    assert_eq!(again.body["replayed"], true);
    assert_eq!(again.str("/entry_id"), first.str("/entry_id"));
    let mut changed = event.clone();
    changed["amount"] = json!(6);
    let reused = app.post("/api/v1/integrations/consumptions", &key, changed).await;
    reused.expect_problem(422, "event-id-reused");
    assert_eq!(reused.invalid_fields(), ["event_id"]);

    let mut big = event.clone();
    big["event_id"] = json!("evt-2");
    big["amount"] = json!(46);
    let short = app.post("/api/v1/integrations/consumptions", &key, big).await;
    short.expect_problem(409, "insufficient-credits");
    assert_eq!(short.int("/available"), 45);
    let mut bad = event.clone();
    bad["event_id"] = json!("");
    bad["provider"] = json!("");
    let invalid = app.post("/api/v1/integrations/consumptions", &key, bad).await;
    invalid.expect_problem(422, "validation-failed");
    let mut fields = invalid.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["event_id", "provider"]);

    // Idempotency-Key works on consumption too.
    let mut third = event.clone();
    third["event_id"] = json!("evt-3");
    let a = app
        .send(
            "POST",
            "/api/v1/integrations/consumptions",
            &key,
            &[("Idempotency-Key", "c-3")],
            Some(&third),
        )
        .await;
    a.expect(201);
    let b = app
        .send(
            "POST",
            "/api/v1/integrations/consumptions",
            &key,
            &[("Idempotency-Key", "c-3")],
            Some(&third),
        )
        .await;
    // A replayed consumption answers as one replayed by its event id does: 200, `replayed`.
    assert_eq!((b.status, b.header("idempotent-replayed")), (200, Some("true".to_owned())));
    assert_eq!(
        (b.body["replayed"].as_bool(), b.str("/entry_id")),
        (Some(true), a.str("/entry_id"))
    );

    // Sessions are not API keys.
    app.post("/api/v1/integrations/consumptions", &Auth::bearer(&sam.token), event)
        .await
        .expect_problem(401, "unauthenticated");
    let mine = app.get("/api/v1/me/credits", &Auth::bearer(&sam.token)).await;
    let export = mine.body["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["kind"] == "export")
        .unwrap()
        .clone();
    assert_eq!((export["used"].as_i64(), export["available"].as_i64()), (Some(10), Some(40)));
}

#[tokio::test]
async fn usage_reports_own_team_and_member() {
    let app = app();
    let (org, sam) = setup(&app).await;
    let admin = Auth::bearer(&org.admin.token);
    app.allocate(&org, &sam, "export", 50).await.expect(200);
    let sam_key = Auth::Key(app.api_key(&sam).await);
    let admin_key = Auth::Key(app.api_key(&org.admin).await);
    for (key, event, amount, data_type) in [
        (&sam_key, "e1", 3, "email"),
        (&sam_key, "e2", 4, "phone_number"),
        (&admin_key, "e3", 10, "export"),
    ] {
        app.post(
            "/api/v1/integrations/consumptions",
            key,
            json!({"kind": "export", "amount": amount, "data_type": data_type, "provider": "apollo", "event_id": event}),
        )
        .await
        .expect(201);
    }
    let q = "from=2026-01-01&to=2026-01-31&bucket=week&timezone=Europe/Stockholm";

    let own = app.get(&format!("/api/v1/me/usage?{q}"), &Auth::bearer(&sam.token)).await;
    own.expect(200);
    assert_eq!(own.int("/total"), 7);
    assert_eq!(own.str("/timezone"), "Europe/Stockholm");
    assert!(own.body["members"].as_array().unwrap().is_empty());
    let by_type: Vec<_> =
        own.body["by_data_type"].as_array().unwrap().iter().map(|t| t["name"].clone()).collect();
    assert_eq!(by_type, [json!("email"), json!("phone_number")]);
    assert_eq!(own.str("/series/0/start"), "2025-12-29");

    let team = app.get(&format!("/api/v1/team/usage?{q}"), &admin).await;
    team.expect(200);
    assert_eq!(team.int("/total"), 17);
    let members = team.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0]["total"], 10);
    assert_eq!(members[1]["member_id"], json!(sam.id));
    assert_eq!(members[1]["name"], "Sam");

    let one = app.get(&format!("/api/v1/team/members/{}/usage?{q}", sam.id), &admin).await;
    assert_eq!(one.int("/total"), 7);
    let by_key = app.get(&format!("/api/v1/integrations/usage?{q}"), &sam_key).await;
    assert_eq!(by_key.int("/total"), 7);
    let team_by_key =
        app.get(&format!("/api/v1/integrations/usage?{q}&scope=team"), &admin_key).await;
    assert_eq!(team_by_key.int("/total"), 17);

    // Sub-users see only their own.
    app.get(&format!("/api/v1/team/usage?{q}"), &Auth::bearer(&sam.token))
        .await
        .expect_problem(403, "admin-only");
    app.get(&format!("/api/v1/integrations/usage?{q}&scope=team"), &sam_key)
        .await
        .expect_problem(403, "admin-only");
    app.get(&format!("/api/v1/team/members/{}/usage?{q}", uuid::Uuid::nil()), &admin)
        .await
        .expect_problem(404, "not-found");

    let backwards = app.get("/api/v1/me/usage?from=2026-02-01&to=2026-01-01", &admin).await;
    backwards.expect_problem(422, "validation-failed");
    assert_eq!(backwards.invalid_fields(), ["to"]);
    let zone = app
        .get("/api/v1/me/usage?from=2026-01-01&to=2026-01-02&timezone=Nowhere/City", &admin)
        .await;
    assert_eq!(zone.invalid_fields(), ["timezone"]);
    app.get("/api/v1/me/usage?from=yesterday&to=2026-01-02", &admin)
        .await
        .expect_problem(400, "malformed-request");
    app.get("/api/v1/me/usage?to=2026-01-02", &admin)
        .await
        .expect_problem(400, "malformed-request");
}

#[tokio::test]
async fn ledger_pages_and_filters() {
    let app = app();
    let (org, sam) = setup(&app).await;
    let admin = Auth::bearer(&org.admin.token);
    // The ledger is ordered by time (then id): move the fixed clock between entries.
    for _ in 0..3 {
        app.clock.advance(chrono::Duration::seconds(1));
        app.allocate(&org, &sam, "export", 1).await.expect(200);
    }
    let all = app.get("/api/v1/team/ledger", &admin).await;
    all.expect(200);
    let types: Vec<_> =
        all.body["items"].as_array().unwrap().iter().map(|e| e["entry_type"].clone()).collect();
    assert_eq!(types, ["grant", "grant", "allocate", "allocate", "allocate"]);
    assert_eq!(all.body["items"][0]["actor"]["type"], "operator");
    assert_eq!(all.body["items"][2]["actor"]["member_id"], json!(org.admin.id));

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/team/ledger?limit=2&cursor={c}"),
            None => "/api/v1/team/ledger?limit=2".to_owned(),
        };
        let page = app.get(&path, &admin).await;
        page.expect(200);
        seen.extend(page.body["items"].as_array().unwrap().iter().map(|e| e["id"].clone()));
        match page.body.get("next_cursor").and_then(|c| c.as_str()) {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let ids: Vec<_> =
        all.body["items"].as_array().unwrap().iter().map(|e| e["id"].clone()).collect();
    assert_eq!(seen, ids);

    let minutes = app.get("/api/v1/team/ledger?kind=calling_minutes", &admin).await;
    assert_eq!(minutes.body["items"].as_array().unwrap().len(), 1);
    let audit_cursor = app.get("/api/v1/team/audit-log?limit=1", &admin).await.str("/next_cursor");
    app.get(&format!("/api/v1/team/ledger?cursor={audit_cursor}"), &admin)
        .await
        .expect_problem(400, "malformed-request");
}

#[tokio::test]
async fn ledger_times_have_microseconds_and_keep_order_within_a_second() {
    let app = app();
    let (org, sam) = setup(&app).await;
    let admin = Auth::bearer(&org.admin.token);
    app.clock.advance(chrono::Duration::microseconds(1_250));
    app.allocate(&org, &sam, "export", 1).await.expect(200);
    app.clock.advance(chrono::Duration::microseconds(1_500));
    app.allocate(&org, &sam, "export", 2).await.expect(200);

    let path = "/api/v1/team/ledger?entry_type=allocate";
    let all = app.get(path, &admin).await;
    all.expect(200);
    let times: Vec<String> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(times.len(), 2);
    let parsed: Vec<_> =
        times.iter().map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap()).collect();
    // Six fractional digits, a `Z`, the same second, 1.5 ms apart, oldest first.
    for t in &times {
        let fraction = t.split('.').nth(1).unwrap();
        assert_eq!(fraction.len(), "123456Z".len(), "{t}");
        assert!(fraction.ends_with('Z'), "{t}");
    }
    assert_eq!(times[0][..19], times[1][..19], "{times:?}");
    assert!(times[0] < times[1], "{times:?}");
    assert_eq!(parsed[1] - parsed[0], chrono::Duration::microseconds(1_500));
    assert_eq!(all.body["items"][1]["amount"], 2);

    // A cursor between the two entries still splits them.
    let first = app.get(&format!("{path}&limit=1"), &admin).await;
    first.expect(200);
    assert_eq!(first.body["items"][0]["at"], times[0].as_str());
    let cursor = first.str("/next_cursor");
    let second = app.get(&format!("{path}&limit=1&cursor={cursor}"), &admin).await;
    second.expect(200);
    assert_eq!(second.body["items"][0]["at"], times[1].as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_with_one_key_allocate_once() {
    let app = std::sync::Arc::new(app());
    let (org, sam) = setup(&app).await;
    let path = format!("/api/v1/team/members/{}/allocations", sam.id);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (app, path, token) = (app.clone(), path.clone(), org.admin.token.clone());
        tasks.spawn(async move {
            let body = json!({"kind": "export", "amount": 10});
            app.send(
                "POST",
                &path,
                &Auth::bearer(&token),
                &[("Idempotency-Key", "same")],
                Some(&body),
            )
            .await
        });
    }
    while let Some(r) = tasks.join_next().await {
        let r = r.unwrap();
        // The first runs; the others replay it, or are told it is still in flight.
        match r.status {
            200 => {}
            409 => assert_eq!(r.slug(), "in-flight"),
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    let ledger = app
        .get(
            &format!("/api/v1/team/ledger?entry_type=allocate&member_id={}", sam.id),
            &Auth::bearer(&org.admin.token),
        )
        .await;
    assert_eq!(ledger.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn idempotency_keys_expire_after_a_day() {
    let app = app();
    let (org, sam) = setup(&app).await;
    let admin = Auth::bearer(&org.admin.token);
    let path = format!("/api/v1/team/members/{}/allocations", sam.id);
    app.send(
        "POST",
        &path,
        &admin,
        &[("Idempotency-Key", "daily")],
        Some(&json!({"kind": "export", "amount": 1})),
    )
    .await
    .expect(200);
    app.clock.advance(chrono::Duration::hours(25));
    let admin = Auth::bearer(&app.login("ada@acme.test", crate::support::PASSWORD).await);
    let fresh = app
        .send(
            "POST",
            &path,
            &admin,
            &[("Idempotency-Key", "daily")],
            Some(&json!({"kind": "export", "amount": 2})),
        )
        .await;
    fresh.expect(200);
    assert!(fresh.header("idempotent-replayed").is_none());
    assert_eq!(fresh.int("/balance/allocated"), 3);
}
