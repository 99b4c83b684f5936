//! What an operator watches: `/metrics` scraped from its own address without credentials and
//! from the API's address with its token, and the trace id of `traceparent` in the access log.

use serde_json::{Value, json};

use crate::support::{Auth, Backend, Site};

const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef0123456789";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn scrape(url: &str) -> (u16, String, String) {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut r = agent.get(url).call().unwrap();
    let content_type =
        r.headers().get("content-type").map_or("", |v| v.to_str().unwrap()).to_owned();
    (r.status().as_u16(), content_type, r.body_mut().read_to_string().unwrap())
}

/// The value of the sample `name{labels}` (labels as printed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn metrics_are_scraped_from_their_address_and_with_their_token_and_traces_are_logged() {
    let site = Site::new(Backend::Sqlite);
    let port = free_port();
    let mut cmd = site.serve_command();
    cmd.env("ACCOUNTS_METRICS_LISTEN", format!("127.0.0.1:{port}"))
        .env("ACCOUNTS_METRICS_TOKEN", METRICS_TOKEN);
    let app = site.start(cmd);
    let org = app.org("Acme", "ada@acme.test", 5);
    app.grant(&org, "export", 500);
    let sam = app.member(&org, "Sam", "sam@acme.test");
    app.post(
        &format!("/api/v1/team/members/{}/allocations", sam.id),
        &org.admin.auth(),
        json!({"kind": "export", "amount": 40}),
    )
    .expect(200);
    app.post(
        "/api/v1/auth/login",
        &Auth::None,
        json!({"email": "ada@acme.test", "password": "not it at all"}),
    )
    .expect(401);
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    app.send(
        "GET",
        "/api/v1/me",
        &org.admin.auth(),
        &[("traceparent", &format!("00-{trace}-00f067aa0ba902b7-01"))],
        None,
    )
    .expect(200);

    // The metrics address answers without credentials, and only /metrics.
    let url = format!("http://127.0.0.1:{port}/metrics");
    let (status, content_type, text) = scrape(&url);
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let count =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(
        count(
            r#"accounts_http_request_duration_seconds_count{operation="allocateCredits",status="200"}"#
        ),
        1.0
    );
    assert!(
        count(r#"accounts_http_request_duration_seconds_count{operation="login",status="200"}"#)
            >= 2.0
    );
    assert!(text.contains(r#"accounts_http_request_duration_seconds_bucket{le="0.1",operation="getMe",status="200"}"#)
        || text.contains(r#"accounts_http_request_duration_seconds_bucket{operation="getMe",status="200",le="0.1"}"#), "{text}");
    assert_eq!(count(r#"accounts_logins_total{outcome="invalid_credentials"}"#), 1.0);
    assert!(count(r#"accounts_logins_total{outcome="success"}"#) >= 2.0);
    assert_eq!(count(r#"accounts_credit_movements_total{type="grant",kind="export"}"#), 1.0);
    assert_eq!(count(r#"accounts_credits_moved_total{type="allocate",kind="export"}"#), 40.0);
    assert!(count(r#"accounts_db_pool_connections{state="idle"}"#) >= 0.0);
    assert!(count(r#"accounts_db_pool_connections{state="in_use"}"#) >= 0.0);
    assert_eq!(count("accounts_db_pool_max_connections"), 4.0);
    assert!(count(r#"accounts_db_unit_open_seconds_count{unit="write"}"#) >= 3.0);
    assert!(count(r#"accounts_db_unit_open_seconds_count{unit="read"}"#) >= 1.0);
    assert!(count(r#"accounts_db_pool_waits_total{unit="write"}"#) >= 0.0);
    assert!(count("accounts_mail_outbox_backlog") >= 0.0);
    // Sam's invitation went out before Sam could accept it.
    assert!(count("accounts_mail_deliveries_total") >= 1.0);
    assert_eq!(count("accounts_mail_delivery_failures_total"), 0.0);
    assert!(!text.contains("acme.test") && !text.contains(&sam.id), "no personal data or ids");
    let (status, _, _) = scrape(&format!("http://127.0.0.1:{port}/api/v1/health"));
    assert_eq!(status, 404);

    // On the API's address, /metrics needs its token.
    app.get("/metrics", &Auth::None).expect_problem(401, "unauthenticated");
    app.get("/metrics", &Auth::bearer("metrics-token-but-not-the-right-one-00000"))
        .expect_problem(401, "unauthenticated");
    let r = app.get("/metrics", &Auth::bearer(METRICS_TOKEN));
    r.expect(200);
    assert!(r.text.contains("accounts_http_request_duration_seconds"));

    // A throttled log-in is counted as such: the address's budget from one client is ten
    // attempts, so the eleventh at the latest is refused.
    let throttled = (0..20).any(|_| {
        app.post(
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": "nobody@acme.test", "password": "wrong again, and again"}),
        )
        .status
            == 429
    });
    assert!(throttled, "twenty wrong log-ins for one address were never refused");
    let (_, _, text) = scrape(&url);
    assert!(sample(&text, r#"accounts_logins_total{outcome="throttled"}"#).is_some(), "{text}");
    assert!(sample(&text, r#"accounts_throttle_refusals_total{operation="login"}"#).is_some());

    let log = app.stop();
    let events: Vec<Value> = log.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let traced = events
        .iter()
        .find(|e| e["message"] == "request served" && e["trace_id"] == trace)
        .expect("the incoming trace id is in the access log");
    assert_eq!(traced["operation"], "getMe");
    let others: Vec<&Value> = events
        .iter()
        .filter(|e| e["message"] == "request served" && e["trace_id"] != trace)
        .collect();
    assert!(others.iter().all(|e| e["trace_id"].as_str().is_some_and(|t| t.len() == 32)));
}

#[test]
fn the_operators_mail_templates_give_every_mail_a_text_and_an_html_part() {
    let site = Site::new(Backend::Sqlite);
    let templates = site.dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(templates.join("layout.txt"), "ACME-TEXT-TOP\n\n{{body}}\n").unwrap();
    std::fs::write(
        templates.join("layout.html"),
        "<html><body><h1>ACME-HTML {{subject}}</h1>\n{{body}}\n</body></html>\n",
    )
    .unwrap();
    let mut cmd = site.serve_command();
    cmd.env("ACCOUNTS_MAIL_TEMPLATES_DIR", &templates);
    let app = site.start(cmd);
    let org = app.org("Acme", "ada@acme.test", 5);
    let mark = app.mark();
    app.post_empty("/api/v1/me/email-change", &org.admin.auth()).expect(201);
    let mail = app.mail_to("ada@acme.test", &mark);
    let raw = std::fs::read_to_string(site.mailbox().join(&mail.file)).unwrap();
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(raw.contains("text/plain") && raw.contains("text/html"), "{raw}");
    assert!(raw.contains("ACME-TEXT-TOP") && raw.contains("ACME-HTML"), "{raw}");
    assert!(raw.contains("<p>"), "the body's paragraphs are HTML paragraphs: {raw}");
    assert_eq!(mail.code().len(), 6, "the code is still there to read");
    app.stop();

    // A layout that would drop the body stops the server at start, naming the setting.
    std::fs::write(templates.join("layout.html"), "<p>Hello from ACME</p>").unwrap();
    let mut cmd = site.serve_command();
    let out = cmd.env("ACCOUNTS_MAIL_TEMPLATES_DIR", &templates).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ACCOUNTS_MAIL_TEMPLATES_DIR") && err.contains("{{body}}"), "{err}");
}
