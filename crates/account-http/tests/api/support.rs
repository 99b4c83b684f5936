//! Helpers shared by the tests: the app over the in-memory domain, a client that checks every
//! response against the OpenAPI document and the problem+json shape, mail reading, and a store
//! whose faults can be switched on.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use account_core::domain::mail::MailMessage;
use account_core::ports::{Keyring, PasswordHasher, Store, StoreError, Tx};
use account_core::{Accounts, Ports, Settings};
use account_http::{HttpConfig, HttpServer, OperatorToken, PROBLEM_BASE, ProblemType};
use account_memory::{
    FastPasswordHasher, FixedClock, InMemory, MemoryStore, SeededRandom, TestKeyring,
};
use async_trait::async_trait;
use poem::endpoint::BoxEndpoint;
use poem::http::{HeaderMap, Method};
use poem::test::TestClient;
use serde_json::{Value, json};

/// The operator token every test app is configured with.
pub const OPERATOR_TOKEN: &str = "op-token-0123456789abcdef0123456789abcdef";
/// A password that meets the policy.
pub const PASSWORD: &str = "quartz wombat ferry lantern";

/// How a request authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    None,
    /// `Authorization: Bearer`.
    Bearer(String),
    /// `X-Api-Key`.
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
    pub headers: HeaderMap,
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

    /// The problem's slug (the last part of `type`).
    pub fn slug(&self) -> String {
        self.body["type"].as_str().unwrap_or_default().trim_start_matches(PROBLEM_BASE).to_owned()
    }

    /// Panics unless this is the problem `slug` with `status`.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, slug: &str) -> &Self {
        self.expect(status);
        assert_eq!(self.slug(), slug, "unexpected problem type; body: {}", self.text);
        self
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// A string field of the body.
    #[track_caller]
    pub fn str(&self, pointer: &str) -> String {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no string at {pointer} in {}", self.text))
            .to_owned()
    }

    /// An integer field of the body.
    #[track_caller]
    pub fn int(&self, pointer: &str) -> i64 {
        self.body
            .pointer(pointer)
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("no integer at {pointer} in {}", self.text))
    }

    /// The `field`s of a validation problem.
    pub fn invalid_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

/// An operation of the OpenAPI document.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub method: String,
    pub path: String,
    pub statuses: BTreeSet<u16>,
    pub has_body: bool,
    pub has_params: bool,
    pub secured: bool,
    pub summary: String,
    pub tags: Vec<String>,
}

/// The operations of the document, parsed once.
pub fn operations() -> &'static [Operation] {
    static OPS: OnceLock<Vec<Operation>> = OnceLock::new();
    OPS.get_or_init(|| {
        let doc: Value = serde_json::from_str(&account_http::openapi_json()).unwrap();
        let mut ops = Vec::new();
        for (path, methods) in doc["paths"].as_object().unwrap() {
            for (method, op) in methods.as_object().unwrap() {
                ops.push(Operation {
                    id: op["operationId"].as_str().unwrap().to_owned(),
                    method: method.to_uppercase(),
                    path: path.clone(),
                    statuses: op["responses"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .map(|k| k.parse().unwrap())
                        .collect(),
                    has_body: op.get("requestBody").is_some(),
                    has_params: op
                        .get("parameters")
                        .is_some_and(|p| !p.as_array().unwrap().is_empty()),
                    summary: op["summary"].as_str().unwrap_or_default().to_owned(),
                    tags: op["tags"]
                        .as_array()
                        .map(|t| t.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default(),
                    secured: op.get("security").is_some_and(|s| !s.as_array().unwrap().is_empty()),
                });
            }
        }
        ops
    })
}

fn matches(template: &str, path: &str) -> bool {
    let t: Vec<_> = template.trim_matches('/').split('/').collect();
    let p: Vec<_> = path.trim_matches('/').split('/').collect();
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| t.starts_with('{') || t == p)
}

/// The operation serving `method` `path` (under `/api/v1`), if any.
pub fn operation_for(method: &str, path: &str) -> Option<&'static Operation> {
    let path = path.split('?').next()?.strip_prefix("/api/v1")?;
    let candidates: Vec<_> =
        operations().iter().filter(|o| o.method == method && matches(&o.path, path)).collect();
    // A literal segment beats a parameter (`/auth/sessions/revoke-others`).
    candidates.into_iter().max_by_key(|o| o.path.split('/').filter(|s| !s.starts_with('{')).count())
}

