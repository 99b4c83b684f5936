//! Helpers of the black-box suite: start the built `accounts` binary on port 0 with a fresh
//! SQLite file or a fresh PostgreSQL database, talk to it over real HTTP, read its mailbox and
//! its JSON log, stop it with SIGTERM and start it again on the same data.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The operator credential every server of the suite is configured with.
pub const OPERATOR_TOKEN: &str = "blackbox-operator-token-0123456789abcdef";
/// A password that meets the policy.
pub const PASSWORD: &str = "quartz wombat ferry lantern";
/// Where the PostgreSQL admin URL comes from.
pub const PG_VAR: &str = "ACCOUNTS_TEST_POSTGRES_URL";

const BIN: &str = env!("CARGO_BIN_EXE_accounts");

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Writes past the harness's output capture, so the line shows in every run.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Which database a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backends a flow runs on: SQLite always; PostgreSQL when `ACCOUNTS_TEST_POSTGRES_URL` is
/// set. Without it the PostgreSQL variant says loudly that it did not run, and under `CI=true`
/// the test fails.
pub fn backends(test: &str) -> Vec<Backend> {
    if std::env::var(PG_VAR).is_ok_and(|u| !u.is_empty()) {
        vec![Backend::Sqlite, Backend::Postgres]
    } else {
        assert!(!in_ci(), "CI=true but {PG_VAR} is not set: the PostgreSQL variant must run");
        say(&format!("SKIPPED: {PG_VAR} not set; {test} did NOT run on PostgreSQL"));
        vec![Backend::Sqlite]
    }
}

/// A fresh PostgreSQL database, dropped when this is dropped.
#[derive(Debug)]
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn admin_exec(admin_url: &str, sql: &str) -> Result<(), String> {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(admin_url)
        .await
        .map_err(|e| format!("{PG_VAR} is set but PostgreSQL cannot be reached: {e}"))?;
    let done = db.execute_unprepared(sql).await.map(|_| ()).map_err(|e| format!("{sql}: {e}"));
    let _ = db.close().await;
    done
}

