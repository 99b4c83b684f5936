//! The profile page over the built server: profile save / stale save / reset, preferences,
//! products and services, email change with both codes from the mailbox, password change
//! ending other sessions, sessions, API keys, and deleting one's account.

use serde_json::json;

use crate::support::{Auth, Backend, PASSWORD, Site, backends};

#[test]
fn profile_save_stale_save_reset_and_preferences() {
    for backend in backends("profile_save_stale_save_reset_and_preferences") {
        profile_flow(backend);
    }
}

/// The server keeps what it read for a session while nothing commits (on SQLite, as its WAL
/// index tells); the operator CLI, another process on the same database, changes the
/// username and (renaming the plan) the member's plan, and the next `GET /me` shows both.
#[test]
fn a_change_from_the_operator_cli_shows_on_the_next_request() {
    for backend in backends("a_change_from_the_operator_cli_shows_on_the_next_request") {
        let site = Site::new(backend);
        let app = site.serve();
        let org = app.org("Acme", "ada@acme.test", 5);
        let me = org.admin.auth();
        for _ in 0..3 {
            let read = app.get("/api/v1/me", &me);
            assert_eq!(
                (read.str("/username"), read.str("/plan")),
                ("ada".into(), "Professional".into())
            );
        }
        site.cli(&["member", "rename-username", &org.admin.id, "adalovelace"], None);
        assert_eq!(app.get("/api/v1/me", &me).str("/username"), "adalovelace");
        site.cli(
            &[
                "org",
                "set-seats",
                &org.id,
                "--plan",
                "Enterprise=5",
                "--replace",
                "Professional=Enterprise",
            ],
            None,
        );
        let read = app.get("/api/v1/me", &me);
        assert_eq!(
            (read.str("/username"), read.str("/plan")),
            ("adalovelace".into(), "Enterprise".into())
        );
    }
}

fn profile_flow(backend: Backend) {
    let site = Site::new(backend);
    let app = site.serve();
    let org = app.org("Acme", "ada@acme.test", 5);
    let me = org.admin.auth();

    let read = app.get("/api/v1/me/profile", &me);
    read.expect(200);
    let etag = read.header("etag").unwrap();
    assert_eq!(read.str("/first_name"), "Ada");
    let body = json!({
        "first_name": "Ada", "last_name": "Lovelace", "phone": "+46701234567",
        "company": "Analytical Engines", "job_title": "Programmer",
        "linkedin": "https://www.linkedin.com/in/ada",
    });
    let saved = app.put_if("/api/v1/me/profile", &me, &etag, body.clone());
    saved.expect(200);
    assert_ne!(saved.header("etag").unwrap(), etag);
    // The same save with the old version (another tab) is refused and changes nothing.
    let mut other_tab = body.clone();
    other_tab["phone"] = json!("+46709999999");
    let stale = app.put_if("/api/v1/me/profile", &me, &etag, other_tab.clone());
    stale.expect_problem(412, "stale-version");
    assert_eq!(stale.str("/current_etag"), saved.header("etag").unwrap());
    app.put("/api/v1/me/profile", &me, other_tab).expect_problem(428, "precondition-required");
    let mut bad = body.clone();
    bad["phone"] = json!("12");
    bad["linkedin"] = json!("https://example.com/ada");
    let invalid = app.put_if("/api/v1/me/profile", &me, &saved.header("etag").unwrap(), bad);
    invalid.expect_problem(422, "validation-failed");
    let mut fields: Vec<_> = invalid.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    assert_eq!(fields, ["linkedin", "phone"]);
    // Reset = read again: the saved values, not the refused ones.
    let reset = app.get("/api/v1/me/profile", &me);
    assert_eq!(reset.str("/phone"), "+46701234567");
    assert_eq!(reset.str("/linkedin"), "https://www.linkedin.com/in/ada");

    let mut prefs = app.get("/api/v1/me/preferences", &me).body.clone();
    prefs["timezone"] = json!("Europe/Stockholm");
    prefs["notifications"]["weekly_usage_digest"] = json!(true);
    app.put("/api/v1/me/preferences", &me, prefs.clone()).expect(200);
    assert_eq!(app.get("/api/v1/me/preferences", &me).str("/timezone"), "Europe/Stockholm");
    prefs["timezone"] = json!("Mars/Olympus");
    app.put("/api/v1/me/preferences", &me, prefs).expect_problem(422, "validation-failed");

    // Products and services, from the catalogue the operator keeps.
    let product =
        app.post("/api/v1/operator/products", &Auth::operator(), json!({"name": "Leads"}));
    product.expect(201);
    let offerings =
        json!({"offerings": [{"product_id": product.str("/id")}, {"text": "CRM consulting"}]});
    app.put("/api/v1/me/offerings", &me, offerings).expect(200);
    let read = app.get("/api/v1/me/offerings", &me);
    assert_eq!(read.body["offerings"].as_array().unwrap().len(), 2);
    assert_eq!(read.body["offerings"][0]["name"], "Leads");
}

