//! The server as a process: the embedded default with its demo, health and readiness, restart
//! with everything kept, graceful shutdown that finishes in-flight requests and leaves
//! nothing half-written, the JSON access log without secrets, and bad configuration.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Auth, Backend, PASSWORD, Site, backends};

#[test]
fn the_embedded_default_serves_a_demo_and_prints_its_login_once() {
    let site = Site::new(Backend::Sqlite);
    // No database URL and no data directory: what a newcomer runs.
    let default = || {
        let mut cmd = site.serve_command();
        cmd.env_remove("ACCOUNTS_DATABASE_URL").env_remove("ACCOUNTS_DATA_DIR");
        cmd
    };
    let app = site.start(default());
    let printed = app.stdout().join("\n");
    let field = |label: &str| {
        printed
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in {printed}"))
            .trim()
            .to_owned()
    };
    let (email, password) = (field("Admin login:"), field("Password:"));
    assert!(site.dir.join("accounts-data/accounts.db").exists());
    let admin = Auth::bearer(&app.login(&email, &password));
    let team = app.get("/api/v1/team/members", &admin);
    team.expect(200);
    assert!(team.body["items"].as_array().unwrap().len() > 1, "the demo has sub-users");
    let credits = app.get("/api/v1/team/credits", &admin);
    assert!(
        credits.body["pools"].as_array().unwrap().iter().any(|p| p["total"].as_i64() > Some(0))
    );
    assert!(
        app.get("/api/v1/organisation/contacts", &admin).body["items"].as_array().unwrap().len()
            > 1
    );
    // Swagger UI and the document, health and readiness.
    let docs = app.get("/docs", &Auth::None);
    assert_eq!(docs.status, 200);
    assert!(docs.text.to_lowercase().contains("swagger"));
    let doc = app.get("/api/v1/openapi.json", &Auth::None);
    assert_eq!(doc.body["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    app.get("/healthz", &Auth::None).expect(200);
    app.get("/readyz", &Auth::None).expect(200);
    // The password is printed once, on standard output, and never logged.
    assert!(!app.log().join("\n").contains(&password));
    app.stop();

    // A second start on the same data seeds nothing and prints no login.
    let again = site.start(default());
    again.login(&email, &password);
    assert!(!again.stdout().join("\n").contains("Admin login"), "{:?}", again.stdout());
    again.stop();
}

/// The database (and its `-wal` / `-shm` files), the key file and the mailbox's `.eml` files
/// (codes, invitation tokens) are the server user's alone: files 0600, directories 0700.
#[cfg(unix)]
#[test]
fn data_files_and_mails_are_readable_by_the_servers_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new(Backend::Sqlite);
    let app = site.serve();
    let org = app.org("Acme", "ada@acme.test", 5);
    app.member(&org, "Sam", "sam@acme.test");
    let data = site.dir.join("data");
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode()
            & 0o777
    };
    for dir in [data.clone(), site.mailbox()] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    let mut files = vec![data.join("accounts.db"), data.join("secret.key")];
    for suffix in ["-wal", "-shm"] {
        let f = data.join(format!("accounts.db{suffix}"));
        assert!(f.exists(), "{} (WAL mode)", f.display());
        files.push(f);
    }
    let mails: Vec<_> = std::fs::read_dir(site.mailbox())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert!(!mails.is_empty(), "the invitation is in the mailbox");
    files.extend(mails);
    for file in files {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    app.stop();
}

#[test]
fn restart_keeps_everything() {
    for backend in backends("restart_keeps_everything") {
        restart_flow(backend);
    }
}

fn restart_flow(backend: Backend) {
    let site = Site::new(backend);
    let app = site.serve();
    let org = app.org("Acme", "ada@acme.test", 5);
    let admin = org.admin.auth();
    let sam = app.member(&org, "Sam", "sam@acme.test");
    app.grant(&org, "export", 1000);
    app.post(
        &format!("/api/v1/team/members/{}/allocations", sam.id),
        &admin,
        json!({"kind": "export", "amount": 250}),
    )
    .expect(200);
    let etag = app.get("/api/v1/me/profile", &sam.auth()).header("etag").unwrap();
    app.put_if(
        "/api/v1/me/profile",
        &sam.auth(),
        &etag,
        json!({"first_name": "Sam", "last_name": "Smith", "phone": "+46701234567"}),
    )
    .expect(200);
    let key = app.post("/api/v1/me/api-keys", &sam.auth(), json!({"label": "CRM"})).str("/secret");
    let mark = app.mark();
    app.post("/api/v1/organisation/contacts", &admin, json!({"email": "billing@acme.test"}))
        .expect(201);
    let code = app.mail_to("billing@acme.test", &mark).code();
    let before = snapshot(&app, &admin, &sam.auth());
    let log = app.stop();
    assert!(log.iter().any(|l| l.contains("\"stopped\"")), "no clean stop in the log");

    let app = site.serve();
    assert_eq!(snapshot(&app, &admin, &sam.auth()), before, "something changed across a restart");
    // Sessions, API keys and pending codes survive: they are in the database, keyed by the
    // server key that lives beside it.
    app.get("/api/v1/integrations/usage?from=2026-01-01&to=2026-01-31", &Auth::Key(key))
        .expect(200);
    let contact = app.get("/api/v1/organisation/contacts", &admin).body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["email"] == "billing@acme.test")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/organisation/contacts/{contact}/verify"),
        &admin,
        json!({"code": code}),
    )
    .expect(200);
    app.login("sam@acme.test", PASSWORD);
    app.stop();
}

