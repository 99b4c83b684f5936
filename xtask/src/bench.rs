//! `cargo xtask bench [--quick]`: builds the server with the `dist` profile, seeds it (SQLite, and
//! PostgreSQL when `ACCOUNTS_TEST_POSTGRES_URL` is set), loads each scenario with wrk at 64
//! connections, measures the baselines (a bare poem endpoint, pgbench or rusqlite running the
//! server's SQL, argon2id's hash rate) in slices alternating with the scenarios whose targets
//! name them (`paired.rs`), checks the credit invariants after the load, and writes
//! `<target>/bench/results.json` (and, in full mode, the table in `docs/benchmarks.md`). It fails
//! when a request errored or an invariant broke; it asserts no performance thresholds (those are
//! reported against the targets in the docs).

pub mod ab;
mod http;
mod paired;
mod report;
mod seed;
mod sqlite_alloc;
mod wrk;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use paired::{Side, Slice};
use report::Row;
use seed::{Bulk, Db, SeededOrg};

/// Load generator settings (the issue's: 64 connections; one wrk thread per core).
const CONNECTIONS: u32 = 64;
const THREADS: u32 = 2;
/// Every seeded member's password (they share the admins' hash).
const PASSWORD: &str = "bench quartz wombat ferry lantern";
const OPERATOR_TOKEN: &str = "bench-operator-token-0123456789abcdef0123";
const SECRET_KEY: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
/// What each organisation's export pool is granted (the largest single grant).
const GRANT: u64 = 1_000_000_000;
/// Each bulk member's seeded allocation.
const ALLOCATION: u64 = 100_000;

/// The size of a run.
#[derive(Debug, Clone, Copy)]
struct Size {
    orgs: u64,
    /// Members per organisation, the admin included.
    per_org: u64,
    ledger_rows: u64,
    /// Consumptions of the member whose year is reported.
    heavy: u64,
    /// Members logged in before the load (GET /me, profile saves).
    logins: u64,
    /// Members given an API key (consumption).
    api_keys: u64,
    secs: u32,
}

const FULL: Size = Size {
    orgs: 100,
    per_org: 100,
    ledger_rows: 1_000_000,
    heavy: 10_000,
    logins: 256,
    api_keys: 64,
    secs: 10,
};
// Logins must exceed twice the connections per wrk thread, so that every profile save is
// based on the version the previous save of that member produced (see wrk.rs).
const QUICK: Size = Size {
    orgs: 2,
    per_org: 100,
    ledger_rows: 5_000,
    heavy: 1_000,
    logins: 160,
    api_keys: 16,
    secs: 2,
};

impl Size {
    fn bulk(&self) -> u64 {
        self.orgs * (self.per_org - 1)
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

fn run(mut cmd: Command) -> Result<(), String> {
    eprintln!("$ {cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed with {status}")) }
}

fn output(mut cmd: Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed with {}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs a missing tool from Debian's packages (CI runs on a fresh machine).
fn ensure_tool(tool: &str, package: &str) -> Result<(), String> {
    if have(tool) {
        return Ok(());
    }
    eprintln!("bench: `{tool}` is missing; installing the Debian package `{package}`");
    let root = output({
        let mut id = Command::new("id");
        id.arg("-u");
        id
    })?;
    let apt = |args: &[&str]| {
        let mut cmd = if root.trim() == "0" {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.arg("apt-get");
            sudo
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(apt(&["update", "-qq"]))?;
    run(apt(&["install", "-y", "-qq", package]))?;
    if have(tool) { Ok(()) } else { Err(format!("`{tool}` is still missing after installing")) }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn wait_ready(addr: &str, path: &str, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the process exited during start-up: {status}"));
        }
        if http::request(addr, "GET", path, &[], None).is_ok_and(|r| r.status == 200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("{addr}{path} did not answer 200 within two minutes"))
}

/// A process the bench started; stopped (SIGTERM, then SIGKILL) when dropped.
struct Process {
    child: Child,
    addr: String,
}

impl Process {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

fn log_file(path: &Path) -> Result<(Stdio, Stdio), String> {
    let file = fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    Ok((Stdio::from(file), Stdio::from(err)))
}

fn start_server(bin: &Path, db_url: &str, dir: &Path, log: &str) -> Result<Process, String> {
    let addr = format!("127.0.0.1:{}", free_port()?);
    let (out, err) = log_file(&dir.join(log))?;
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .env("ACCOUNTS_DATABASE_URL", db_url)
        .env("ACCOUNTS_DATA_DIR", dir)
        .env("ACCOUNTS_SECRET_KEY", SECRET_KEY)
        .env("ACCOUNTS_OPERATOR_TOKEN", OPERATOR_TOKEN)
        .env("ACCOUNTS_LISTEN", &addr)
        .env("ACCOUNTS_DEMO", "false")
        // wrk speaks for many clients through `X-Forwarded-For` (the log-in scenario).
        .env("ACCOUNTS_TRUSTED_PROXIES", "127.0.0.1")
        // Warnings only: an access-log line per request would measure the log sink.
        .env("ACCOUNTS_LOG", "warn")
        .env_remove("RUST_LOG")
        .stdout(out)
        .stderr(err);
    eprintln!("bench: starting the server on {addr} ({})", crate_url_masked(db_url));
    let mut child = cmd.spawn().map_err(|e| format!("starting {}: {e}", bin.display()))?;
    wait_ready(&addr, "/readyz", &mut child)?;
    Ok(Process { child, addr })
}

fn crate_url_masked(url: &str) -> String {
    match url.split_once('@') {
        Some((scheme_user, host)) if url.starts_with("postgres") => {
            let user = scheme_user.split(':').take(2).collect::<Vec<_>>().join(":");
            format!("{user}@{host}")
        }
        _ => url.to_owned(),
    }
}

/// The highest VmRSS of `pid`, sampled every 50 ms while `running`.
fn sample_rss(pid: u32, running: Arc<AtomicBool>, max_kib: Arc<AtomicU64>) {
    let path = format!("/proc/{pid}/status");
    while running.load(Ordering::Relaxed) {
        if let Ok(text) = fs::read_to_string(&path)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            max_kib.fetch_max(kib, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// wrk's threads and connections (all connections are spread evenly over the threads).
#[derive(Debug, Clone, Copy)]
struct Shape {
    threads: u32,
    connections: u32,
}

/// The bench's usual load: 64 connections from 2 threads.
const SHAPE: Shape = Shape { threads: THREADS, connections: CONNECTIONS };

/// Runs wrk against `url` with `script` while sampling the RSS of `pid`.
fn load(
    out_dir: &Path,
    name: &str,
    url: &str,
    script: &str,
    secs: u32,
    pid: u32,
) -> Result<(wrk::WrkSummary, f64), String> {
    let path = write_script(out_dir, name, script)?;
    eprintln!("bench: {name}: wrk -t{THREADS} -c{CONNECTIONS} -d{secs}s {url}");
    let (result, rss) = sampling(pid, || run_wrk(&path, url, secs, SHAPE));
    Ok((read_wrk(out_dir, name, &result?)?, rss))
}

/// What wrk printed for `name`: kept in `<name>.wrk.txt`, its statuses other than 2xx
/// reported, its result line read.
fn read_wrk(dir: &Path, name: &str, text: &str) -> Result<wrk::WrkSummary, String> {
    fs::write(dir.join(format!("{name}.wrk.txt")), text).map_err(|e| e.to_string())?;
    let statuses = wrk::statuses(text);
    if !statuses.is_empty() {
        eprintln!("bench: {name}: non-2xx statuses: {statuses}");
    }
    wrk::parse_output(text)
}

/// Runs `f` while sampling the RSS of `pid`; what it returned and the highest RSS, in MiB.
fn sampling<T>(pid: u32, f: impl FnOnce() -> T) -> (T, f64) {
    let running = Arc::new(AtomicBool::new(true));
    let max_kib = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (running, max_kib) = (running.clone(), max_kib.clone());
        std::thread::spawn(move || sample_rss(pid, running, max_kib))
    };
    let result = f();
    running.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    (result, max_kib.load(Ordering::Relaxed) as f64 / 1024.0)
}

/// Runs wrk with `script` against `url` for `secs` seconds; what it printed.
fn run_wrk(script: &Path, url: &str, secs: u32, shape: Shape) -> Result<String, String> {
    let Shape { threads, connections } = shape;
    let out = Command::new("wrk")
        .args([
            &format!("-t{threads}"),
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(script)
        .arg(url)
        .output()
        .map_err(|e| format!("cannot start wrk: {e}"))?;
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("wrk failed with {}: {text}", out.status))
    }
}

/// Runs `f` over `items` on `workers` threads, keeping the order.
fn parallel<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> Result<R, String> + Sync,
) -> Result<Vec<R>, String> {
    let chunk = items.len().div_ceil(workers.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Result<Vec<R>, String>>()))
            .collect();
        let mut all = Vec::with_capacity(items.len());
        for h in handles {
            all.extend(h.join().map_err(|_| "a set-up thread panicked".to_owned())??);
        }
        Ok(all)
    })
}

fn json_str<'a>(v: &'a serde_json::Value, path: &[&str]) -> Result<&'a str, String> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key).ok_or_else(|| format!("no `{}` in {v}", path.join(".")))?;
    }
    cur.as_str().ok_or_else(|| format!("`{}` is not a string in {v}", path.join(".")))
}