impl PgDatabase {
    fn create(tag: &str) -> Self {
        let admin_url = std::env::var(PG_VAR).unwrap();
        let name = format!("accounts_bb_{}_{tag}", std::process::id());
        runtime()
            .block_on(admin_exec(&admin_url, &format!("CREATE DATABASE \"{name}\"")))
            .unwrap_or_else(|e| panic!("{e}"));
        let (base, query) = match admin_url.split_once('?') {
            Some((base, query)) => (base, format!("?{query}")),
            None => (admin_url.as_str(), String::new()),
        };
        let server = base.rsplit_once('/').map_or(base, |(server, _db)| server);
        let url = format!("{server}/{name}{query}");
        Self { admin_url, name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = runtime().block_on(admin_exec(&self.admin_url, &sql)) {
            say(&format!("could not drop {}: {e}", self.name));
        }
    }
}

/// Where a server keeps its state; it outlives restarts of the process.
#[derive(Debug)]
pub struct Site {
    pub dir: PathBuf,
    pub database_url: String,
    _pg: Option<PgDatabase>,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl Site {
    /// A new directory and a new, empty database.
    pub fn new(backend: Backend) -> Self {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("accounts-bb-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (database_url, pg) = match backend {
            Backend::Sqlite => {
                (format!("sqlite://{}/data/accounts.db?mode=rwc", dir.display()), None)
            }
            Backend::Postgres => {
                let pg = PgDatabase::create(&n.to_string());
                (pg.url.clone(), Some(pg))
            }
        };
        Self { dir, database_url, _pg: pg }
    }

    pub fn mailbox(&self) -> PathBuf {
        self.dir.join("data/mailbox")
    }

    /// The `accounts` command with this site's configuration and nothing inherited from the
    /// environment of the test run.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        for (key, _) in std::env::vars() {
            if key.starts_with("ACCOUNTS_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        cmd.current_dir(&self.dir)
            .env("ACCOUNTS_DATA_DIR", self.dir.join("data"))
            .env("ACCOUNTS_DATABASE_URL", &self.database_url)
            .env("ACCOUNTS_OPERATOR_TOKEN", OPERATOR_TOKEN)
            .env("ACCOUNTS_LOG_FORMAT", "json")
            .env("ACCOUNTS_LOG", "info");
        cmd
    }

    /// Runs an operator command to the end; its standard output, or a panic with its error.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.cli_output(args, stdin);
        assert!(
            out.status.success(),
            "accounts {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn cli_output(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        let mut cmd = self.command();
        cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// Starts `accounts serve` on a free port.
    pub fn serve(&self) -> Server {
        self.start(self.serve_command())
    }

    /// `accounts serve` on a free port, to adjust before [`start`](Self::start).
    pub fn serve_command(&self) -> Command {
        let mut cmd = self.command();
        cmd.arg("serve").env("ACCOUNTS_LISTEN", "127.0.0.1:0");
        cmd
    }

    /// Starts a server command and waits until it listens; its standard output and error
    /// are collected.
    pub fn start(&self, mut cmd: Command) -> Server {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let lines = Arc::clone(&log);
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(event) = serde_json::from_str::<Value>(&line)
                    && event["message"] == "accounts is serving"
                {
                    let _ = tx.send(event["addr"].as_str().unwrap_or_default().to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let out = Arc::clone(&stdout);
        let child_stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(child_stdout).lines() {
                let Ok(line) = line else { break };
                out.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr.parse::<SocketAddr>().unwrap(),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not start: {}", log.lock().unwrap().join("\n"));
            }
        };
        Server {
            child: Some(child),
            base: format!("http://{addr}"),
            log,
            stdout,
            mailbox: self.mailbox(),
            agent: agent(),
        }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// How a request authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    Bearer(String),
    Key(String),
}

impl Auth {
    pub fn bearer(token: &str) -> Self {
        Self::Bearer(token.to_owned())
    }

    pub fn operator() -> Self {
        Self::Bearer(OPERATOR_TOKEN.to_owned())
    }
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// Panics, showing the body, unless the status is `status`.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        self
    }

    /// Panics unless this is a problem+json of the given status and type.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, kind: &str) -> &Self {
        self.expect(status);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let ty = self.body["type"].as_str().unwrap_or_default();
        assert!(ty.ends_with(&format!("#{kind}")), "problem type {ty}, wanted {kind}");
        self
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }

    /// The string at a JSON pointer.
    #[track_caller]
    pub fn str(&self, pointer: &str) -> String {
        match self.body.pointer(pointer) {
            Some(Value::String(s)) => s.clone(),
            other => panic!("{pointer} is {other:?} in {}", self.text),
        }
    }

    /// The item of the array at `pointer` whose `kind` is `kind` (pools, balances).
    #[track_caller]
    pub fn of_kind(&self, pointer: &str, kind: &str) -> Value {
        self.body
            .pointer(pointer)
            .and_then(Value::as_array)
            .and_then(|items| items.iter().find(|i| i["kind"] == kind))
            .unwrap_or_else(|| panic!("no {kind} in {pointer} of {}", self.text))
            .clone()
    }

    /// The integer at a JSON pointer.
    #[track_caller]
    pub fn int(&self, pointer: &str) -> i64 {
        self.body
            .pointer(pointer)
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("{pointer} is not an integer in {}", self.text))
    }
}

/// A mail read from the mailbox directory.
#[derive(Debug, Clone)]
pub struct Mail {
    pub file: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Mail {
    /// The six-digit code in a verification mail.
    #[track_caller]
    pub fn code(&self) -> String {
        let line = self.body.lines().find_map(|l| l.trim().strip_prefix("Your code: "));
        let code = line.unwrap_or_else(|| panic!("no code in {}", self.body)).trim().to_owned();
        assert_eq!(code.len(), 6, "{code}");
        code
    }

    /// The invitation token in an invitation mail.
    #[track_caller]
    pub fn invitation_token(&self) -> String {
        self.body
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("aci_"))
            .unwrap_or_else(|| panic!("no invitation token in {}", self.body))
            .to_owned()
    }

