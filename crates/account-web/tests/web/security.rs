//! Cookies, CSRF, headers, log-in budgets, and sessions that are the API's own.

use crate::support::{ADMIN, App, PASSWORD, SUB, login_actor};

#[tokio::test]
async fn session_cookie_is_http_only_lax_and_host_prefixed_on_https() {
    let app = App::new("https://accounts.example").await;
    let mut b = app.browser();
    let landed = b.log_in(ADMIN, PASSWORD).await;
    assert_eq!(landed.status, 303);
    assert_eq!(landed.location.as_deref(), Some("/profile"));
    let session = b
        .set_cookies
        .iter()
        .find(|c| c.starts_with("__Host-accounts-session="))
        .unwrap_or_else(|| panic!("{:?}", b.set_cookies));
    for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(session.contains(attr), "{attr} missing: {session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    let csrf = b.set_cookies.iter().find(|c| c.starts_with("__Host-accounts-csrf=")).unwrap();
    assert!(csrf.contains("Secure") && csrf.contains("HttpOnly"), "{csrf}");
}

#[tokio::test]
async fn on_plain_http_cookies_have_no_prefix_and_no_secure() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(ADMIN, PASSWORD).await;
    let session = b.set_cookies.iter().find(|c| c.starts_with("accounts-session=")).unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"), "{session}");
    assert!(!session.contains("Secure"), "{session}");
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(ADMIN, PASSWORD).await;
    let profile = b.get("/profile").await;
    assert_eq!(profile.status, 200);
    let token = profile.csrf();
    let fields = [("timezone", "Europe/Stockholm"), ("format", "csv")];
    for csrf in [None, Some("not-the-token"), Some("")] {
        let refused = b.post("/profile/preferences", csrf, &fields).await;
        assert_eq!(refused.status, 403, "{}", refused.html);
        assert!(refused.html.contains("This form has expired"));
    }
    let actor = login_actor(&app.mem.accounts, ADMIN).await;
    let me = app.mem.accounts.profile().me(&actor).await.unwrap();
    assert_eq!(me.member.preferences.timezone.name(), "UTC", "nothing was saved");
    // With the page's token the same form goes through.
    let saved = b.post("/profile/preferences", Some(&token), &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let me = app.mem.accounts.profile().me(&actor).await.unwrap();
    assert_eq!(me.member.preferences.timezone.name(), "Europe/Stockholm");
    // The log-in form is protected too (log-in CSRF).
    let mut other = app.browser();
    let refused = other.post("/login", None, &[("email", ADMIN), ("password", PASSWORD)]).await;
    assert_eq!(refused.status, 403);
    assert!(!other.has_cookie("accounts-session"));
}

#[tokio::test]
async fn every_page_says_only_our_own_origin_and_no_caching() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    for path in ["/login", "/nope"] {
        let page = b.get(path).await;
        let h = |n: &str| page.headers.get(n).map(|v| v.to_str().unwrap().to_owned());
        let csp = h("content-security-policy").unwrap();
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(h("referrer-policy").as_deref(), Some("no-referrer"));
        assert_eq!(h("cache-control").as_deref(), Some("no-store"));
    }
    assert_eq!(b.get("/nope").await.status, 404);
}

#[test]
fn templates_have_no_inline_script_style_or_event_handlers() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), i + 1);
            assert!(!line.contains(" style=") && !line.contains("<style"), "inline style at {at}");
            assert!(
                !line.contains("<script>") && !line.contains("javascript:"),
                "inline script at {at}"
            );
            let lower = line.to_lowercase();
            for handler in [" onclick=", " onsubmit=", " onload=", " onchange=", " oninput="] {
                assert!(!lower.contains(handler), "inline handler at {at}");
            }
            for other_host in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "url(http"] {
                assert!(!lower.contains(other_host), "a resource of another host at {at}");
            }
        }
    }
}

#[tokio::test]
async fn console_sessions_are_the_apis_and_end_when_revoked() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(SUB, PASSWORD).await;
    assert_eq!(b.get("/profile").await.status, 200);
    // The console's session is in the member's session list, as the API shows it.
    let other = login_actor(&app.mem.accounts, SUB).await;
    let sessions = app.mem.accounts.auth().sessions(&other).await.unwrap();
    assert_eq!(sessions.len(), 2, "the console's session and this one: {sessions:?}");
    // Logging out everywhere else from the other session ends the console's at once.
    app.mem.accounts.auth().revoke_other_sessions(&other).await.unwrap();
    let after = b.get("/profile").await;
    assert_eq!(after.status, 303);
    assert_eq!(after.location.as_deref(), Some("/login?notice=session-ended"));
}

#[tokio::test]
async fn disabling_a_member_ends_their_console_session() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(SUB, PASSWORD).await;
    let admin = login_actor(&app.mem.accounts, ADMIN).await;
    let actor = login_actor(&app.mem.accounts, SUB).await;
    app.mem.accounts.team().disable(&admin, actor.member()).await.unwrap();
    assert_eq!(b.get("/profile").await.status, 303);
    // And they cannot log in again: the page says why.
    let again = b.log_in(SUB, PASSWORD).await;
    assert_eq!(again.status, 403);
    assert!(again.html.contains("This account is disabled"));
}

#[tokio::test]
async fn idle_sessions_end_in_the_console_too() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    b.log_in(ADMIN, PASSWORD).await;
    app.mem.clock.advance(chrono::Duration::minutes(31));
    assert_eq!(b.get("/profile").await.location.as_deref(), Some("/login?notice=session-ended"));
}

#[tokio::test]
async fn console_log_ins_spend_the_cores_log_in_budgets() {
    let app = App::new("http://127.0.0.1:8080").await;
    let mut b = app.browser();
    let wrong = b.log_in(ADMIN, "not the password at all").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.html.contains("The email or password is wrong"));
    assert!(!wrong.html.contains("not the password at all"), "the password is not echoed");
    // The right password gives its attempt back; the wrong ones spend the budget of this
    // address from this client (rule 24), the same budget the API's log-in spends.
    b.log_in(ADMIN, PASSWORD).await;
    let burst = account_core::domain::limits::rates::LOGIN_PAIR.burst;
    let mut c = app.browser();
    for _ in 1..burst {
        assert_eq!(c.log_in(ADMIN, "still not the password").await.status, 401);
    }
    let throttled = c.log_in(ADMIN, PASSWORD).await;
    assert_eq!(throttled.status, 429);
    assert!(throttled.html.contains("Try again in 2 minute(s)"), "{}", throttled.html);
    assert!(!c.has_cookie("accounts-session"));
}
