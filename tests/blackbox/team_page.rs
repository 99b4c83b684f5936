//! The team page over the built server, with the organisation and its pools set up by the
//! operator CLI: add sub-users within the licences (invitation from the mailbox), allocate,
//! consume through an API key, usage reports, disable, a plan change and re-enable, impersonate
//! and stop.

use serde_json::json;

use crate::support::{Auth, Backend, Org, PASSWORD, Person, Site, backends};

#[test]
fn team_page_from_licences_to_impersonation() {
    for backend in backends("team_page_from_licences_to_impersonation") {
        team_flow(backend);
    }
}

fn team_flow(backend: Backend) {
    let site = Site::new(backend);
    // The operator sets the organisation up from the command line, with the server running.
    let app = site.serve();
    let created = site.cli(
        &[
            "org",
            "create",
            "--name",
            "Acme",
            "--registration-number",
            "556677-8899",
            "--plan",
            "Professional",
            "--licences",
            "3",
            "--admin-email",
            "ada@acme.test",
            "--admin-first-name",
            "Ada",
            "--admin-password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    let org_id = created
        .strip_prefix("created organisation ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected output: {created}"))
        .to_owned();
    for (kind, amount) in [("export", "1000"), ("calling_minutes", "300")] {
        let out =
            site.cli(&["credits", "grant", &org_id, kind, amount, "--reason", "invoice 1"], None);
        assert!(out.contains(amount), "{out}");
    }
    let bad = site.cli_output(&["credits", "grant", &org_id, "gold", "5", "--reason", "x"], None);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("gold"));

    let token = app.login("ada@acme.test", PASSWORD);
    let org = Org {
        id: org_id,
        admin: Person { id: app.get("/api/v1/me", &Auth::bearer(&token)).str("/id"), token },
    };
    let admin = org.admin.auth();
    let summary = app.get("/api/v1/team/summary", &admin);
    assert_eq!(
        (summary.int("/enabled"), summary.int("/disabled"), summary.int("/licences")),
        (1, 0, 3)
    );

    // Sub-users within the licence count; the invitation arrives by mail.
    let sam = app.member(&org, "Sam", "sam@acme.test");
    let key = "add-tess-1";
    let tess_body = json!({"first_name": "Tess", "email": "tess@acme.test"});
    let tess = app.send(
        "POST",
        "/api/v1/team/members",
        &admin,
        &[("Idempotency-Key", key)],
        Some(&tess_body),
    );
    tess.expect(201);
    let again = app.send(
        "POST",
        "/api/v1/team/members",
        &admin,
        &[("Idempotency-Key", key)],
        Some(&tess_body),
    );
    assert_eq!((again.status, again.str("/id")), (201, tess.str("/id")));
    app.post(
        "/api/v1/team/members",
        &admin,
        json!({"first_name": "Ugo", "email": "ugo@acme.test"}),
    )
    .expect_problem(409, "no-free-licence");

    // Allocation from the pools, within the headroom.
    let alloc = format!("/api/v1/team/members/{}/allocations", sam.id);
    let done = app.send(
        "POST",
        &alloc,
        &admin,
        &[("Idempotency-Key", "alloc-1")],
        Some(&json!({"kind": "export", "amount": 600, "reason": "Q1"})),
    );
    done.expect(200);
    assert_eq!(done.int("/balance/allocated"), 600);
    assert_eq!(done.int("/pool/headroom"), 400);
    app.post(&alloc, &admin, json!({"kind": "calling_minutes", "amount": 120})).expect(200);
    let over = app.post(&alloc, &admin, json!({"kind": "export", "amount": 401}));
    over.expect_problem(409, "insufficient-credits");
    assert_eq!(over.int("/available"), 400);

    // Consumption through Sam's API key, idempotent on the event id.
    let created = app.post("/api/v1/me/api-keys", &sam.auth(), json!({"label": "CRM"}));
    let sam_key = Auth::Key(created.str("/secret"));
    let consumption = |amount: i64, data_type: &str, event: &str| {
        json!({"kind": "export", "amount": amount, "data_type": data_type,
               "provider": "apollo", "event_id": event})
    };
    let event = consumption(5, "email", "evt-1");
    let first = app.post("/api/v1/integrations/consumptions", &sam_key, event.clone());
    first.expect(201);
    assert_eq!(first.int("/available"), 595);
    let replay = app.post("/api/v1/integrations/consumptions", &sam_key, event.clone());
    replay.expect(200);
    assert_eq!(replay.body["replayed"], true);
    let mut changed = event;
    changed["amount"] = json!(6);
    app.post("/api/v1/integrations/consumptions", &sam_key, changed)
        .expect_problem(422, "event-id-reused");
    let more = consumption(7, "phone_number", "evt-2");
    app.post("/api/v1/integrations/consumptions", &sam_key, more).expect(201);

    // Usage reports: own, team with a per-member breakdown, one member, by API key.
    let ledger = app.get(&format!("/api/v1/team/ledger?member_id={}", sam.id), &admin);
    let year = &ledger.str("/items/0/at")[..4];
    let q = format!("from={year}-01-01&to={year}-12-31&bucket=month");
    let own = app.get(&format!("/api/v1/me/usage?{q}"), &sam.auth());
    own.expect(200);
    assert_eq!(own.int("/total"), 12);
    let team = app.get(&format!("/api/v1/team/usage?{q}"), &admin);
    assert_eq!(team.int("/total"), 12);
    let members = team.body["members"].as_array().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["member_id"], json!(sam.id));
    assert_eq!(app.get(&format!("/api/v1/integrations/usage?{q}"), &sam_key).int("/total"), 12);
    let mine = app.get("/api/v1/me/credits", &sam.auth());
    let export = mine.of_kind("/balances", "export");
    assert_eq!((export["used"].as_i64(), export["available"].as_i64()), (Some(12), Some(588)));
    let export = app.get("/api/v1/team/credits", &admin).of_kind("/pools", "export");
    assert_eq!(
        (export["total"].as_i64(), export["allocated"].as_i64(), export["used"].as_i64()),
        (Some(1000), Some(600), Some(12))
    );

    // Disable: Sam's session and key stop at once, log-in is refused; re-enable needs a licence.
    let member = format!("/api/v1/team/members/{}", sam.id);
    app.post_empty(&format!("{member}/disable"), &admin).expect(200);
    app.get("/api/v1/me", &sam.auth()).expect_problem(401, "unauthenticated");
    app.get(&format!("/api/v1/integrations/usage?{q}"), &sam_key)
        .expect_problem(401, "unauthenticated");
    app.post(
        "/api/v1/auth/login",
        &Auth::None,
        json!({"email": "sam@acme.test", "password": PASSWORD}),
    )
    .expect_problem(403, "account-disabled");
    let disabled = app.get("/api/v1/team/members?status=disabled", &admin);
    assert_eq!(disabled.body["items"][0]["id"], json!(sam.id));
    // While Sam is disabled the licence is free: Ugo takes it, and Sam cannot come back.
    app.post(
        "/api/v1/team/members",
        &admin,
        json!({"first_name": "Ugo", "email": "ugo@acme.test"}),
    )
    .expect(201);
    app.post_empty(&format!("{member}/enable"), &admin).expect_problem(409, "no-free-licence");
    // Support adds a plan with one licence (rule 23). Sam's plan is still full, so the admin
    // moves Sam's seat to the new plan (a disabled member moves freely) and Sam comes back.
    let out = site
        .cli(&["org", "set-seats", &org.id, "--plan", "Professional=3", "--plan", "Basic=1"], None);
    assert!(out.contains("now has plans Professional:3,Basic:1"), "{out}");
    app.post_empty(&format!("{member}/enable"), &admin).expect_problem(409, "no-free-licence");
    let moved = app.put(&format!("{member}/plan"), &admin, json!({"plan": "Basic"}));
    moved.expect(200);
    assert_eq!(moved.str("/plan"), "Basic");
    app.post_empty(&format!("{member}/enable"), &admin).expect(200);
    let summary = app.get("/api/v1/team/summary", &admin);
    assert_eq!(
        summary.body["plans"],
        json!([
            {"plan": "Professional", "licences": 3, "enabled": 3, "disabled": 0},
            {"plan": "Basic", "licences": 1, "enabled": 1, "disabled": 0},
        ])
    );
    let sam_again = Person { token: app.login("sam@acme.test", PASSWORD), ..sam.clone() };
    // Data is kept.
    assert_eq!(
        app.get("/api/v1/me/credits", &sam_again.auth()).body["balances"],
        mine.body["balances"]
    );

    // Impersonation: a session acting as Sam, with the banner header; stop returns.
    let path = format!("{member}/impersonation");
    let started = app.post(&path, &admin, json!({"reason": "ticket 4711"}));
    started.expect(201);
    let imp = Auth::bearer(&started.str("/token"));
    let me = app.get("/api/v1/me", &imp);
    assert_eq!(me.str("/id"), sam.id);
    assert!(me.header("accounts-impersonation").unwrap().contains(&org.admin.id));
    let etag = app.get("/api/v1/me/profile", &imp).header("etag").unwrap();
    app.put_if("/api/v1/me/profile", &imp, &etag, json!({"first_name": "Sam", "company": "Acme"}))
        .expect(200);
    app.put(
        "/api/v1/me/password",
        &imp,
        json!({"current_password": PASSWORD, "new_password": "another long passphrase"}),
    )
    .expect_problem(403, "not-while-impersonating");
    let audit = app.get("/api/v1/team/audit-log", &admin);
    let entry = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "member.profile_updated")
        .unwrap()
        .clone();
    assert_eq!(
        (entry["actor"]["member_id"].clone(), entry["acting_as"].clone()),
        (json!(org.admin.id), json!(sam.id))
    );
    app.delete("/api/v1/impersonation", &imp).expect(204);
    app.get("/api/v1/me", &imp).expect_problem(401, "unauthenticated");
    assert!(app.get("/api/v1/me", &admin).header("accounts-impersonation").is_none());
}