    /// The password-reset token (the code line) in a reset mail.
    #[track_caller]
    pub fn reset_token(&self) -> String {
        self.body
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("acr_"))
            .unwrap_or_else(|| panic!("no reset token in {}", self.body))
            .to_owned()
    }
}

/// Parses a `.eml` file as the server writes it (7bit or quoted-printable text).
pub fn parse_eml(file: &str, text: &str) -> Mail {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    // Unfold continuation lines.
    let head = head.replace("\n ", " ").replace("\n\t", " ");
    let field = |name: &str| {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let body = match field("Content-Transfer-Encoding").to_ascii_lowercase().as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "7bit" | "8bit" | "" => body.to_owned(),
        other => panic!("{file}: unexpected transfer encoding {other}"),
    };
    Mail { file: file.to_owned(), to: field("To"), subject: field("Subject"), body }
}

fn decode_quoted_printable(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.replace("=\n", "").into_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16)
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Every mail in a mailbox directory, by file name.
pub fn read_mailbox(dir: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut mails: Vec<Mail> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.ends_with(".eml").then(|| {
                let text = std::fs::read_to_string(e.path()).unwrap();
                parse_eml(&name, &text)
            })
        })
        .collect();
    mails.sort_by(|a, b| a.file.cmp(&b.file));
    mails
}

/// A running `accounts serve`.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    pub base: String,
    log: Arc<Mutex<Vec<String>>>,
    stdout: Arc<Mutex<Vec<String>>>,
    mailbox: PathBuf,
    agent: ureq::Agent,
}

impl Server {
    /// Sends a request; `path` starts with `/`.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        auth: &Auth,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Resp {
        self.try_exchange(method, path, auth, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// [`Self::send`], or the transport error when no answer came (the process is gone,
    /// the connection was refused or closed before a response).
    pub fn try_exchange(
        &self,
        method: &str,
        path: &str,
        auth: &Auth,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Resp, ureq::Error> {
        let mut request =
            ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.base));
        match auth {
            Auth::None => {}
            Auth::Bearer(token) => {
                request = request.header("Authorization", format!("Bearer {token}"))
            }
            Auth::Key(key) => request = request.header("X-Api-Key", key),
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let sent = match body {
            Some(body) => self.agent.run(
                request
                    .header("Content-Type", "application/json")
                    .body(serde_json::to_vec(body).unwrap())
                    .unwrap(),
            ),
            None => self.agent.run(request.body(()).unwrap()),
        };
        let mut response = sent?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let text = response.body_mut().read_to_string()?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Resp { status, headers, body, text })
    }

    /// Sends a JSON request; its status, or `None` when no answer came (connection refused
    /// or closed before a response).
    pub fn try_send(&self, method: &str, path: &str, auth: &Auth, body: &Value) -> Option<u16> {
        self.try_exchange(method, path, auth, &[], Some(body)).ok().map(|r| r.status)
    }

    pub fn get(&self, path: &str, auth: &Auth) -> Resp {
        self.send("GET", path, auth, &[], None)
    }

    pub fn post(&self, path: &str, auth: &Auth, body: Value) -> Resp {
        self.send("POST", path, auth, &[], Some(&body))
    }

    pub fn post_empty(&self, path: &str, auth: &Auth) -> Resp {
        self.send("POST", path, auth, &[], None)
    }

    pub fn put(&self, path: &str, auth: &Auth, body: Value) -> Resp {
        self.send("PUT", path, auth, &[], Some(&body))
    }

    pub fn put_if(&self, path: &str, auth: &Auth, etag: &str, body: Value) -> Resp {
        self.send("PUT", path, auth, &[("If-Match", etag)], Some(&body))
    }