fn expect(reply: http::Reply, status: u16, what: &str) -> Result<serde_json::Value, String> {
    if reply.status != status {
        return Err(format!("{what}: expected {status}, got {}: {}", reply.status, reply.body));
    }
    reply.json()
}

fn login(addr: &str, email: &str) -> Result<String, String> {
    let body = serde_json::json!({ "email": email, "password": PASSWORD }).to_string();
    let reply = http::request(addr, "POST", "/api/v1/auth/login", &[], Some(&body))?;
    let v = expect(reply, 200, &format!("logging in {email}"))?;
    json_str(&v, &["token"]).map(str::to_owned)
}

/// Logs `email` in through the console's form as a browser does (the form's page sets the
/// CSRF cookie, the form carries its token, the answer sets the session cookie); returns the
/// `Cookie` header a browser would send next: the CSRF and session cookies.
fn web_login(addr: &str, email: &str) -> Result<String, String> {
    let page = http::send(addr, "GET", "/login", &[], None)?;
    if page.status != 200 {
        return Err(format!("GET /login: {}: {}", page.status, page.body));
    }
    let token = http::input_value(&page.body, "csrf_token")
        .ok_or_else(|| "GET /login: no csrf_token in the form".to_owned())?;
    let csrf = page.cookies.join("; ");
    let body = http::form(&[("email", email), ("password", PASSWORD), ("csrf_token", &token)]);
    let reply = http::send(
        addr,
        "POST",
        "/login",
        &[("Cookie", &csrf)],
        Some(("application/x-www-form-urlencoded", &body)),
    )?;
    if reply.status != 303
        || !reply.cookies.iter().any(|c| cookie_name(c).ends_with("accounts-session"))
    {
        return Err(format!(
            "logging {email} in through the console: {}: {}",
            reply.status, reply.body
        ));
    }
    // The browser's jar: the log-in's cookies replace the form's; a cleared one goes.
    let mut jar: Vec<&String> = page.cookies.iter().collect();
    for c in &reply.cookies {
        jar.retain(|kept| cookie_name(kept) != cookie_name(c));
        jar.push(c);
    }
    jar.retain(|c| c.split_once('=').is_some_and(|(_, v)| !v.is_empty()));
    Ok(jar.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("; "))
}

fn cookie_name(cookie: &str) -> &str {
    cookie.split('=').next().unwrap_or_default()
}

fn member_email(k: u64) -> String {
    format!("bench-m{k}@bench.test")
}

/// What the scenarios need from the seeded server.
struct Seeded {
    admin_tokens: Vec<String>,
    /// Tokens of bulk members 1..=logins (member 1 is the heavy one).
    member_tokens: Vec<String>,
    api_keys: Vec<String>,
    /// `Cookie` headers of the console's sessions: the admins', and members 1..=logins'.
    web_admins: Vec<String>,
    web_members: Vec<String>,
}

