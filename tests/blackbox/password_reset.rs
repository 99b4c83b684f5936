//! Password reset over the built server (rule 22): asked for by address with the same answer
//! for an unknown one, the link and code read from the mailbox, the password set once, the
//! member's sessions ended; support sends a reset from the operator CLI.

use serde_json::json;

use crate::support::{Auth, Backend, PASSWORD, Site, backends};

const NEW_PASSWORD: &str = "a brand new passphrase";

#[test]
fn password_reset_from_the_mailbox_and_from_the_operator_cli() {
    for backend in backends("password_reset_from_the_mailbox_and_from_the_operator_cli") {
        reset_flow(backend);
    }
}

fn reset_flow(backend: Backend) {
    let site = Site::new(backend);
    let app = site.serve();
    let org = app.org("Acme", "ada@acme.test", 5);
    let sam = app.member(&org, "Sam", "sam@acme.test");

    let mark = app.mark();
    let known =
        app.post("/api/v1/auth/password-reset", &Auth::None, json!({"email": "sam@acme.test"}));
    let unknown =
        app.post("/api/v1/auth/password-reset", &Auth::None, json!({"email": "nobody@acme.test"}));
    known.expect(202);
    unknown.expect(202);
    assert_eq!(known.body, unknown.body);
    let mail = app.mail_to("sam@acme.test", &mark);
    let token = mail.reset_token();
    assert!(mail.body.contains(&format!("/reset-password?token={token}")), "{}", mail.body);

    let mark = app.mark();
    let done = app.post(
        "/api/v1/auth/password-reset/complete",
        &Auth::None,
        json!({"token": token, "password": NEW_PASSWORD}),
    );
    done.expect(200);
    assert_eq!(done.int("/sessions_ended"), 1);
    app.post(
        "/api/v1/auth/password-reset/complete",
        &Auth::None,
        json!({"token": token, "password": NEW_PASSWORD}),
    )
    .expect_problem(422, "password-reset-invalid");
    assert!(app.mail_to("sam@acme.test", &mark).body.contains("API keys still work"));
    app.get("/api/v1/me", &Auth::bearer(&sam.token)).expect(401);
    app.login("sam@acme.test", NEW_PASSWORD);

    // Support, from the command line, with the server running.
    let mark = app.mark();
    let out = site.cli(&["member", "send-password-reset", &sam.id], None);
    assert!(out.contains("queued"), "{out}");
    let token = app.mail_to("sam@acme.test", &mark).reset_token();
    app.post(
        "/api/v1/auth/password-reset/complete",
        &Auth::None,
        json!({"token": token, "password": PASSWORD}),
    )
    .expect(200);
    app.login("sam@acme.test", PASSWORD);
}
