//! Serving over a real socket (port 0) with graceful shutdown, and the access log: one line
//! per request with method, route template, status, latency and request id, and no secrets.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use account_http::{HttpConfig, HttpServer};
use account_memory::InMemory;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Auth, Fault, PASSWORD, app, faulty_app};

#[tokio::test]
async fn binds_port_zero_serves_and_shuts_down_gracefully() {
    capture();
    let mem = InMemory::new(1);
    let server = HttpServer::new(mem.accounts.clone(), HttpConfig::default());
    let bound = server.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = bound.local_addr().unwrap();
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(bound.run(async move {
        let _ = stopped.await;
    }));

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("x-request-id"), "{answer}");
    assert!(answer.contains("{\"status\":\"ok\"}"), "{answer}");

    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "still listening after shutdown");
}

#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The log of the whole test process. A global subscriber, not a thread-local one: events of
/// thread-local subscribers can be lost while other threads register callsites. It is
/// installed before any app is built (by `support`), so no callsite can cache "no interest"
/// while it is being set. Tests pick their own lines out by request id.
pub(crate) fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            // Plain text whatever features the workspace unifies: `cargo test --workspace`
            // turns tracing-subscriber's `ansi` on (the server needs it), and escape codes
            // between `key` and `=value` would hide every line from the filters below.
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        capture
    })
}

#[tokio::test]
async fn one_access_line_per_request_and_no_secrets_in_the_log() {
    let log = capture();
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let key = app.api_key(&org.admin).await;
    let admin = Auth::bearer(&org.admin.token);
    let member = format!("/api/v1/team/members/{}", org.admin.id);
    let login = json!({"email": "ada@acme.test", "password": "the wrong password"});
    let requests: [(&str, &str, Auth, Option<serde_json::Value>, u16); 5] = [
        ("GET", "/api/v1/me", admin.clone(), None, 200),
        ("GET", &member, admin.clone(), None, 200),
        (
            "GET",
            "/api/v1/integrations/usage?from=2026-01-01&to=2026-01-02",
            Auth::Key(key.clone()),
            None,
            200,
        ),
        ("POST", "/api/v1/auth/login", Auth::None, Some(login), 401),
        ("GET", "/api/v1/nowhere", Auth::None, None, 404),
    ];
    for (i, (method, path, auth, body, status)) in requests.iter().enumerate() {
        let id = format!("log-test-{i}");
        app.send(method, path, auth, &[("X-Request-Id", &id)], body.as_ref()).await.expect(*status);
    }

    let text = log.text();
    let access: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("request served") && l.contains("request_id=log-test-"))
        .collect();
    assert_eq!(access.len(), 5, "{text}");
    let me = access.iter().find(|l| l.contains("request_id=log-test-0")).unwrap();
    for part in
        ["method=GET", "route=/api/v1/me", "operation=\"getMe\"", "status=200", "latency_ms="]
    {
        assert!(me.contains(part), "{part} missing in {me}");
    }
    // The route is the template, not the concrete path.
    let member_line = access.iter().find(|l| l.contains("request_id=log-test-1")).unwrap();
    assert!(member_line.contains("route=/api/v1/team/members/{member_id}"), "{member_line}");
    assert!(!member_line.contains(&org.admin.id));
    assert!(access.iter().any(|l| l.contains("request_id=log-test-4") && l.contains("status=404")));
    // Nothing secret anywhere in the log of the whole test run so far.
    for secret in [
        PASSWORD,
        "the wrong password",
        org.admin.token.as_str(),
        key.as_str(),
        crate::support::OPERATOR_TOKEN,
    ] {
        assert!(!text.contains(secret), "a secret reached the log");
    }
}

#[tokio::test]
async fn internal_errors_are_logged_with_their_request_id_and_cause() {
    let log = capture();
    let app = faulty_app();
    app.faults.as_ref().unwrap().set(Fault::Broken);
    let r =
        app.send("GET", "/api/v1/health", &Auth::None, &[("X-Request-Id", "boom-1")], None).await;
    r.expect(500);
    assert!(!r.text.contains("disk on fire"));
    let text = log.text();
    let error = text
        .lines()
        .find(|l| l.contains("ERROR") && l.contains("request_id=boom-1"))
        .unwrap_or_else(|| panic!("no error line for request boom-1: {text}"));
    assert!(error.contains("internal error"), "{error}");
}

#[tokio::test]
async fn healthz_says_alive_and_readyz_follows_the_database() {
    use crate::support::Auth;
    let app = faulty_app();
    let alive = app.get("/healthz", &Auth::None).await;
    assert_eq!(alive.status, 200);
    assert_eq!(alive.body, json!({"status": "alive"}));
    let ready = app.get("/readyz", &Auth::None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body, json!({"status": "ready"}));
    app.faults.as_ref().unwrap().set(Fault::Unavailable);
    assert_eq!(app.get("/readyz", &Auth::None).await.status, 503);
    assert_eq!(
        app.get("/healthz", &Auth::None).await.status,
        200,
        "alive even when the database is not"
    );
}