/// Checks what every response must satisfy: a request id; a problem+json body of a known
/// type for errors; a status the operation declares.
#[track_caller]
pub fn check_response(method: &str, path: &str, resp: &Resp) {
    assert!(resp.header("x-request-id").is_some(), "no X-Request-Id on {method} {path}");
    if resp.status >= 400 {
        assert_eq!(
            resp.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{method} {path} answered {} without problem+json: {}",
            resp.status,
            resp.text
        );
        for field in ["type", "title", "detail"] {
            assert!(resp.body[field].is_string(), "problem without {field}: {}", resp.text);
        }
        assert_eq!(resp.body["status"].as_u64(), Some(u64::from(resp.status)), "{}", resp.text);
        let slug = resp.slug();
        let ty = ProblemType::ALL.iter().find(|t| t.slug() == slug);
        let ty = ty.unwrap_or_else(|| panic!("unknown problem type {slug}: {}", resp.text));
        assert_eq!(ty.status(), resp.status, "{slug} sent with the wrong status");
        assert_eq!(resp.body["title"].as_str(), Some(ty.title()));
        if resp.status >= 500 {
            assert!(resp.body["request_id"].is_string(), "5xx without request_id: {}", resp.text);
        }
        // Every unreadable request and every field at fault is named, in one shape: all 400s
        // and 422s, but for a flow that sent its last code (no field of the request is at
        // fault: the flow must start again).
        if resp.status == 400 || (resp.status == 422 && slug != "code-resend-exhausted") {
            let errors = resp.body["errors"].as_array();
            let named = errors.is_some_and(|e| {
                !e.is_empty()
                    && e.iter().all(|f| {
                        f["field"].as_str().is_some_and(|s| !s.is_empty())
                            && f["message"].as_str().is_some_and(|s| !s.is_empty())
                    })
            });
            assert!(
                named,
                "{method} {path}: {} names no field in `errors`: {}",
                resp.status, resp.text
            );
        }
    }
    if let Some(op) = operation_for(method, path) {
        // `RECORD_COVERAGE=<file>` appends every (operation, status) seen, to find
        // documented statuses that no test reaches.
        if let Some(file) = std::env::var_os("RECORD_COVERAGE") {
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(file).unwrap();
            f.write_all(format!("{} {}\n", op.id, resp.status).as_bytes()).unwrap();
        }
        assert!(
            op.statuses.contains(&resp.status),
            "{} ({method} {path}) answered {} which its document does not declare; body: {}",
            op.id,
            resp.status,
            resp.text
        );
    }
}

/// A store whose `read`/`write` fail on demand.
#[derive(Debug)]
pub struct FaultyStore {
    inner: MemoryStore,
    mode: AtomicU8,
}

/// What [`FaultyStore`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None = 0,
    Unavailable = 1,
    Broken = 2,
}

impl FaultyStore {
    pub fn set(&self, fault: Fault) {
        self.mode.store(fault as u8, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        match self.mode.load(Ordering::SeqCst) {
            1 => Err(StoreError::Unavailable("the database is down (test)".into())),
            2 => Err(StoreError::Other("secret internal detail: disk on fire".into())),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.check()?;
        self.inner.write().await
    }

    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.check()?;
        self.inner.read().await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.check()?;
        self.inner.ping().await
    }
}

/// The app under test.
pub struct App {
    pub accounts: Accounts,
    pub clock: Arc<FixedClock>,
    pub store: MemoryStore,
    pub faults: Option<Arc<FaultyStore>>,
    pub cli: TestClient<BoxEndpoint<'static, poem::Response>>,
}

fn config() -> HttpConfig {
    HttpConfig {
        operator_token: Some(OperatorToken::new(OPERATOR_TOKEN).unwrap()),
        ..HttpConfig::default()
    }
}

/// A fresh app over `InMemory::new`.
pub fn app() -> App {
    app_with(config())
}

/// A fresh app over `InMemory::new`, with `config`.
pub fn app_with(config: HttpConfig) -> App {
    crate::server::capture();
    let mem = InMemory::new(7);
    let server = HttpServer::new(mem.accounts.clone(), config);
    App {
        accounts: mem.accounts,
        clock: mem.clock,
        store: (*mem.store).clone(),
        faults: None,
        cli: TestClient::new(server.endpoint()),
    }
}

/// A fresh app over the in-memory adapters with a store whose faults can be switched on.
pub fn faulty_app() -> App {
    crate::server::capture();
    let clock = Arc::new(FixedClock::default());
    let store = MemoryStore::new();
    let faulty = Arc::new(FaultyStore { inner: store.clone(), mode: AtomicU8::new(0) });
    let ports = Ports {
        store: faulty.clone(),
        clock: clock.clone(),
        random: Arc::new(SeededRandom::new(7)),
        passwords: Arc::new(FastPasswordHasher::new()),
        keyring: Arc::new(TestKeyring::new(b"account-memory test key")),
    };
    let accounts = Accounts::new(ports, Settings::default());
    let server = HttpServer::new(accounts.clone(), config());
    App { accounts, clock, store, faults: Some(faulty), cli: TestClient::new(server.endpoint()) }
}

/// A fresh app over the in-memory adapters with `passwords` as the password hasher.
pub fn app_with_hasher(passwords: Arc<dyn PasswordHasher>) -> App {
    crate::server::capture();
    let clock = Arc::new(FixedClock::default());
    let store = MemoryStore::new();
    let ports = Ports {
        store: Arc::new(store.clone()),
        clock: clock.clone(),
        random: Arc::new(SeededRandom::new(7)),
        passwords,
        keyring: Arc::new(TestKeyring::new(b"account-memory test key")),
    };
    let accounts = Accounts::new(ports, Settings::default());
    let server = HttpServer::new(accounts.clone(), config());
    App { accounts, clock, store, faults: None, cli: TestClient::new(server.endpoint()) }
}

/// Which mails existed at some point, to find the ones sent after it.
#[derive(Debug, Clone, Default)]
pub struct Mark(BTreeSet<uuid::Uuid>);

/// A member created by the helpers.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// An organisation created by the helpers.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub admin: Person,
}