/// What the pages show, to compare across a restart.
fn snapshot(app: &crate::support::Server, admin: &Auth, sam: &Auth) -> Vec<Value> {
    [
        ("/api/v1/me", sam),
        ("/api/v1/me/profile", sam),
        ("/api/v1/me/credits", sam),
        ("/api/v1/me/api-keys", sam),
        ("/api/v1/team/summary", admin),
        ("/api/v1/team/credits", admin),
        ("/api/v1/team/members", admin),
        ("/api/v1/team/ledger", admin),
        ("/api/v1/organisation", admin),
        ("/api/v1/organisation/contacts", admin),
    ]
    .into_iter()
    .map(|(path, auth)| {
        let r = app.get(path, auth);
        r.expect(200);
        let mut body = r.body;
        // `last_seen_at` / `last_used_at` move with the requests themselves.
        strip(&mut body, &["last_seen_at", "last_used_at"]);
        body
    })
    .collect()
}

fn strip(value: &mut Value, keys: &[&str]) {
    match value {
        Value::Object(map) => {
            for key in keys {
                map.remove(*key);
            }
            map.values_mut().for_each(|v| strip(v, keys));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| strip(v, keys)),
        _ => {}
    }
}

#[test]
fn sigterm_finishes_in_flight_requests_and_leaves_nothing_half_written() {
    let site = Site::new(Backend::Sqlite);
    let app = site.serve();
    let org = app.org("Acme", "ada@acme.test", 5);
    let admin = org.admin.auth();
    let sam = app.member(&org, "Sam", "sam@acme.test");
    app.grant(&org, "export", 1_000_000);
    let app = Arc::new(app);
    let answered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let path = format!("/api/v1/team/members/{}/allocations", sam.id);
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let (app, answered, stop, admin, path) =
                (app.clone(), answered.clone(), stop.clone(), admin.clone(), path.clone());
            std::thread::spawn(move || {
                let body = json!({"kind": "export", "amount": 1});
                while !stop.load(Ordering::SeqCst) {
                    // A refused connection means the server has stopped listening.
                    match app.try_send("POST", &path, &admin, &body) {
                        Some(200) => {
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        Some(status) => panic!("allocation answered {status} during shutdown"),
                        None => break,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    app.terminate();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.join().unwrap();
    }
    let app = Arc::into_inner(app).unwrap();
    let log = app.stop();
    assert!(log.iter().any(|l| l.contains("shutdown requested")));
    let answered = answered.load(Ordering::SeqCst);
    assert!(answered > 0, "no allocation was answered before the shutdown");

    // Every answered allocation is in the ledger and the pool, and nothing else is.
    let app = site.serve();
    let export = app.get("/api/v1/team/credits", &admin).of_kind("/pools", "export");
    assert_eq!(export["allocated"].as_u64(), Some(answered), "answered {answered}: {export}");
    let mut entries = 0;
    let mut cursor = String::new();
    loop {
        let page =
            app.get(&format!("/api/v1/team/ledger?entry_type=allocate&limit=100{cursor}"), &admin);
        page.expect(200);
        entries += page.body["items"].as_array().unwrap().len() as u64;
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(entries, answered);
    app.stop();
}

/// A burst of log-ins beyond the hashing queue's bound is refused at once with 503 and
/// `Retry-After` (nothing piles up, nothing fails with 500), and log-ins work again after it.
/// The burst is one log-in each for 24 addresses, so that no abuse budget (rule 24) answers
/// before the queue does: an unknown address is hashed as a known one is.
#[test]
fn log_ins_past_the_hashing_queue_answer_503_with_retry_after() {
    let site = Site::new(Backend::Sqlite);
    let mut cmd = site.serve_command();
    cmd.env("ACCOUNTS_PASSWORD_HASH_QUEUE", "1");
    let app = Arc::new(site.start(cmd));
    app.org("Acme", "ada@acme.test", 5);
    let burst: Vec<_> = (0..24)
        .map(|i| {
            let app = app.clone();
            let body = json!({"email": format!("nobody{i}@acme.test"), "password": PASSWORD});
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                let r = app.send("POST", "/api/v1/auth/login", &Auth::None, &[], Some(&body));
                (r, started.elapsed())
            })
        })
        .collect();
    let answers: Vec<_> = burst.into_iter().map(|t| t.join().unwrap()).collect();
    let ok = answers.iter().filter(|(r, _)| r.status == 401).count();
    let refused: Vec<_> = answers.iter().filter(|(r, _)| r.status == 503).collect();
    let statuses: Vec<u16> = answers.iter().map(|(r, _)| r.status).collect();
    assert_eq!(ok + refused.len(), answers.len(), "only 401 or 503: {statuses:?}");
    assert!(ok >= 1 && !refused.is_empty(), "{statuses:?}");
    for (r, _) in &refused {
        r.expect_problem(503, "unavailable");
        assert!(r.header("retry-after").is_some_and(|v| v.parse::<u64>().is_ok()), "{r:?}");
    }
    let slowest_refusal = refused.iter().map(|(_, t)| *t).max().unwrap();
    let slowest_login = answers.iter().filter(|(r, _)| r.status == 401).map(|(_, t)| *t).max();
    crate::support::say(&format!(
        "hashing queue of 1: {ok} log-ins of 24 hashed, {} refused (slowest refusal {slowest_refusal:?}, slowest log-in {slowest_login:?})",
        refused.len()
    ));
    app.login("ada@acme.test", PASSWORD);
    Arc::into_inner(app).unwrap().stop();
}

/// Slow clients are cut within the configured timeouts: 40 connections that each send a byte
/// of a request head every 0.4 s (the attack, sped up) are closed at the header
/// timeout, and a connection that sends nothing at the idle timeout, while a normal client is
/// served throughout.
#[test]
fn slow_clients_are_cut_within_the_configured_timeout() {
    use std::io::{Read, Write};
    let site = Site::new(Backend::Sqlite);
    let mut cmd = site.serve_command();
    cmd.env("ACCOUNTS_HEADER_TIMEOUT_SECONDS", "2").env("ACCOUNTS_IDLE_TIMEOUT_SECONDS", "3");
    let app = site.start(cmd);
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let started = std::time::Instant::now();
    let slow: Vec<_> = (0..40)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_millis(400))).unwrap();
                let head =
                    b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
                for byte in head {
                    if s.write_all(&[*byte]).is_err() {
                        return started.elapsed();
                    }
                    // A read of 0 bytes (or an error other than the timeout) is the cut.
                    match s.read(&mut [0u8; 64]) {
                        Ok(0) => return started.elapsed(),
                        Err(e)
                            if e.kind() != std::io::ErrorKind::WouldBlock
                                && e.kind() != std::io::ErrorKind::TimedOut =>
                        {
                            return started.elapsed();
                        }
                        _ => {}
                    }
                }
                panic!("the whole head was sent byte by byte without being cut");
            })
        })
        .collect();
    let silent = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let _ = s.read(&mut [0u8; 64]);
        started.elapsed()
    });
    std::thread::sleep(Duration::from_millis(500));
    app.get("/healthz", &Auth::None).expect(200);
    let cut: Vec<Duration> = slow.into_iter().map(|t| t.join().unwrap()).collect();
    let silent = silent.join().unwrap();
    let (first, last) = (cut.iter().min().unwrap(), cut.iter().max().unwrap());
    crate::support::say(&format!(
        "slow clients: 40 dripping heads cut between {first:?} and {last:?} (header timeout 2 s); a silent connection closed after {silent:?} (idle timeout 3 s)"
    ));
    assert!(*first >= Duration::from_millis(1800), "cut before the timeout: {first:?}");
    assert!(*last < Duration::from_millis(4000), "a slow client was held past 4 s: {last:?}");
    assert!(silent >= Duration::from_millis(2800) && silent < Duration::from_secs(5), "{silent:?}");
    app.stop();
}