#[test]
fn email_change_with_codes_from_the_mailbox() {
    for backend in backends("email_change_with_codes_from_the_mailbox") {
        email_change_flow(backend);
    }
}

fn email_change_flow(backend: Backend) {
    let site = Site::new(backend);
    let app = site.serve();
    let org = app.org("Acme", "ada@acme.test", 5);
    let me = org.admin.auth();
    let phone = Auth::bearer(&app.login("ada@acme.test", PASSWORD));
    const FLOW: &str = "/api/v1/me/email-change";

    let mark = app.mark();
    app.post_empty(FLOW, &me).expect(201);
    let code = app.mail_to("ada@acme.test", &mark).code();
    app.post(&format!("{FLOW}/current-code"), &me, json!({"code": "000000"}))
        .expect_problem(422, "code-wrong");
    let confirmed = app.post(&format!("{FLOW}/current-code"), &me, json!({"code": code}));
    confirmed.expect(200);
    assert_eq!(confirmed.str("/stage"), "awaiting_new_address");
    app.post(
        &format!("{FLOW}/new-address"),
        &me,
        json!({"new_email": "ada@new.test", "new_email_repeat": "ada@nwe.test"}),
    )
    .expect_problem(422, "validation-failed");
    let mark = app.mark();
    app.post(
        &format!("{FLOW}/new-address"),
        &me,
        json!({"new_email": "ada@new.test", "new_email_repeat": "ada@new.test"}),
    )
    .expect(200);
    let code = app.mail_to("ada@new.test", &mark).code();
    let mark = app.mark();
    let done = app.post(&format!("{FLOW}/new-code"), &me, json!({"code": code}));
    done.expect(200);
    assert_eq!(done.str("/email"), "ada@new.test");
    // The old address is told; the other session ended; the new address logs in.
    let notice = app.mail_to("ada@acme.test", &mark);
    assert!(notice.body.contains("ada@new.test"), "{}", notice.body);
    app.get("/api/v1/me", &phone).expect_problem(401, "unauthenticated");
    assert_eq!(app.get("/api/v1/me", &me).str("/email"), "ada@new.test");
    app.post(
        "/api/v1/auth/login",
        &Auth::None,
        json!({"email": "ada@acme.test", "password": PASSWORD}),
    )
    .expect_problem(401, "invalid-credentials");
    app.login("ada@new.test", PASSWORD);
}

#[test]
fn password_change_sessions_api_keys_and_deletion() {
    for backend in backends("password_change_sessions_api_keys_and_deletion") {
        account_flow(backend);
    }
}