impl App {
    /// Sends a request and checks the response (see [`check_response`]).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        auth: &Auth,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Resp {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.cli.request(m, path);
        match auth {
            Auth::None => {}
            Auth::Bearer(t) => req = req.header("Authorization", format!("Bearer {t}")),
            Auth::Key(k) => req = req.header("X-Api-Key", k.clone()),
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body_json(b);
        }
        let resp = req.send().await;
        let status = resp.0.status().as_u16();
        let headers = resp.0.headers().clone();
        let bytes = resp.0.into_body().into_bytes().await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let resp = Resp { status, headers, body, text };
        check_response(method, path, &resp);
        resp
    }

    /// Sends a raw body with an optional content type, and checks the response.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        auth: &Auth,
        headers: &[(&str, &str)],
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.cli.request(m, path);
        match auth {
            Auth::None => {}
            Auth::Bearer(t) => req = req.header("Authorization", format!("Bearer {t}")),
            Auth::Key(k) => req = req.header("X-Api-Key", k.clone()),
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(ct) = content_type {
            req = req.content_type(ct);
        }
        let resp = req.body(body).send().await;
        let status = resp.0.status().as_u16();
        let headers = resp.0.headers().clone();
        let bytes = resp.0.into_body().into_bytes().await.unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        let resp = Resp { status, headers, body, text };
        check_response(method, path, &resp);
        resp
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> Resp {
        self.send("GET", path, auth, &[], None).await
    }

    pub async fn post(&self, path: &str, auth: &Auth, body: Value) -> Resp {
        self.send("POST", path, auth, &[], Some(&body)).await
    }

    pub async fn post_empty(&self, path: &str, auth: &Auth) -> Resp {
        self.send("POST", path, auth, &[], None).await
    }

    pub async fn put(&self, path: &str, auth: &Auth, body: Value) -> Resp {
        self.send("PUT", path, auth, &[], Some(&body)).await
    }

    pub async fn put_if(&self, path: &str, auth: &Auth, etag: &str, body: Value) -> Resp {
        self.send("PUT", path, auth, &[("If-Match", etag)], Some(&body)).await
    }

    pub async fn delete(&self, path: &str, auth: &Auth) -> Resp {
        self.send("DELETE", path, auth, &[], None).await
    }

    /// The mails in the outbox now.
    pub async fn mark(&self) -> Mark {
        Mark(self.store.outbox().await.iter().map(|m| m.id.as_uuid()).collect())
    }

    /// Mails to `to` put in the outbox after `mark`.
    pub async fn mails_to(&self, to: &str, since: &Mark) -> Vec<MailMessage> {
        let keyring = TestKeyring::new(b"account-memory test key");
        self.store
            .outbox()
            .await
            .iter()
            .filter(|m| !since.0.contains(&m.id.as_uuid()))
            .filter_map(|m| MailMessage::decode(&keyring.open(&m.sealed).ok()?))
            .filter(|m| m.to.as_str().eq_ignore_ascii_case(to))
            .collect()
    }

    /// The one mail to `to` since `mark`.
    pub async fn mail_to(&self, to: &str, since: &Mark) -> MailMessage {
        let mut mails = self.mails_to(to, since).await;
        assert_eq!(mails.len(), 1, "expected one mail to {to}, got {mails:?}");
        mails.remove(0)
    }

    /// The verification code in the one mail to `to` since `mark`.
    pub async fn code_to(&self, to: &str, since: &Mark) -> String {
        code_in(&self.mail_to(to, since).await)
    }

    /// Creates an organisation through the operator API, with an admin who has a password,
    /// and logs the admin in.
    pub async fn org(&self, name: &str, admin_email: &str, licences: u32) -> Org {
        let created = self
            .post(
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
            )
            .await;
        created.expect(201);
        let token = self.login(admin_email, PASSWORD).await;
        Org {
            id: created.str("/organisation/id"),
            admin: Person { id: created.str("/admin/id"), email: admin_email.to_owned(), token },
        }
    }

    /// Logs in; the session token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .post("/api/v1/auth/login", &Auth::None, json!({"email": email, "password": password}))
            .await;
        r.expect(200);
        r.str("/token")
    }

    /// An admin adds a sub-user, who accepts the invitation and logs in.
    pub async fn member(&self, org: &Org, first_name: &str, email: &str) -> Person {
        let mark = self.mark().await;
        let added = self
            .post(
                "/api/v1/team/members",
                &Auth::bearer(&org.admin.token),
                json!({"first_name": first_name, "email": email}),
            )
            .await;
        added.expect(201);
        let token = invitation_token(&self.mail_to(email, &mark).await);
        self.post(
            "/api/v1/auth/invitation",
            &Auth::None,
            json!({"token": token, "password": PASSWORD}),
        )
        .await
        .expect(200);
        let session = self.login(email, PASSWORD).await;
        Person { id: added.str("/id"), email: email.to_owned(), token: session }
    }

    /// The operator grants credits of `kind` to an organisation.
    pub async fn grant(&self, org: &Org, kind: &str, amount: i64) {
        self.post(
            &format!("/api/v1/operator/organisations/{}/grants", org.id),
            &Auth::operator(),
            json!({"kind": kind, "amount": amount, "reason": "test grant"}),
        )
        .await
        .expect(200);
    }

    /// An admin allocates credits to a sub-user.
    pub async fn allocate(&self, org: &Org, member: &Person, kind: &str, amount: i64) -> Resp {
        self.post(
            &format!("/api/v1/team/members/{}/allocations", member.id),
            &Auth::bearer(&org.admin.token),
            json!({"kind": kind, "amount": amount}),
        )
        .await
    }

    /// The member creates an API key; its secret.
    pub async fn api_key(&self, member: &Person) -> String {
        let r = self
            .post("/api/v1/me/api-keys", &Auth::bearer(&member.token), json!({"label": "test"}))
            .await;
        r.expect(201);
        r.str("/secret")
    }

    /// The member's profile ETag.
    pub async fn profile_etag(&self, token: &str) -> String {
        let r = self.get("/api/v1/me/profile", &Auth::bearer(token)).await;
        r.expect(200);
        r.header("etag").unwrap()
    }
}