fn seed(server: &Process, db: &Db, size: Size, now: i64) -> Result<Seeded, String> {
    let addr = server.addr.as_str();
    let op = format!("Bearer {OPERATOR_TOKEN}");
    let started = Instant::now();
    let indexes: Vec<u64> = (0..size.orgs).collect();
    let orgs = parallel(&indexes, 2, |i| {
        let body = serde_json::json!({
            "name": format!("Bench Org {i}"),
            "registration_number": format!("BENCH-{i:05}"),
            "plan": "Professional",
            "licences": size.per_org + 10,
            "admin_first_name": "Admin",
            "admin_email": format!("bench-admin{i}@bench.test"),
            "admin_password": PASSWORD,
        })
        .to_string();
        let reply = http::request(
            addr,
            "POST",
            "/api/v1/operator/organisations",
            &[("Authorization", &op)],
            Some(&body),
        )?;
        let v = expect(reply, 201, "creating an organisation")?;
        let org = SeededOrg { id: json_str(&v, &["organisation", "id"])?.to_owned() };
        let grant = serde_json::json!({ "kind": "export", "amount": GRANT, "reason": "bench" });
        let key = format!("bench-grant-{i}");
        let reply = http::request(
            addr,
            "POST",
            &format!("/api/v1/operator/organisations/{}/grants", org.id),
            &[("Authorization", &op), ("Idempotency-Key", &key)],
            Some(&grant.to_string()),
        )?;
        if !(200..300).contains(&reply.status) {
            return Err(format!("granting credits: {}: {}", reply.status, reply.body));
        }
        Ok(org)
    })?;
    eprintln!("bench: {} organisations created in {:.1?}", orgs.len(), started.elapsed());

    let started = Instant::now();
    let total_consumes = size.ledger_rows.saturating_sub(size.orgs + size.bulk());
    let consumes = seed::consumes_per_member(size.bulk(), total_consumes, size.heavy);
    let sql = seed::bulk_sql(
        db,
        &Bulk {
            orgs: &orgs,
            per_org: size.per_org - 1,
            consumes: &consumes,
            allocation: ALLOCATION,
            now,
        },
    );
    db.run(&sql)?;
    let rows = db.run("SELECT count(*) FROM ledger_entries;")?;
    eprintln!(
        "bench: bulk insert of {} members and ledger entries ({} in all) in {:.1?}",
        size.bulk(),
        rows.trim(),
        started.elapsed()
    );

    let started = Instant::now();
    let admin_tokens =
        parallel(&indexes, 2, |i| login(addr, &format!("bench-admin{i}@bench.test")))?;
    let ks: Vec<u64> = (1..=size.logins.min(size.bulk())).collect();
    let member_tokens = parallel(&ks, 2, |k| login(addr, &member_email(*k)))?;
    let key_holders: Vec<&String> = member_tokens.iter().take(size.api_keys as usize).collect();
    let api_keys = parallel(&key_holders, 2, |token| {
        let auth = format!("Bearer {token}");
        let reply = http::request(
            addr,
            "POST",
            "/api/v1/me/api-keys",
            &[("Authorization", &auth)],
            Some(r#"{"label": "bench"}"#),
        )?;
        let v = expect(reply, 201, "creating an API key")?;
        json_str(&v, &["secret"]).map(str::to_owned)
    })?;
    eprintln!(
        "bench: {} admins and {} members logged in, {} API keys, in {:.1?}",
        admin_tokens.len(),
        member_tokens.len(),
        api_keys.len(),
        started.elapsed()
    );
    let started = Instant::now();
    let web_admins =
        parallel(&indexes, 2, |i| web_login(addr, &format!("bench-admin{i}@bench.test")))?;
    let web_members = parallel(&ks, 2, |k| web_login(addr, &member_email(*k)))?;
    eprintln!(
        "bench: {} admins and {} members logged in through the console in {:.1?}",
        web_admins.len(),
        web_members.len(),
        started.elapsed()
    );
    Ok(Seeded { admin_tokens, member_tokens, api_keys, web_admins, web_members })
}

/// Now in Unix seconds. The bench is a tool outside the domain: it reads the wall clock to
/// place the seeded year and the report's period, as the server's adapters do.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn q(s: &str) -> String {
    wrk::lua_str(s)
}

/// One scenario: its name, the Lua items and request function.
struct Scenario {
    name: &'static str,
    items: Vec<String>,
    request: String,
}

impl Scenario {
    /// Its wrk script for the bench's usual load, its unique values prefixed with `nonce`.
    fn script(&self, nonce: &str) -> String {
        let request = format!("{}{}", self.request, wrk::STATUSES);
        wrk::script(&self.items, THREADS, &format!("{nonce}-{}", self.name), &request)
    }
}

/// `GET path`, each request sending one of `items` (Lua string literals) as `header`.
fn get(name: &'static str, items: Vec<String>, path: &str, header: &str) -> Scenario {
    let request = format!(
        r#"
function request()
  return wrk.format("GET", "{path}", {{["{header}"] = pick()}})
end
"#
    );
    Scenario { name, items, request }
}