/// A client that asks for answers and never reads them is cut at the idle timeout: forty
/// pipelined requests for the OpenAPI document (half a megabyte each, far more than the
/// sockets' buffers hold) stall the server's writes, and the connection ends about three
/// seconds later instead of holding its task and buffers for as long as the client stays.
#[test]
fn a_client_that_does_not_read_its_answers_is_cut_at_the_idle_timeout() {
    use std::io::{Read, Write};
    let site = Site::new(Backend::Sqlite);
    let mut cmd = site.serve_command();
    cmd.env("ACCOUNTS_IDLE_TIMEOUT_SECONDS", "3");
    let app = site.start(cmd);
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let one = app.get("/api/v1/openapi.json", &Auth::None).text.len();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let request = b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n";
    for _ in 0..40 {
        s.write_all(request).unwrap();
    }
    let (mut read, mut buf) = (0usize, vec![0u8; 1 << 16]);
    // Still open and written to a second in: what follows is the timeout, not a refusal.
    std::thread::sleep(Duration::from_secs(1));
    read += s.read(&mut buf).unwrap();
    assert!(read > 0, "the connection ended before any answer");
    std::thread::sleep(Duration::from_secs(6));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let ended = loop {
        match s.read(&mut buf) {
            Ok(0) => break "closed",
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break "reset",
            Err(e) => panic!("the stalled connection was not cut ({read} bytes read): {e}"),
        }
    };
    crate::support::say(&format!(
        "a client that does not read: connection {ended} after {read} of {} bytes asked for (idle timeout 3 s)",
        40 * one
    ));
    assert!(read < 40 * one, "every answer was written: {read} bytes");
    app.get("/healthz", &Auth::None).expect(200);
    app.stop();
}