/// The 6-digit code in a mail.
pub fn code_in(mail: &MailMessage) -> String {
    let at = mail.body.find("Your code: ").expect("no code in the mail") + "Your code: ".len();
    mail.body[at..at + 6].to_owned()
}

/// The invitation token in an invitation mail.
pub fn invitation_token(mail: &MailMessage) -> String {
    let at = mail.body.find("aci_").expect("no token in the mail");
    mail.body[at..].split_whitespace().next().unwrap().to_owned()
}

/// The password-reset token (the code, which the link repeats) in a reset mail.
pub fn reset_token(mail: &MailMessage) -> String {
    let at = mail.body.find("acr_").expect("no token in the mail");
    mail.body[at..].split_whitespace().next().unwrap().to_owned()
}

#[test]
fn operation_matching_prefers_literal_segments() {
    let op = operation_for("POST", "/api/v1/auth/sessions/revoke-others").unwrap();
    assert_eq!(op.id, "revokeOtherSessions");
    let op = operation_for("DELETE", "/api/v1/auth/sessions/0193").unwrap();
    assert_eq!(op.id, "revokeSession");
    assert!(operation_for("GET", "/docs").is_none());
}

/// Keeps a generated section of a document in `docs/` in sync: the text between the line
/// `<!-- {name}:start … -->` and `<!-- {name}:end -->` must equal `generated`. With
/// `UPDATE_DOCS=1` the section is rewritten instead.
#[track_caller]
pub fn sync_doc_section(file: &str, name: &str, generated: &str) {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs").join(file);
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let start_tag = format!("<!-- {name}:start");
    let end_tag = format!("<!-- {name}:end -->");
    let (Some(start), Some(end)) = (doc.find(&start_tag), doc.find(&end_tag)) else {
        panic!("docs/{file} has no `{start_tag} … -->` / `{end_tag}` markers");
    };
    let body_start = start + doc[start..].find('\n').unwrap() + 1;
    if doc[body_start..end] == *generated {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{generated}{}", &doc[..body_start], &doc[end..])).unwrap();
    } else {
        panic!(
            "the `{name}` section of docs/{file} differs from the code; regenerate it with\n\n    \
             UPDATE_DOCS=1 cargo test -p account-http --test api docs\n"
        );
    }
}