fn scenarios(s: &Seeded, size: Size) -> Vec<Scenario> {
    let per_org = size.per_org - 1;
    let bearer = |t: &str| q(&format!("Bearer {t}"));
    let tokens: Vec<String> = s.member_tokens.iter().map(|t| bearer(t)).collect();
    let today = unix_now() / 86_400;
    let usage_path =
        format!("/api/v1/me/usage?from={}&to={}&bucket=month", date(today - 365), date(today));
    let pair = |k: u64| {
        let org = ((k - 1) / per_org.max(1)) as usize;
        let token = s.admin_tokens.get(org).map_or("", String::as_str);
        format!("{{{}, {}}}", bearer(token), q(&seed::member_uuid(k)))
    };
    let allocate = r#"
function request()
  local it = pick()
  return wrk.format("POST", "/api/v1/team/members/" .. it[2] .. "/allocations",
    {["Authorization"] = it[1], ["Content-Type"] = "application/json", ["Idempotency-Key"] = unique()},
    '{"kind": "export", "amount": 1, "reason": "bench"}')
end
"#;
    vec![
        get("get_me", tokens.clone(), "/api/v1/me", "Authorization"),
        Scenario {
            name: "profile_save",
            items: tokens.clone(),
            // A thread owns its members and has fewer connections than members. Each save
            // sends the version the member's previous save answered (its ETag), found through
            // the request id, which the server echoes; a member whose save is still in flight
            // is skipped (round robin alone let a slow answer, over 100 ms, be overtaken by
            // the member's next turn, which then sent a stale version and got a correct 412).
            // The request id names the member, so a 412's `current_etag` is used too (it still
            // counts as an error).
            request: r#"
local versions = {}
local pending = {}
function request()
  local it, idx = pick()
  for _ = 1, per_thread do
    if not pending[idx] then break end
    it, idx = pick()
  end
  pending[idx] = true
  return wrk.format("PUT", "/api/v1/me/profile",
    {["Authorization"] = it, ["Content-Type"] = "application/json", ["If-Match"] = '"' .. (versions[idx] or 1) .. '"',
     ["X-Request-Id"] = "m" .. idx .. "v" .. (versions[idx] or 1)},
    '{"first_name": "Bench", "last_name": "Member", "phone": "+46701234567", "company": "Bench ' .. idx .. '", "job_title": "Tester", "linkedin": "https://www.linkedin.com/in/bench"}')
end
function on_response(status, headers, body)
  local rid = headers["X-Request-Id"] or headers["x-request-id"] or ""
  local idx, sent = string.match(rid, "^m(%d+)v(%d+)$")
  idx = tonumber(idx or "")
  if idx then pending[idx] = nil end
  local etag = headers["ETag"] or headers["etag"] or headers["Etag"]
  if status == 412 then
    etag = string.match(body, '"current_etag":"\\?"?(%d+)')
    io.stderr:write("stale profile save: member " .. tostring(idx) .. " sent " .. tostring(sent) .. ", current " .. tostring(etag) .. "\n")
  end
  if idx and etag then versions[idx] = tonumber(string.match(etag, "%d+")) end
end
"#
            .into(),
        },
        Scenario {
            name: "allocate_spread",
            items: (1..=size.bulk()).map(pair).collect(),
            request: allocate.into(),
        },
        Scenario {
            name: "allocate_hot_pool",
            items: (1..=per_org.min(size.bulk())).map(pair).collect(),
            request: allocate.into(),
        },
        Scenario {
            name: "consume",
            items: s.api_keys.iter().map(|k| q(k)).collect(),
            request: r#"
function request()
  return wrk.format("POST", "/api/v1/integrations/consumptions",
    {["X-Api-Key"] = pick(), ["Content-Type"] = "application/json"},
    '{"kind": "export", "amount": 1, "data_type": "email", "provider": "apollo", "event_id": "' .. unique() .. '"}')
end
"#
            .into(),
        },
        get("usage_year_10k_entries", tokens[..1].to_vec(), &usage_path, "Authorization"),
        get(
            "team_members_list",
            s.admin_tokens.iter().map(|t| bearer(t)).collect(),
            "/api/v1/team/members",
            "Authorization",
        ),
        Scenario {
            name: "login",
            items: (1..=size.bulk()).map(|k| q(&member_email(k))).collect(),
            request: format!(
                r#"
function request()
  -- Each log-in from its own client address (the server trusts the loopback as a proxy), as
  -- members log in from their own machines: one client's abuse budget is not what is measured.
  local client = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("POST", "/api/v1/auth/login",
    {{["Content-Type"] = "application/json", ["X-Forwarded-For"] = client}},
    '{{"email": "' .. pick() .. '", "password": "{PASSWORD}"}}')
end
"#
            ),
        },
        get("web_profile_page", s.web_members.iter().map(|c| q(c)).collect(), "/profile", "Cookie"),
        get("web_team_page", s.web_admins.iter().map(|c| q(c)).collect(), "/team", "Cookie"),
    ]
}

/// The member columns the server reads (sea-orm selects every column).
const MEMBER_COLUMNS: &str = "id, org_id, role, status, username, email, email_key, password_hash, \
invitation_digest, invitation_expires_at, first_name, last_name, phone, company, job_title, linkedin, \
profile_version, notify_low_credits, notify_weekly_digest, notify_product_news, export_format, \
export_include_emails, export_include_phones, timezone, offerings, created_at, erased_at";

/// The pgbench script of one allocation: the statements of the server's unit of work, as
/// PostgreSQL's log shows them (`log_statement = all`): read the acting member and the target
/// (one `id IN (…)` read of both rows, all columns; pgbench keeps only the target's
/// organisation), lock the pool and the allocation, update the pool, upsert the allocation,
/// append the ledger entry and the audit entry. The target is bulk member `k`, random over
/// `members`; the actor is the first bulk member of the same organisation (a primary-key read
/// like the server's read of the admin, whose id pgbench cannot compute).
fn pgbench_script(members: u64, per_org: u64) -> String {
    let uuid =
        |v: &str| format!("('b0000000-0000-4000-8000-' || lpad(to_hex(:{v}), 12, '0'))::uuid");
    let (k, a) = (uuid("k"), uuid("a"));
    format!(
        r"\set k random(1, {members})
\set a ((:k - 1) / {per_org}) * {per_org} + 1
BEGIN;
SELECT (array_agg(org_id) FILTER (WHERE id = {k}))[1] AS org_id, count(*) AS n FROM (SELECT {MEMBER_COLUMNS} FROM members WHERE erased_at IS NULL AND id IN ({a}, {k})) pair \gset m_
SELECT org_id, kind, total, allocated, spent_from_pool FROM credit_pools WHERE org_id = ':m_org_id' AND kind = 'export' LIMIT 1 FOR NO KEY UPDATE;
SELECT member_id, kind, org_id, allocated, used FROM allocations WHERE member_id = {k} AND kind = 'export' LIMIT 1 FOR NO KEY UPDATE;
UPDATE credit_pools SET total = total, allocated = allocated + 1, spent_from_pool = spent_from_pool WHERE org_id = ':m_org_id' AND kind = 'export';
INSERT INTO allocations (member_id, kind, org_id, allocated, used) VALUES ({k}, 'export', ':m_org_id', 1, 0) ON CONFLICT (member_id, kind) DO UPDATE SET org_id = excluded.org_id, allocated = allocations.allocated + 1, used = allocations.used;
INSERT INTO ledger_entries (id, org_id, kind, entry_type, amount, member_id, actor_kind, actor_member_id, acting_as, spender_id, at, reason, data_type, provider, event_id) VALUES (gen_random_uuid(), ':m_org_id', 'export', 'allocate', 1, {k}, 'member', {a}, NULL, {k}, now(), NULL, NULL, NULL, NULL);
INSERT INTO audit_entries (id, org_id, at, actor_kind, actor_member_id, acting_as, action, target, detail) VALUES (gen_random_uuid(), ':m_org_id', now(), 'member', {a}, NULL, 'credits.allocated', 'member:' || {k}, 'kind=export amount=1');
COMMIT;
"
    )
}