#[test]
fn the_access_log_is_json_one_line_per_request_without_secrets() {
    let site = Site::new(Backend::Sqlite);
    let app = site.serve();
    let org = app.org("Acme", "ada@acme.test", 5);
    let me = org.admin.auth();
    let key = app.post("/api/v1/me/api-keys", &me, json!({})).str("/secret");
    let mark = app.mark();
    app.post_empty("/api/v1/me/email-change", &me).expect(201);
    let code = app.mail_to("ada@acme.test", &mark).code();
    app.post("/api/v1/me/email-change/current-code", &me, json!({"code": code})).expect(200);
    app.send(
        "GET",
        &format!("/api/v1/team/members/{}", org.admin.id),
        &me,
        &[("X-Request-Id", "bb-req-1")],
        None,
    )
    .expect(200);
    app.post(
        "/api/v1/auth/login",
        &Auth::None,
        json!({"email": "ada@acme.test", "password": "the wrong one"}),
    )
    .expect(401);
    let log = app.stop();

    let events: Vec<Value> = log
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let access: Vec<&Value> = events.iter().filter(|e| e["message"] == "request served").collect();
    assert!(access.len() >= 7, "{access:?}");
    let line =
        access.iter().find(|e| e["request_id"] == "bb-req-1").expect("the request id is logged");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/api/v1/team/members/{member_id}");
    assert_eq!(line["status"], 200);
    assert!(line["latency_ms"].is_u64());
    let Auth::Bearer(token) = me else { unreachable!() };
    let text = log.join("\n");
    for secret in [PASSWORD, "the wrong one", &token, &key, &code, crate::support::OPERATOR_TOKEN] {
        assert!(!text.contains(secret), "a secret reached the log");
    }
}

#[test]
fn bad_configuration_and_bad_arguments_stop_with_a_message() {
    let site = Site::new(Backend::Sqlite);
    let mut cmd = site.serve_command();
    cmd.env("ACCOUNTS_LISTEN", "not-an-address");
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ACCOUNTS_LISTEN"), "{err}");

    let mut cmd = site.serve_command();
    cmd.env("ACCOUNTS_SESSION_IDLE_MINUTES", "soon");
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ACCOUNTS_SESSION_IDLE_MINUTES"));

    let out = site.cli_output(&["org", "set-seats", "not-a-uuid", "--plan", "Pro=3"], None);
    assert_eq!(out.status.code(), Some(2), "bad usage");
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    site.cli(&["migrate"], None);
    let nil = uuid::Uuid::nil().to_string();
    let out = site.cli_output(&["org", "set-seats", &nil, "--plan", "Pro=3"], None);
    assert_eq!(out.status.code(), Some(5), "not found: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such organisation"), "{out:?}");
}