fn account_flow(backend: Backend) {
    let site = Site::new(backend);
    let app = site.serve();
    let org = app.org("Acme", "ada@acme.test", 5);
    let admin = org.admin.auth();
    let sam = app.member(&org, "Sam", "sam@acme.test");
    let me = sam.auth();
    let laptop = Auth::bearer(&app.login("sam@acme.test", PASSWORD));
    let tablet = Auth::bearer(&app.login("sam@acme.test", PASSWORD));

    // Sessions: listed, one revoked, the others revoked.
    let list = app.get("/api/v1/auth/sessions", &me);
    list.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 3);
    let tablet_id = app.get("/api/v1/auth/sessions", &tablet).body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/api/v1/auth/sessions/{tablet_id}"), &me).expect(204);
    app.get("/api/v1/me", &tablet).expect_problem(401, "unauthenticated");

    // Password change: the current one is required; other sessions end; a mail tells.
    app.put(
        "/api/v1/me/password",
        &me,
        json!({"current_password": "wrong wrong wrong", "new_password": "a brand new passphrase"}),
    )
    .expect_problem(422, "wrong-password");
    let mark = app.mark();
    app.put(
        "/api/v1/me/password",
        &me,
        json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
    )
    .expect(204);
    assert!(app.mail_to("sam@acme.test", &mark).subject.starts_with("Your password was changed"));
    app.get("/api/v1/me", &laptop).expect_problem(401, "unauthenticated");
    app.get("/api/v1/me", &me).expect(200);
    let fresh = Auth::bearer(&app.login("sam@acme.test", "a brand new passphrase"));
    let others = app.post_empty("/api/v1/auth/sessions/revoke-others", &me);
    others.expect(200);
    assert_eq!(others.int("/ended"), 1);
    app.get("/api/v1/me", &fresh).expect_problem(401, "unauthenticated");

    // API keys: the secret once, listed by prefix, rotated (the old one stops), revoked.
    let created = app.post("/api/v1/me/api-keys", &me, json!({"label": "CRM sync"}));
    created.expect(201);
    let secret = created.str("/secret");
    let key_id = created.str("/key/id");
    assert!(secret.starts_with(&created.str("/key/prefix")));
    let listed = app.get("/api/v1/me/api-keys", &me);
    assert_eq!(listed.str("/items/0/label"), "CRM sync");
    assert!(!listed.text.contains(&secret), "a listed key shows its secret");
    let usage = "/api/v1/integrations/usage?from=2026-01-01&to=2026-01-31";
    app.get(usage, &Auth::Key(secret.clone())).expect(200);
    let rotated = app.post_empty(&format!("/api/v1/me/api-keys/{key_id}/rotate"), &me);
    rotated.expect(200);
    let new_secret = rotated.str("/secret");
    app.get(usage, &Auth::Key(secret)).expect_problem(401, "unauthenticated");
    app.get(usage, &Auth::Key(new_secret.clone())).expect(200);
    app.delete(&format!("/api/v1/me/api-keys/{}", rotated.str("/key/id")), &me).expect(204);
    app.get(usage, &Auth::Key(new_secret)).expect_problem(401, "unauthenticated");

    // Export before delete: Sam's own data as one JSON document, written as it is read; the
    // ledger entries that name Sam, and nothing of anyone else's.
    app.grant(&org, "export", 10);
    let allocations = format!("/api/v1/team/members/{}/allocations", sam.id);
    app.post(&allocations, &admin, json!({"kind": "export", "amount": 4})).expect(200);
    let export = app.get("/api/v1/me/export", &me);
    export.expect(200);
    assert_eq!(export.header("content-type").as_deref(), Some("application/json; charset=utf-8"));
    assert_eq!(export.body["member"]["email"], "sam@acme.test");
    assert_eq!(export.body["credits"]["balances"][0]["allocated"], 4);
    let ledger = export.body["ledger"].as_array().unwrap();
    assert_eq!(ledger.len(), 1, "{}", export.text);
    assert_eq!(ledger[0]["member_id"], sam.id.as_str());
    assert!(!export.text.contains("ada@acme.test"));
    // The team's ledger as CSV, for the admin.
    let csv = app.send("GET", "/api/v1/team/ledger", &admin, &[("Accept", "text/csv")], None);
    csv.expect(200);
    let lines: Vec<&str> = csv.text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("id,at,kind,entry_type,amount,member_id,"));
    assert_eq!(lines.len(), 3, "the header, the grant and the allocation: {}", csv.text);

    app.post("/api/v1/me/deletion", &me, json!({"password": "not my password"}))
        .expect_problem(422, "confirmation-failed");
    let mark = app.mark();
    app.post("/api/v1/me/deletion", &me, json!({"password": "a brand new passphrase"})).expect(204);
    assert!(app.mail_to("sam@acme.test", &mark).subject.starts_with("Your account was deleted"));
    app.get("/api/v1/me", &me).expect_problem(401, "unauthenticated");
    app.post(
        "/api/v1/auth/login",
        &Auth::None,
        json!({"email": "sam@acme.test", "password": "a brand new passphrase"}),
    )
    .expect_problem(401, "invalid-credentials");
    app.get(&format!("/api/v1/team/members/{}", sam.id), &admin).expect_problem(404, "not-found");
    // The licence is free again.
    assert_eq!(app.get("/api/v1/team/summary", &admin).int("/enabled"), 1);
}