    pub fn delete(&self, path: &str, auth: &Auth) -> Resp {
        self.send("DELETE", path, auth, &[], None)
    }

    /// Creates an organisation through the operator API, its admin with a password; logs in.
    pub fn org(&self, name: &str, admin_email: &str, licences: u32) -> Org {
        let created = self.post(
            "/api/v1/operator/organisations",
            &Auth::operator(),
            json!({
                "name": name,
                "registration_number": "556677-8899",
                "plan": "Professional",
                "licences": licences,
                "admin_first_name": "Ada",
                "admin_last_name": "Admin",
                "admin_email": admin_email,
                "admin_password": PASSWORD,
            }),
        );
        created.expect(201);
        let token = self.login(admin_email, PASSWORD);
        Org {
            id: created.str("/organisation/id"),
            admin: Person { id: created.str("/admin/id"), token },
        }
    }

    /// The operator grants credits to an organisation's pool.
    pub fn grant(&self, org: &Org, kind: &str, amount: i64) {
        self.post(
            &format!("/api/v1/operator/organisations/{}/grants", org.id),
            &Auth::operator(),
            json!({"kind": kind, "amount": amount, "reason": "invoice"}),
        )
        .expect(200);
    }

    /// Logs in; the session token.
    #[track_caller]
    pub fn login(&self, email: &str, password: &str) -> String {
        let r = self.post(
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": email, "password": password}),
        );
        r.expect(200);
        r.str("/token")
    }

    /// The admin adds a sub-user, who accepts the mailed invitation and logs in.
    pub fn member(&self, org: &Org, first_name: &str, email: &str) -> Person {
        let mark = self.mark();
        let added = self.post(
            "/api/v1/team/members",
            &Auth::bearer(&org.admin.token),
            json!({"first_name": first_name, "email": email}),
        );
        added.expect(201);
        let token = self.mail_to(email, &mark).invitation_token();
        self.post(
            "/api/v1/auth/invitation",
            &Auth::None,
            json!({"token": token, "password": PASSWORD}),
        )
        .expect(200);
        Person { id: added.str("/id"), token: self.login(email, PASSWORD) }
    }

    /// The mails delivered so far, to tell new ones apart.
    pub fn mark(&self) -> BTreeSet<String> {
        read_mailbox(&self.mailbox).into_iter().map(|m| m.file).collect()
    }

    /// Waits (the delivery worker runs every second) for the one new mail to `to`.
    #[track_caller]
    pub fn mail_to(&self, to: &str, mark: &BTreeSet<String>) -> Mail {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let new: Vec<Mail> = read_mailbox(&self.mailbox)
                .into_iter()
                .filter(|m| !mark.contains(&m.file) && m.to.eq_ignore_ascii_case(to))
                .collect();
            match new.len() {
                0 if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                1 => return new.into_iter().next().unwrap(),
                n => panic!("{n} new mails to {to} (wanted 1): {new:?}"),
            }
        }
    }

    /// The server's log so far, one JSON object per line.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// What the server printed on standard output so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// `kill -9` without waiting: the process ends at once, in the middle of whatever it was
    /// doing (dropping the server reaps it).
    pub fn kill(&self) {
        let status =
            Command::new("kill").args(["-KILL", &self.pid().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Sends SIGTERM without waiting.
    pub fn terminate(&self) {
        let status =
            Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then waits for a clean exit (status 0) and returns the full log.
    #[track_caller]
    pub fn stop(mut self) -> Vec<String> {
        self.terminate();
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the server did not stop within 60 s");
            std::thread::sleep(Duration::from_millis(50));
        };
        // Let the reader thread drain the last lines.
        std::thread::sleep(Duration::from_millis(200));
        let log = self.log();
        assert!(status.success(), "the server exited with {status}: {}", log.join("\n"));
        log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An organisation made by [`Server::org`].
#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub admin: Person,
}

/// A member with a session.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub token: String,
}

impl Person {
    pub fn auth(&self) -> Auth {
        Auth::bearer(&self.token)
    }
}