/// The pgbench script of `GET /api/v1/me`: the one statement the server issues for it on
/// PostgreSQL (no transaction around it), as its log shows it (`log_statement = all`): the
/// session by primary key, left-joined to its member and the member's organisation, every
/// column of the three (sea-orm selects every column of each entity; `*` per table keeps the
/// script right when a column is added). `sessions` are the ids of the sessions the load
/// uses, one picked at random per transaction by an index into an array constant, which
/// `-M prepared` parses once, as the server's prepared statement is.
fn pgbench_get_me_script(sessions: &[String]) -> String {
    format!(
        r#"\set i random(1, {n})
SELECT "sessions".*, "members".*, "organisations".* FROM "sessions" LEFT JOIN "members" ON "sessions"."member_id" = "members"."id" LEFT JOIN "organisations" ON "members"."org_id" = "organisations"."id" WHERE "sessions"."id" = ('{{{ids}}}'::uuid[])[:i] LIMIT 1;
"#,
        n = sessions.len().max(1),
        ids = sessions.join(","),
    )
}

/// Runs pgbench with `script` (and `options`, such as `-M prepared`) at the bench's
/// concurrency for `secs` seconds; the slice with every transaction's latency.
fn pgbench(
    out_dir: &Path,
    name: &str,
    url: &str,
    script: &str,
    secs: u32,
    options: &[&str],
) -> Result<Slice, String> {
    let path = out_dir.join(format!("{name}.sql"));
    fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
    let log_dir = out_dir.join(format!("{name}-log"));
    let _ = fs::remove_dir_all(&log_dir);
    fs::create_dir_all(&log_dir).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("pgbench");
    cmd.current_dir(&log_dir)
        .args(["-n", "-c", &CONNECTIONS.to_string(), "-j", &THREADS.to_string()])
        .args(options)
        .args(["-T", &secs.to_string(), "-l", "--log-prefix=tx", "-f"])
        .arg(&path)
        .arg(url);
    eprintln!("bench: {name}: pgbench -c{CONNECTIONS} -j{THREADS} -T{secs} {}", options.join(" "));
    let text = output(cmd)?;
    fs::write(out_dir.join(format!("{name}.pgbench.txt")), &text).map_err(|e| e.to_string())?;
    let tps = report::pgbench_tps(&text)?;
    let failed = report::pgbench_failed(&text);
    let mut latencies = Vec::new();
    for entry in fs::read_dir(&log_dir).map_err(|e| e.to_string())?.flatten() {
        let log = fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
        latencies.extend(report::pgbench_latencies_us(&log));
    }
    let mut slice = Slice::from_latencies_us(f64::from(secs), failed, latencies);
    // pgbench's rate leaves out the time its 64 connections took to open.
    slice.count = tps * f64::from(secs);
    Ok(slice)
}

/// The baselines shared by both backends: the bare poem endpoint, which stays up for the whole
/// run (targets pair it with their scenario's slices), and argon2id's hash rate.
struct Baselines {
    /// Its own row, measured alone before the backends.
    poem: Row,
    poem_server: Process,
    /// The bare endpoint's wrk script.
    poem_script: PathBuf,
    bin_dir: PathBuf,
    /// Measured alone before the backends, for the table's heading.
    argon2_per_core: f64,
    cores: u32,
}

fn baselines(bin_dir: &Path, out_dir: &Path, secs: u32) -> Result<Baselines, String> {
    let addr = format!("127.0.0.1:{}", free_port()?);
    let (out, err) = log_file(&out_dir.join("poem-baseline.log"))?;
    let mut child = Command::new(bin_dir.join("poem-baseline"))
        .args(["serve", &addr])
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("starting poem-baseline: {e}"))?;
    wait_ready(&addr, "/", &mut child)?;
    let poem = Process { child, addr };
    let script = wrk::script(&[], THREADS, "poem", "");
    let (summary, rss) = load(
        out_dir,
        "baseline_poem_bare",
        &format!("http://{}/", poem.addr),
        &script,
        secs,
        poem.pid(),
    )?;
    let argon2_per_core = argon2_rate(bin_dir, 3)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    eprintln!("bench: argon2id m=7MiB t=5 p=1: {argon2_per_core:.1} hashes/s on one core");
    Ok(Baselines {
        poem: Row::measured("baseline_poem_bare", "poem", &summary, rss),
        poem_server: poem,
        poem_script: out_dir.join("baseline_poem_bare.lua"),
        bin_dir: bin_dir.to_owned(),
        argon2_per_core,
        cores,
    })
}

/// argon2id hashes per second on one core with the server's parameters, over `secs` seconds.
fn argon2_rate(bin_dir: &Path, secs: u32) -> Result<f64, String> {
    let rate = output({
        let mut c = Command::new(bin_dir.join("poem-baseline"));
        c.args(["argon2", &secs.to_string()]);
        c
    })?;
    rate.trim().parse::<f64>().map_err(|e| format!("argon2 rate `{rate}`: {e}"))
}

