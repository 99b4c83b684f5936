//! Mail through a real SMTP server on loopback (aiosmtpd): the server is stopped mid-run while
//! mails are queued, started again, and every mail still arrives, exactly once.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Auth, Backend, Site, say};

/// The Python with aiosmtpd: `ACCOUNTS_TEST_PYTHON` (`.ci/run` sets it to its venv), else
/// `python3`. Without aiosmtpd the test says it did not run; under `CI=true` it fails.
fn python() -> Option<String> {
    let python = std::env::var("ACCOUNTS_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(python);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "CI=true but {python} cannot import aiosmtpd (`pip install aiosmtpd==1.4.6`)");
    say("SKIPPED: aiosmtpd not importable; the SMTP exactly-once test did NOT run");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running aiosmtpd sink, killed on drop.
struct Sink(Child);

impl Sink {
    fn start(python: &str, port: u16, received: &Path) -> Self {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/blackbox/smtp_sink.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .arg(received)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Self(child)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Message-ID -> how many times it was received.
fn received(path: &Path) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let id = line.split('\t').next().unwrap_or_default().to_owned();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn smtp_down_mid_run_every_mail_arrives_exactly_once() {
    let Some(python) = python() else { return };
    let site = Site::new(Backend::Sqlite);
    let port = free_port();
    let log = site.dir.join("received.tsv");
    let sink = Sink::start(&python, port, &log);
    let mut cmd = site.serve_command();
    cmd.env("ACCOUNTS_SMTP_HOST", "127.0.0.1")
        .env("ACCOUNTS_SMTP_PORT", port.to_string())
        .env("ACCOUNTS_SMTP_TLS", "none")
        .env("ACCOUNTS_MAIL_FROM", "Accounts <no-reply@accounts.test>");
    let app = site.start(cmd);
    let org = app.org("Acme", "ada@acme.test", 20);
    let admin = org.admin.auth();
    let add = |name: &str| {
        app.post(
            "/api/v1/team/members",
            &admin,
            json!({"first_name": name, "email": format!("{}@acme.test", name.to_lowercase())}),
        )
        .expect(201);
    };
    for name in ["Ann", "Bo", "Cy"] {
        add(name);
    }
    wait_for("the first three invitations", 30, || received(&log).len() == 3);

    // The SMTP server goes away; mails keep being queued and their delivery fails.
    drop(sink);
    for name in ["Dee", "Eve", "Fay"] {
        add(name);
    }
    app.post("/api/v1/organisation/contacts", &admin, json!({"email": "billing@acme.test"}))
        .expect(201);
    let outbox = || app.get("/api/v1/operator/outbox", &Auth::operator());
    wait_for("failed delivery attempts", 30, || {
        let pending = outbox();
        let items = pending.body["items"].as_array().cloned().unwrap_or_default();
        items.len() == 4 && items.iter().all(|m| m["attempts"].as_u64() >= Some(1))
    });
    assert_eq!(received(&log).len(), 3, "nothing can arrive while the server is down");
    assert!(!app.log().join("\n").contains(crate::support::PASSWORD));

    // Back up: the retries deliver everything, each mail once.
    let _sink = Sink::start(&python, port, &log);
    wait_for("every mail after the restart", 90, || received(&log).len() == 7);
    wait_for("an empty outbox", 30, || {
        outbox().body["items"].as_array().is_some_and(Vec::is_empty)
    });
    std::thread::sleep(Duration::from_secs(2));
    let counts = received(&log);
    assert_eq!(counts.len(), 7, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "a mail arrived twice: {counts:?}");
    assert!(counts.keys().all(|id| id.ends_with("@accounts>")), "{counts:?}");
    app.stop();
}