/// The ids of the sessions the load's members hold (API and console).
fn member_session_ids(db: &Db) -> Result<Vec<String>, String> {
    let out = db.run(
        "SELECT s.id FROM sessions s JOIN members m ON m.id = s.member_id \
         WHERE m.username LIKE 'bench-m%' ORDER BY s.id;",
    )?;
    Ok(out.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
}

/// A baseline a scenario's target names, loaded in slices paired with the scenario's.
enum Baseline {
    /// The bare poem endpoint.
    Bare,
    /// argon2id on one core, times the cores.
    Argon2,
    /// pgbench running `script` with `options`; the baseline gets a row of its own.
    Pgbench { name: &'static str, script: String, options: &'static [&'static str] },
    /// The rusqlite allocation over bulk members `1..=members`; a row of its own.
    Rusqlite { name: &'static str, members: u64 },
}

impl Baseline {
    fn name(&self, base: &Baselines) -> String {
        match self {
            Self::Bare => "baseline_poem_bare".to_owned(),
            Self::Argon2 => format!("argon2id_hashes_per_s_x{}_cores", base.cores),
            Self::Pgbench { name, .. } | Self::Rusqlite { name, .. } => (*name).to_owned(),
        }
    }

    /// Whether the baseline is measured only here, so its slices make a row of the table.
    fn has_row(&self) -> bool {
        matches!(self, Self::Pgbench { .. } | Self::Rusqlite { .. })
    }
}

/// The baselines a scenario's targets name, each with the least ratio its target asks for
/// (docs/benchmarks.md, "Targets"); empty for a scenario without a ratio target.
fn paired_baselines(
    scenario: &str,
    db: &Db,
    size: Size,
) -> Result<Vec<(Baseline, Option<f64>)>, String> {
    let per_org = size.per_org - 1;
    let hot = per_org.min(size.bulk());
    Ok(match (scenario, db) {
        ("get_me", Db::Sqlite(_)) => vec![(Baseline::Bare, Some(0.5))],
        ("get_me", Db::Postgres(_)) => vec![
            (Baseline::Bare, Some(0.15)),
            (
                Baseline::Pgbench {
                    name: "pgbench_get_me",
                    script: pgbench_get_me_script(&member_session_ids(db)?),
                    options: &["-M", "prepared"],
                },
                Some(0.5),
            ),
        ],
        ("allocate_spread", Db::Sqlite(_)) => vec![(
            Baseline::Rusqlite { name: "rusqlite_allocate_spread", members: size.bulk() },
            Some(0.5),
        )],
        ("allocate_hot_pool", Db::Sqlite(_)) => vec![(
            Baseline::Rusqlite { name: "rusqlite_allocate_hot_pool", members: hot },
            Some(0.5),
        )],
        ("allocate_spread", Db::Postgres(_)) => vec![(
            Baseline::Pgbench {
                name: "pgbench_allocate_spread",
                script: pgbench_script(size.bulk(), per_org),
                options: &[],
            },
            Some(0.7),
        )],
        ("allocate_hot_pool", Db::Postgres(_)) => vec![(
            Baseline::Pgbench {
                name: "pgbench_allocate_hot_pool",
                script: pgbench_script(hot, per_org),
                options: &[],
            },
            None,
        )],
        ("login", _) => vec![(Baseline::Argon2, Some(0.9))],
        _ => Vec::new(),
    })
}

/// Seconds per slice of a paired measurement; a scenario runs `secs / SLICE_SECS` of them
/// (at least one), and so does each of its baselines.
const SLICE_SECS: u32 = 2;

/// Runs wrk with the script at `script` against `url` for `secs` seconds; one slice (wrk's
/// output is kept in `<name>.wrk.txt`, the last slice's).
fn wrk_slice(
    dir: &Path,
    name: &str,
    url: &str,
    script: &Path,
    secs: u32,
    shape: Shape,
) -> Result<Slice, String> {
    let text = run_wrk(script, url, secs, shape)?;
    let summary = read_wrk(dir, name, &text)?;
    Ok(Slice {
        count: summary.requests as f64,
        seconds: summary.seconds,
        errors: summary.errors,
        permille_ms: wrk::permille_ms(&text),
    })
}

/// Waits (at most 5 s) until process `pid` has used at most 10 ms of CPU in 100 ms: work a slice
/// left queued (log-ins waiting for a hashing thread) is done before the next slice starts.
fn settle(pid: u32) {
    let ticks = || -> Option<u64> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The fields after the command's closing parenthesis; utime and stime are 14 and 15.
        let rest = stat.rsplit_once(')')?.1;
        let mut fields = rest.split_whitespace().skip(11);
        Some(fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?)
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = ticks();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let now = ticks();
        if now.zip(last).is_none_or(|(now, last)| now.saturating_sub(last) <= 1) {
            return;
        }
        last = now;
    }
}

/// Server processes in the scale-out scenario.
const PROCESSES: u32 = 3;

/// `allocate_spread` against [`PROCESSES`] server processes on one PostgreSQL database,
/// paired with the same load against `first` alone: one wrk whose threads each connect to one
/// process (wrk's `setup()` sets each thread's address), so the latencies of all of them land
/// in one histogram; 21 connections per thread (63 in all). The others start here and stop
/// after. RSS is the first process's.
fn scale_out(
    bin_dir: &Path,
    dir: &Path,
    db_url: &str,
    first: &Process,
    scenario: &Scenario,
    nonce: &str,
    size: Size,
) -> Result<Row, String> {
    let mut ports = vec![port_of(&first.addr)?];
    let mut others = Vec::new();
    for n in 2..=PROCESSES {
        let p = start_server(&bin_dir.join("accounts"), db_url, dir, &format!("server-{n}.log"))?;
        ports.push(port_of(&p.addr)?);
        others.push(p);
    }
    let name = "allocate_spread_3_servers";
    let request = format!(
        "PORTS = {{{}}}\n{}{}",
        ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
        scenario.request,
        wrk::STATUSES
    );
    let script = wrk::script(&scenario.items, PROCESSES, &format!("{nonce}-{name}"), &request);
    let three = write_script(dir, name, &script)?;
    let one = write_script(dir, scenario.name, &scenario.script(nonce))?;
    let shape = Shape { threads: PROCESSES, connections: CONNECTIONS / PROCESSES * PROCESSES };
    let url = format!("http://{}", first.addr);
    eprintln!("bench: {name}: wrk -t{} -c{} in slices", shape.threads, shape.connections);
    let sides: Vec<Side<'_>> = vec![
        Box::new(|secs| wrk_slice(dir, name, &url, &three, secs, shape)),
        Box::new(|secs| wrk_slice(dir, scenario.name, &url, &one, secs, SHAPE)),
    ];
    let (slices, rss) = paired_slices(sides, size, &[first.pid()]);
    drop(others);
    let slices = slices?;
    let mut row = Row::merged(name, "postgres", &paired::merge(&slices[0]), Some(rss));
    row.compare("allocate_spread (1 process)", paired::merge(&slices[1]).rps, Some(1.0));
    Ok(row)
}

/// Runs `sides` in paired slices ([`paired::run`]) for a run of `size`, settling `pids` after
/// each slice and sampling the first one's RSS; each side's slices and the highest RSS.
fn paired_slices(
    mut sides: Vec<Side<'_>>,
    size: Size,
    pids: &[u32],
) -> (Result<Vec<Vec<Slice>>, String>, f64) {
    let rounds = (size.secs / SLICE_SECS).max(1);
    let secs = size.secs.min(SLICE_SECS);
    sampling(pids[0], || {
        paired::run(&mut sides, rounds, secs, || pids.iter().copied().for_each(settle))
    })
}

fn port_of(addr: &str) -> Result<u16, String> {
    addr.rsplit(':').next().and_then(|p| p.parse().ok()).ok_or_else(|| format!("no port in {addr}"))
}

/// Writes a wrk script as `<dir>/<name>.lua`; its path.
fn write_script(dir: &Path, name: &str, script: &str) -> Result<PathBuf, String> {
    let path = dir.join(format!("{name}.lua"));
    fs::write(&path, script).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// One scenario on one backend: alone when no target names a baseline (the ratio to the bare
/// endpoint's own row is then for reference), or in slices paired with the baselines its
/// targets name; its row and those of the baselines measured only here.
fn bench_scenario(
    sc: &Scenario,
    db: &Db,
    server: &Process,
    size: Size,
    nonce: &str,
    base: &Baselines,
    dir: &Path,
) -> Result<Vec<Row>, String> {
    let backend = db.backend();
    let url = format!("http://{}", server.addr);
    let script = sc.script(nonce);
    let pairs = paired_baselines(sc.name, db, size)?;
    if pairs.is_empty() {
        let (summary, rss) = load(dir, sc.name, &url, &script, size.secs, server.pid())?;
        let mut row = Row::measured(sc.name, backend, &summary, rss);
        row.compare("baseline_poem_bare", base.poem.rps, None);
        if sc.name == "usage_year_10k_entries" {
            row.p99_target_ms = Some(25.0);
        }
        return Ok(vec![row]);
    }
    let path = write_script(dir, sc.name, &script)?;
    let bare_url = &format!("http://{}/", base.poem_server.addr);
    let per_org = size.per_org - 1;
    let mut sides: Vec<Side<'_>> =
        vec![Box::new(|secs| wrk_slice(dir, sc.name, &url, &path, secs, SHAPE))];
    for (baseline, _) in &pairs {
        let name = baseline.name(base);
        eprintln!("bench: {}: paired with {name}", sc.name);
        sides.push(match baseline {
            Baseline::Bare => Box::new(move |secs| {
                wrk_slice(dir, &name, bare_url, &base.poem_script, secs, SHAPE)
            }),
            Baseline::Argon2 => Box::new(|secs| {
                let rate = argon2_rate(&base.bin_dir, secs)?;
                let seconds = f64::from(secs);
                let count = rate * f64::from(base.cores) * seconds;
                Ok(Slice { count, seconds, ..Slice::default() })
            }),
            Baseline::Pgbench { name, script, options } => {
                let Db::Postgres(db_url) = db else { unreachable!("pgbench runs on PostgreSQL") };
                Box::new(move |secs| pgbench(dir, name, db_url, script, secs, options))
            }
            Baseline::Rusqlite { name, members } => {
                let Db::Sqlite(file) = db else { unreachable!("rusqlite runs on SQLite") };
                Box::new(move |secs| sqlite_alloc::run(file, name, *members, per_org, secs))
            }
        });
    }
    eprintln!("bench: {}: wrk -t{THREADS} -c{CONNECTIONS} in slices {url}", sc.name);
    let (slices, rss) = paired_slices(sides, size, &[server.pid()]);
    let slices = slices?;
    let mut rows = vec![Row::merged(sc.name, backend, &paired::merge(&slices[0]), Some(rss))];
    for ((baseline, min), slices) in pairs.iter().zip(&slices[1..]) {
        let merged = paired::merge(slices);
        let name = baseline.name(base);
        rows[0].compare(&name, merged.rps, *min);
        if baseline.has_row() {
            rows.push(Row::merged(&name, backend, &merged, None));
        }
    }
    Ok(rows)
}

/// One backend: fresh database, server, seed, the scenarios (each with the baselines its
/// targets name), the scale-out scenario (PostgreSQL), invariants.
fn bench_backend(
    bin_dir: &Path,
    out_dir: &Path,
    db: &Db,
    db_url: &str,
    size: Size,
    base: &Baselines,
    only: &Only,
) -> Result<(Vec<Row>, Vec<String>), String> {
    let backend = db.backend();
    let dir = out_dir.join(backend);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut server = start_server(&bin_dir.join("accounts"), db_url, &dir, "server.log")?;
    let now = unix_now();
    let seeded = seed(&server, db, size, now)?;
    let (mut rows, mut baseline_rows) = (Vec::new(), Vec::new());
    let nonce = format!("{}-{now}", std::process::id());
    let scenarios = scenarios(&seeded, size);
    for sc in scenarios.iter().filter(|sc| only.scenario(sc.name)) {
        let mut measured = bench_scenario(sc, db, &server, size, &nonce, base, &dir)?.into_iter();
        if let Some(row) = measured.next() {
            eprintln!("bench: {}", row.summary());
            rows.push(row);
        }
        baseline_rows.extend(measured);
    }
    if matches!(db, Db::Postgres(_))
        && only.scenario("allocate_spread_3_servers")
        && let Some(sc) = scenarios.iter().find(|s| s.name == "allocate_spread")
    {
        let row = scale_out(bin_dir, &dir, db_url, &server, sc, &nonce, size)?;
        eprintln!("bench: {}", row.summary());
        rows.push(row);
    }
    server.stop();
    let broken = seed::invariant_failures(&db.run(seed::INVARIANTS_SQL)?)?;
    if broken.is_empty() {
        eprintln!(
            "bench: {backend}: invariants hold (pools, allocations and consumption roll-ups equal their ledger sums, none over-allocated)"
        );
    }
    rows.extend(baseline_rows);
    Ok((rows, broken.into_iter().map(|b| format!("{backend}: {b}")).collect()))
}

fn pg_database_url(base: &str, name: &str) -> String {
    let (no_query, query) = base.split_once('?').map_or((base, ""), |(a, b)| (a, b));
    let prefix = match no_query.rfind('/') {
        Some(i) if i > "postgres://".len() => &no_query[..i],
        _ => no_query,
    };
    if query.is_empty() { format!("{prefix}/{name}") } else { format!("{prefix}/{name}?{query}") }
}

/// What one run loads: every scenario on every backend, or the ones named
/// (`--only get_me,login --backend postgres`). A filtered run does not update the docs.
#[derive(Debug, Clone, Default)]
pub struct Only {
    pub scenarios: Option<Vec<String>>,
    pub backend: Option<String>,
}

impl Only {
    /// From `--only a,b` and `--backend sqlite|postgres` in `args`.
    ///
    /// # Errors
    /// A flag without its value, or an unknown backend.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let value = |flag: &str| -> Result<Option<String>, String> {
            match args.iter().position(|a| a == flag) {
                None => Ok(None),
                Some(i) => args
                    .get(i + 1)
                    .filter(|v| !v.starts_with("--"))
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| format!("{flag} needs a value")),
            }
        };
        let scenarios =
            value("--only")?.map(|v| v.split(',').map(|s| s.trim().to_owned()).collect());
        let backend = value("--backend")?;
        if let Some(b) = &backend
            && b != "sqlite"
            && b != "postgres"
        {
            return Err(format!("--backend {b}: use sqlite or postgres"));
        }
        Ok(Self { scenarios, backend })
    }

    fn is_filtered(&self) -> bool {
        self.scenarios.is_some() || self.backend.is_some()
    }

    fn scenario(&self, name: &str) -> bool {
        self.scenarios.as_ref().is_none_or(|names| names.iter().any(|n| n == name))
    }

    fn backend(&self, name: &str) -> bool {
        self.backend.as_ref().is_none_or(|b| b == name)
    }
}

/// `cargo xtask bench [--quick] [--keep] [--only …] [--backend …]`; `keep` leaves the
/// PostgreSQL database.
pub fn bench(root: &Path, quick: bool, keep: bool, only: &Only) -> Result<(), String> {
    let size = if quick { QUICK } else { FULL };
    let started = Instant::now();
    ensure_tool("wrk", "wrk")?;
    ensure_tool("sqlite3", "sqlite3")?;
    let pg = std::env::var("ACCOUNTS_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty());
    if pg.is_some() {
        ensure_tool("psql", "postgresql-client")?;
        ensure_tool("pgbench", "postgresql-client")?;
    }
    // One package per build, so that the server is built with its own features (a joint
    // build would unify tokio's features across both and rebuild the server's tree).
    for package in ["account-server", "poem-baseline"] {
        let mut build = cargo();
        build.current_dir(root).args(["build", "--profile", "dist", "--package", package]);
        run(build)?;
    }
    let target = target_dir(root);
    let bin_dir = target.join("dist");
    let out_dir = target.join("bench");
    fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;

    let base = baselines(&bin_dir, &out_dir, size.secs)?;
    let mut rows = vec![base.poem.clone()];
    let mut broken = Vec::new();

    if only.backend("sqlite") {
        let sqlite_path = out_dir.join("sqlite").join("accounts.db");
        let sqlite = Db::Sqlite(sqlite_path.clone());
        let (r, b) = bench_backend(
            &bin_dir,
            &out_dir,
            &sqlite,
            &format!("sqlite://{}?mode=rwc", sqlite_path.display()),
            size,
            &base,
            only,
        )?;
        rows.extend(r);
        broken.extend(b);
    }

    if let Some(pg) = pg.filter(|_| only.backend("postgres")) {
        let name = format!("accounts_bench_{}", std::process::id());
        let admin = Db::Postgres(pg.clone());
        admin.run(&format!("DROP DATABASE IF EXISTS {name};"))?;
        admin.run(&format!("CREATE DATABASE {name};"))?;
        let url = pg_database_url(&pg, &name);
        let result =
            bench_backend(&bin_dir, &out_dir, &Db::Postgres(url.clone()), &url, size, &base, only);
        let dropped = if keep {
            eprintln!("bench: --keep: the PostgreSQL database stays, at {url}");
            Ok(String::new())
        } else {
            admin.run(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE);"))
        };
        let (r, b) = result?;
        dropped?;
        rows.extend(r);
        broken.extend(b);
    } else {
        eprintln!("bench: ACCOUNTS_TEST_POSTGRES_URL is not set: PostgreSQL was not benchmarked");
    }

    let machine = report::Machine::detect(base.cores, base.argon2_per_core);
    let json = report::to_json(&rows);
    let json_path = out_dir.join("results.json");
    fs::write(&json_path, &json).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let table = report::markdown(&rows, &machine, quick, &size_text(size));
    fs::write(out_dir.join("benchmarks.md"), &table).map_err(|e| e.to_string())?;
    eprintln!("\n{table}");
    eprintln!("bench: wrote {} in {:.0?}", json_path.display(), started.elapsed());
    if !quick && !only.is_filtered() {
        report::update_docs(&root.join("docs/benchmarks.md"), &table)?;
        eprintln!("bench: updated docs/benchmarks.md");
    }

    let errored: Vec<String> = rows
        .iter()
        .filter(|r| r.errors > 0)
        .map(|r| format!("{} on {}: {} errors", r.scenario, r.backend, r.errors))
        .collect();
    if !errored.is_empty() || !broken.is_empty() {
        return Err(format!(
            "the bench failed:\n  {}",
            errored.into_iter().chain(broken).collect::<Vec<_>>().join("\n  ")
        ));
    }
    Ok(())
}

fn size_text(s: Size) -> String {
    format!(
        "{} organisations, {} members, {} ledger entries over a year ({} on the reported member), {} s per scenario, {} connections",
        s.orgs,
        s.orgs * s.per_org,
        s.ledger_rows,
        s.heavy,
        s.secs,
        CONNECTIONS
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_picks_scenarios_and_a_backend() {
        let args = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let all = Only::parse(&args("bench --quick")).unwrap();
        assert!(!all.is_filtered() && all.scenario("login") && all.backend("postgres"));
        let some = Only::parse(&args("bench --only get_me,login --backend sqlite")).unwrap();
        assert!(some.is_filtered() && some.scenario("login") && !some.scenario("consume"));
        assert!(some.backend("sqlite") && !some.backend("postgres"));
        assert!(Only::parse(&args("bench --only")).unwrap_err().contains("--only"));
        assert!(Only::parse(&args("bench --only --quick")).is_err());
        assert!(Only::parse(&args("bench --backend mysql")).unwrap_err().contains("mysql"));
    }

    #[test]
    fn dates_from_day_counts() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(19_723), "2024-01-01");
        assert_eq!(date(19_782), "2024-02-29");
        assert_eq!(date(-1), "1969-12-31");
    }

    #[test]
    fn bench_database_urls_replace_only_the_database() {
        assert_eq!(
            pg_database_url("postgres://postgres@127.0.0.1:5432/test", "b1"),
            "postgres://postgres@127.0.0.1:5432/b1"
        );
        assert_eq!(
            pg_database_url("postgres://u:p@h/test?sslmode=disable", "b1"),
            "postgres://u:p@h/b1?sslmode=disable"
        );
    }

    #[test]
    fn pgbench_script_computes_the_same_member_ids_as_the_seed() {
        let s = pgbench_script(99, 33);
        assert!(s.starts_with("\\set k random(1, 99)"));
        assert!(s.contains("'b0000000-0000-4000-8000-'"));
        assert!(seed::member_uuid(1).starts_with("b0000000-0000-4000-8000-"));
    }
}
