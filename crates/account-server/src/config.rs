//! Configuration: defaults, then an optional TOML file, then `ACCOUNTS_*` environment
//! variables, then command-line flags. A bad value stops start-up with a message naming the
//! setting; secrets are never printed.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::Mailbox;
use serde::Deserialize;

use crate::adapters::ServerKey;
use crate::mail::{MailLayout, SmtpSettings, TlsMode};

/// A setting that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {setting}: {message}")]
pub struct ConfigError {
    /// The setting, as the operator wrote it (`ACCOUNTS_LISTEN`, `listen` in the file…).
    pub setting: String,
    /// What is wrong and how to fix it (never the secret value).
    pub message: String,
}

fn err(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { setting: setting.to_owned(), message: message.into() }
}

/// A secret setting: compared and used, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the code that needs it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(REDACTED)")
    }
}

/// Where the data lives. `Debug` hides the URL's credentials.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    /// The embedded default: a SQLite file in the data directory.
    Embedded(PathBuf),
    /// An explicit `sqlite://…` or `postgres://…` URL.
    Url(String),
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Embedded(path) => f.debug_tuple("Embedded").field(path).finish(),
            Self::Url(url) => f.debug_tuple("Url").field(&mask_url(url)).finish(),
        }
    }
}

impl Database {
    /// The URL to connect to.
    #[must_use]
    pub fn url(&self) -> String {
        match self {
            Self::Embedded(path) => format!("sqlite://{}?mode=rwc", path.display()),
            Self::Url(url) => url.clone(),
        }
    }
}

/// Where the server key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `ACCOUNTS_SECRET_KEY`.
    Value(ServerKey),
    /// A file holding 64 hex digits, created with a fresh key if missing.
    File(PathBuf),
}

/// How mail leaves.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// SMTP.
    Smtp(SmtpSettings),
    /// `.eml` files in a directory.
    Mailbox(PathBuf),
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Storage.
    pub database: Database,
    /// Where the embedded database, the key file and the mailbox live.
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Base URL for links in mails.
    pub public_url: String,
    /// The server key.
    pub key: KeySource,
    /// The operator credential for the operator API; `None` disables that API.
    pub operator_token: Option<Secret>,
    /// Where `/metrics` is served without credentials, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// The credential of `/metrics` on the API's address; `None` closes it there.
    pub metrics_token: Option<Secret>,
    /// Product name in mails.
    pub product_name: String,
    /// Sender of mails.
    pub mail_from: Mailbox,
    /// Mail transport.
    pub mail: MailTransport,
    /// The operator's text and HTML layouts of mail (none: the domain's plain text).
    pub mail_layout: MailLayout,
    /// Idle session lifetime.
    pub session_idle: Duration,
    /// Absolute session lifetime.
    pub session_absolute: Duration,
    /// Invitation lifetime.
    pub invitation_ttl: Duration,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log_filter: String,
    /// Largest database connection pool.
    pub db_max_connections: u32,
    /// SQLite only: page cache per connection, in KiB.
    pub sqlite_cache_kib: u32,
    /// Seed a demo organisation on an empty embedded database.
    pub demo: bool,
    /// Longest a graceful shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
    /// Password hashes that may wait for a hashing thread; past it, 503 with `Retry-After`.
    pub hash_queue: usize,
    /// `Strict-Transport-Security` max-age; `None` sends no HSTS header.
    pub hsts_max_age: Option<Duration>,
    /// Proxies whose `X-Forwarded-For` names the client; none by default.
    pub trusted_proxies: account_http::TrustedProxies,
    /// Longest from a request's first byte to the end of its head.
    pub header_timeout: Duration,
    /// Longest a request body may take to arrive.
    pub body_timeout: Duration,
    /// Longest a connection stays open between requests (or a write stalls).
    pub idle_timeout: Duration,
    /// Base URL of the OTLP/HTTP collector spans are exported to (the `otlp` feature);
    /// `None`: no export.
    pub otlp_endpoint: Option<String>,
}

/// The settings of the TOML file; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    data_dir: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    secret_key_file: Option<String>,
    operator_token: Option<String>,
    metrics_listen: Option<String>,
    metrics_token: Option<String>,
    product_name: Option<String>,
    mail_from: Option<String>,
    mailbox_dir: Option<String>,
    mail_templates_dir: Option<String>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_tls: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    session_idle_minutes: Option<u64>,
    session_absolute_hours: Option<u64>,
    invitation_ttl_hours: Option<u64>,
    log_format: Option<String>,
    log: Option<String>,
    db_max_connections: Option<u32>,
    sqlite_cache_kib: Option<u32>,
    demo: Option<bool>,
    shutdown_timeout_seconds: Option<u64>,
    password_hash_queue: Option<u32>,
    hsts_max_age_seconds: Option<u32>,
    trusted_proxies: Option<String>,
    header_timeout_seconds: Option<u64>,
    body_timeout_seconds: Option<u64>,
    idle_timeout_seconds: Option<u64>,
    otlp_endpoint: Option<String>,
}

/// Flags given on the command line, which win over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config`.
    pub config_file: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--no-demo`.
    pub no_demo: bool,
}

/// Looks a setting up: environment first (as `ACCOUNTS_<NAME>`), then the file.
struct Source<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    file: FileConfig,
}

impl Source<'_> {
    fn get(&self, env_name: &str, from_file: Option<String>) -> Option<(String, String)> {
        match (self.env)(env_name).filter(|v| !v.is_empty()) {
            Some(v) => Some((env_name.to_owned(), v)),
            None => from_file.map(|v| (file_key(env_name), v)),
        }
    }
}

fn file_key(env_name: &str) -> String {
    format!(
        "`{}` in the config file",
        env_name.trim_start_matches("ACCOUNTS_").to_ascii_lowercase()
    )
}

fn parse_number<T: std::str::FromStr>(
    setting: &str,
    value: &str,
    what: &str,
) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| err(setting, format!("must be {what}")))
}

/// A whole-number setting from the environment, else the file; `None` when neither sets it.
fn whole_number(
    env: &dyn Fn(&str) -> Option<String>,
    setting: &str,
    file: Option<u32>,
    min: u32,
    max: u32,
) -> Result<Option<u32>, ConfigError> {
    let what = format!("a whole number between {min} and {max}");
    let value = match env(setting).filter(|v| !v.is_empty()) {
        Some(v) => Some(parse_number(setting, &v, &what)?),
        None => file,
    };
    match value {
        Some(n) if !(min..=max).contains(&n) => Err(err(setting, format!("must be {what}"))),
        other => Ok(other),
    }
}

impl Config {
    /// Loads the configuration from the process environment and `overrides`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad setting.
    pub fn from_env(overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load(&|name| std::env::var(name).ok(), overrides)
    }

    /// Loads the configuration with `env` as the environment (tests pass a map).
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad setting.
    pub fn load(
        env: &dyn Fn(&str) -> Option<String>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let file_path =
            overrides.config_file.clone().or_else(|| env("ACCOUNTS_CONFIG").map(PathBuf::from));
        let file = match &file_path {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let src = Source { env, file };
        let f = &src.file;

        let data_dir = src
            .get("ACCOUNTS_DATA_DIR", f.data_dir.clone())
            .map_or_else(|| PathBuf::from("accounts-data"), |(_, v)| PathBuf::from(v));

        let database = match overrides
            .database_url
            .clone()
            .map(|v| ("--database-url".to_owned(), v))
            .or_else(|| src.get("ACCOUNTS_DATABASE_URL", f.database_url.clone()))
        {
            Some((setting, url)) => {
                if !(url.starts_with("sqlite:")
                    || url.starts_with("postgres://")
                    || url.starts_with("postgresql://"))
                {
                    return Err(err(&setting, "must be a sqlite://… or postgres://… URL"));
                }
                Database::Url(url)
            }
            None => Database::Embedded(data_dir.join("accounts.db")),
        };

        let listen_raw = overrides
            .listen
            .clone()
            .map(|v| ("--listen".to_owned(), v))
            .or_else(|| src.get("ACCOUNTS_LISTEN", f.listen.clone()))
            .unwrap_or_else(|| ("ACCOUNTS_LISTEN".to_owned(), "127.0.0.1:8080".to_owned()));
        let listen: SocketAddr = listen_raw.1.trim().parse().map_err(|_| {
            err(&listen_raw.0, "must be an address and port, like 127.0.0.1:8080 or 0.0.0.0:8080")
        })?;

        let public_url = match src.get("ACCOUNTS_PUBLIC_URL", f.public_url.clone()) {
            Some((setting, url)) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(err(&setting, "must start with http:// or https://"));
                }
                url.trim_end_matches('/').to_owned()
            }
            None => format!("http://{listen}"),
        };

        let key = match env("ACCOUNTS_SECRET_KEY").filter(|v| !v.is_empty()) {
            Some(hex) => KeySource::Value(
                ServerKey::from_hex(&hex).map_err(|m| err("ACCOUNTS_SECRET_KEY", m))?,
            ),
            None => KeySource::File(
                src.get("ACCOUNTS_SECRET_KEY_FILE", f.secret_key_file.clone())
                    .map_or_else(|| data_dir.join("secret.key"), |(_, v)| PathBuf::from(v)),
            ),
        };

        let operator_token = match src.get("ACCOUNTS_OPERATOR_TOKEN", f.operator_token.clone()) {
            Some((setting, token)) if token.len() < 32 => {
                return Err(err(
                    &setting,
                    "must be at least 32 characters (use `openssl rand -hex 32`)",
                ));
            }
            Some((_, token)) => Some(Secret(token)),
            None => None,
        };

        let metrics_listen =
            match src.get("ACCOUNTS_METRICS_LISTEN", f.metrics_listen.clone()) {
                Some((setting, addr)) => Some(addr.trim().parse::<SocketAddr>().map_err(|_| {
                    err(&setting, "must be an address and port, like 127.0.0.1:9090")
                })?),
                None => None,
            };
        let metrics_token = match src.get("ACCOUNTS_METRICS_TOKEN", f.metrics_token.clone()) {
            Some((setting, token))
                if token.len() < 32 || !token.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                return Err(err(
                    &setting,
                    "must be at least 32 printable characters without spaces (use `openssl rand -hex 32`)",
                ));
            }
            Some((_, token)) => Some(Secret(token)),
            None => None,
        };

        let product_name = src
            .get("ACCOUNTS_PRODUCT_NAME", f.product_name.clone())
            .map_or_else(|| "Accounts".to_owned(), |(_, v)| v);
        let (from_setting, from_raw) =
            src.get("ACCOUNTS_MAIL_FROM", f.mail_from.clone()).unwrap_or_else(|| {
                ("ACCOUNTS_MAIL_FROM".to_owned(), "Accounts <no-reply@localhost>".to_owned())
            });
        let mail_from: Mailbox = from_raw.parse().map_err(|_| {
            err(&from_setting, "must be an address like `Accounts <no-reply@example.com>`")
        })?;

        // Every SMTP setting is checked even without ACCOUNTS_SMTP_HOST: a typo in one that
        // is unused today must not wait to fail until SMTP is turned on.
        let tls = match src.get("ACCOUNTS_SMTP_TLS", f.smtp_tls.clone()) {
            None => TlsMode::StartTls,
            Some((s, v)) => match v.as_str() {
                "starttls" => TlsMode::StartTls,
                "tls" => TlsMode::Tls,
                "none" => TlsMode::None,
                _ => return Err(err(&s, "must be starttls, tls or none")),
            },
        };
        let default_port = match tls {
            TlsMode::StartTls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        };
        let port = match (env("ACCOUNTS_SMTP_PORT").filter(|v| !v.is_empty()), f.smtp_port) {
            (Some(v), _) => parse_number("ACCOUNTS_SMTP_PORT", &v, "a port number (1-65535)")?,
            (None, Some(p)) => p,
            (None, None) => default_port,
        };
        if port == 0 {
            return Err(err("ACCOUNTS_SMTP_PORT", "must be a port number (1-65535)"));
        }
        let username = src.get("ACCOUNTS_SMTP_USERNAME", f.smtp_username.clone()).map(|(_, v)| v);
        let password = src.get("ACCOUNTS_SMTP_PASSWORD", f.smtp_password.clone()).map(|(_, v)| v);
        let credentials = match (username, password) {
            (Some(u), Some(p)) => Some((u, p)),
            (None, None) => None,
            _ => {
                return Err(err(
                    "ACCOUNTS_SMTP_USERNAME",
                    "give both ACCOUNTS_SMTP_USERNAME and ACCOUNTS_SMTP_PASSWORD, or neither",
                ));
            }
        };
        let mailbox_dir = src
            .get("ACCOUNTS_MAILBOX_DIR", f.mailbox_dir.clone())
            .map_or_else(|| data_dir.join("mailbox"), |(_, v)| PathBuf::from(v));
        let mail = match src.get("ACCOUNTS_SMTP_HOST", f.smtp_host.clone()) {
            Some((_, host)) => MailTransport::Smtp(SmtpSettings {
                host,
                port,
                tls,
                credentials,
                timeout: Duration::from_secs(20),
            }),
            None => MailTransport::Mailbox(mailbox_dir),
        };

        let mail_layout = match src.get("ACCOUNTS_MAIL_TEMPLATES_DIR", f.mail_templates_dir.clone())
        {
            Some((setting, dir)) => MailLayout::load(Path::new(&dir), &product_name, &public_url)
                .map_err(|message| err(&setting, message))?,
            None => MailLayout::default(),
        };

        let minutes = |name: &str,
                       file: Option<u64>,
                       default: u64,
                       unit: u64|
         -> Result<Duration, ConfigError> {
            let n = match (env(name).filter(|v| !v.is_empty()), file) {
                (Some(v), _) => parse_number(name, &v, "a whole number")?,
                (None, Some(n)) => n,
                (None, None) => default,
            };
            if n == 0 {
                return Err(err(name, "must be at least 1"));
            }
            Ok(Duration::from_secs(n * unit))
        };
        let session_idle =
            minutes("ACCOUNTS_SESSION_IDLE_MINUTES", f.session_idle_minutes, 30, 60)?;
        let session_absolute =
            minutes("ACCOUNTS_SESSION_ABSOLUTE_HOURS", f.session_absolute_hours, 12, 3600)?;
        let invitation_ttl =
            minutes("ACCOUNTS_INVITATION_TTL_HOURS", f.invitation_ttl_hours, 168, 3600)?;
        let shutdown_timeout =
            minutes("ACCOUNTS_SHUTDOWN_TIMEOUT_SECONDS", f.shutdown_timeout_seconds, 30, 1)?;
        let header_timeout =
            minutes("ACCOUNTS_HEADER_TIMEOUT_SECONDS", f.header_timeout_seconds, 10, 1)?;
        let body_timeout = minutes("ACCOUNTS_BODY_TIMEOUT_SECONDS", f.body_timeout_seconds, 30, 1)?;
        let idle_timeout = minutes("ACCOUNTS_IDLE_TIMEOUT_SECONDS", f.idle_timeout_seconds, 75, 1)?;
        if session_idle > session_absolute {
            return Err(err(
                "ACCOUNTS_SESSION_IDLE_MINUTES",
                "must not be longer than ACCOUNTS_SESSION_ABSOLUTE_HOURS",
            ));
        }

        let log_format = match src.get("ACCOUNTS_LOG_FORMAT", f.log_format.clone()) {
            None => LogFormat::Text,
            Some((s, v)) => match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(err(&s, "must be text or json")),
            },
        };
        let (log_setting, log_filter) = src
            .get("ACCOUNTS_LOG", f.log.clone())
            .or_else(|| {
                env("RUST_LOG").filter(|v| !v.is_empty()).map(|v| ("RUST_LOG".to_owned(), v))
            })
            .unwrap_or_else(|| ("ACCOUNTS_LOG".to_owned(), "info".to_owned()));
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_filter) {
            return Err(err(
                &log_setting,
                format!("must be a log filter like `info` or `info,account_http=debug` ({e})"),
            ));
        }

        let db_max_connections = match whole_number(
            env,
            "ACCOUNTS_DB_MAX_CONNECTIONS",
            f.db_max_connections,
            1,
            1000,
        )? {
            Some(n) => n,
            // SQLite writes one unit at a time and reads scale with cores, not
            // connections; each connection holds its own page cache and driver thread
            // (measured: under 64 concurrent usage reports, 16 connections held 138 MiB,
            // 4 held 80 MiB, at the same 200 req/s).
            None if database.url().starts_with("sqlite:") => 4,
            None => 16,
        };
        let sqlite_cache_kib =
            whole_number(env, "ACCOUNTS_SQLITE_CACHE_KIB", f.sqlite_cache_kib, 64, 1_048_576)?
                .unwrap_or(account_sea::SQLITE_CACHE_KIB);

        let demo_setting = match (env("ACCOUNTS_DEMO").filter(|v| !v.is_empty()), f.demo) {
            (Some(v), _) => Some(match v.as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => return Err(err("ACCOUNTS_DEMO", "must be true or false")),
            }),
            (None, file) => file,
        };
        let hash_queue =
            whole_number(env, "ACCOUNTS_PASSWORD_HASH_QUEUE", f.password_hash_queue, 1, 1_000_000)?
                .map_or(crate::adapters::DEFAULT_HASH_QUEUE, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                });

        // Four years is past any browser's cap; 0 turns it off like leaving it unset.
        let hsts_max_age = whole_number(
            env,
            "ACCOUNTS_HSTS_MAX_AGE_SECONDS",
            f.hsts_max_age_seconds,
            0,
            126_144_000,
        )?
        .filter(|n| *n > 0)
        .map(|n| Duration::from_secs(u64::from(n)));

        let trusted_proxies = match src.get("ACCOUNTS_TRUSTED_PROXIES", f.trusted_proxies.clone()) {
            Some((setting, list)) => account_http::TrustedProxies::parse(&list)
                .map_err(|e| err(&setting, e.to_string()))?,
            None => account_http::TrustedProxies::default(),
        };

        let otlp_endpoint = src
            .get("ACCOUNTS_OTLP_ENDPOINT", f.otlp_endpoint.clone())
            .map(|(setting, url)| otlp_endpoint(&setting, &url))
            .transpose()?;

        // The demo is for a newcomer's first run: only on the embedded default, never when a
        // database was chosen explicitly, and never with --no-demo.
        let demo = !overrides.no_demo
            && matches!(database, Database::Embedded(_))
            && demo_setting.unwrap_or(true);

        Ok(Self {
            database,
            data_dir,
            listen,
            public_url,
            key,
            operator_token,
            metrics_listen,
            metrics_token,
            product_name,
            mail_from,
            mail,
            mail_layout,
            session_idle,
            session_absolute,
            invitation_ttl,
            log_format,
            log_filter,
            db_max_connections,
            sqlite_cache_kib,
            demo,
            shutdown_timeout,
            hash_queue,
            hsts_max_age,
            trusted_proxies,
            header_timeout,
            body_timeout,
            idle_timeout,
            otlp_endpoint,
        })
    }

    /// The settings as `(name, value)` pairs for the start-up log, secrets masked.
    #[must_use]
    pub fn summary(&self) -> Vec<(&'static str, String)> {
        let database = match &self.database {
            Database::Embedded(path) => format!("embedded SQLite at {}", path.display()),
            Database::Url(url) => mask_url(url),
        };
        let key = match &self.key {
            KeySource::Value(_) => "ACCOUNTS_SECRET_KEY (masked)".to_owned(),
            KeySource::File(path) => format!("file {}", path.display()),
        };
        let mail = match &self.mail {
            MailTransport::Smtp(s) => format!(
                "smtp {}:{} ({:?}{})",
                s.host,
                s.port,
                s.tls,
                s.credentials
                    .as_ref()
                    .map_or(String::new(), |(u, _)| format!(", user {u}, password masked"))
            ),
            MailTransport::Mailbox(dir) => format!("mailbox directory {}", dir.display()),
        };
        vec![
            ("database", database),
            ("listen", self.listen.to_string()),
            ("public_url", self.public_url.clone()),
            ("secret_key", key),
            (
                "operator_token",
                if self.operator_token.is_some() {
                    "set (masked)".into()
                } else {
                    "not set: operator API disabled".into()
                },
            ),
            (
                "metrics",
                match (self.metrics_listen, &self.metrics_token) {
                    (Some(addr), Some(_)) => format!(
                        "http://{addr}/metrics; on the API's address with its token (masked)"
                    ),
                    (Some(addr), None) => format!("http://{addr}/metrics"),
                    (None, Some(_)) => "on the API's address with its token (masked)".into(),
                    (None, None) => {
                        "off (set ACCOUNTS_METRICS_LISTEN or ACCOUNTS_METRICS_TOKEN)".into()
                    }
                },
            ),
            ("mail", mail),
            ("mail_from", self.mail_from.to_string()),
            (
                "mail_layout",
                if self.mail_layout == MailLayout::default() {
                    "the domain's plain text".into()
                } else {
                    "the operator's templates (ACCOUNTS_MAIL_TEMPLATES_DIR)".into()
                },
            ),
            ("session_idle", format!("{} min", self.session_idle.as_secs() / 60)),
            ("session_absolute", format!("{} h", self.session_absolute.as_secs() / 3600)),
            ("invitation_ttl", format!("{} h", self.invitation_ttl.as_secs() / 3600)),
            (
                "timeouts",
                format!(
                    "header {} s, body {} s, idle {} s",
                    self.header_timeout.as_secs(),
                    self.body_timeout.as_secs(),
                    self.idle_timeout.as_secs()
                ),
            ),
            ("db_max_connections", self.db_max_connections.to_string()),
            ("sqlite_cache", format!("{} KiB per connection", self.sqlite_cache_kib)),
            ("password_hash_queue", self.hash_queue.to_string()),
            (
                "trusted_proxies",
                if self.trusted_proxies.is_empty() {
                    "none: the client is the TCP peer".to_owned()
                } else {
                    "set: X-Forwarded-For from them names the client".to_owned()
                },
            ),
            (
                "hsts",
                self.hsts_max_age
                    .map_or_else(|| "off".to_owned(), |a| format!("max-age={}", a.as_secs())),
            ),
            ("demo", self.demo.to_string()),
            ("log", format!("{} ({:?})", self.log_filter, self.log_format)),
            (
                "otlp",
                self.otlp_endpoint
                    .as_ref()
                    .map_or_else(|| "off".to_owned(), |url| format!("spans to {url}")),
            ),
        ]
    }
}

/// The OTLP collector's base URL, `http://host[:port][/path]`, without a trailing `/`;
/// refused when this binary cannot export (built without the `otlp` feature).
fn otlp_endpoint(setting: &str, url: &str) -> Result<String, ConfigError> {
    if !cfg!(feature = "otlp") {
        return Err(err(
            setting,
            "this accounts binary was built without OTLP export: build it with \
             `cargo build --profile dist -p account-server --features otlp`, or unset the setting",
        ));
    }
    let malformed = || {
        err(
            setting,
            "must be the http:// base URL of an OTLP/HTTP collector, like \
             http://collector:4318 (spans go to its /v1/traces; https is not supported: \
             export to a collector beside the server)",
        )
    };
    let rest = url.strip_prefix("http://").ok_or_else(malformed)?;
    let (authority, _path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or_else(malformed)?;
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(malformed());
            }
            (host, after.strip_prefix(':'))
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let host_ok = authority.starts_with('[')
        || (!host.is_empty()
            && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.')));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    let rest_ok = !url.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        && !url.contains(['?', '#', '@']);
    if !(host_ok && port_ok && rest_ok) {
        return Err(malformed());
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Hides every credential in a database URL or connection string (see [`crate::redact`]).
#[must_use]
pub fn mask_url(url: &str) -> String {
    crate::redact::database_url(url)
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let setting = format!("--config {}", path.display());
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(&setting, format!("cannot read the file: {e}")))?;
    toml::from_str(&text).map_err(|e| err(&setting, e.message().to_owned()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(vars: &[(&str, &str)], overrides: &Overrides) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::load(&|name| map.get(name).cloned(), overrides)
    }

    #[test]
    fn defaults_are_the_embedded_demo_on_localhost() {
        let c = load(&[], &Overrides::default()).unwrap();
        assert_eq!(c.database, Database::Embedded(PathBuf::from("accounts-data/accounts.db")));
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.demo);
        assert!(
            matches!(c.mail, MailTransport::Mailbox(ref d) if d == Path::new("accounts-data/mailbox"))
        );
        assert!(
            matches!(c.key, KeySource::File(ref p) if p == Path::new("accounts-data/secret.key"))
        );
        assert!(c.operator_token.is_none());
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn an_explicit_database_or_no_demo_turns_the_demo_off() {
        let c = load(
            &[("ACCOUNTS_DATABASE_URL", "postgres://u:pw@db/accounts")],
            &Overrides::default(),
        )
        .unwrap();
        assert!(!c.demo);
        assert_eq!(mask_url(&c.database.url()), "postgres://u:***@db/accounts");
        let c = load(&[], &Overrides { no_demo: true, ..Overrides::default() }).unwrap();
        assert!(!c.demo);
    }

    #[test]
    fn the_pool_is_smaller_on_sqlite_unless_set() {
        let embedded = load(&[], &Overrides::default()).unwrap();
        assert_eq!(embedded.db_max_connections, 4);
        let pg = [("ACCOUNTS_DATABASE_URL", "postgres://u:pw@db/accounts")];
        assert_eq!(load(&pg, &Overrides::default()).unwrap().db_max_connections, 16);
        let set = [("ACCOUNTS_DB_MAX_CONNECTIONS", "9")];
        assert_eq!(load(&set, &Overrides::default()).unwrap().db_max_connections, 9);
    }

    #[test]
    fn the_sqlite_page_cache_is_512_kib_per_connection_unless_set() {
        assert_eq!(load(&[], &Overrides::default()).unwrap().sqlite_cache_kib, 512);
        let set = [("ACCOUNTS_SQLITE_CACHE_KIB", "4096")];
        assert_eq!(load(&set, &Overrides::default()).unwrap().sqlite_cache_kib, 4096);
    }

    #[test]
    fn slow_client_timeouts_have_defaults_and_can_be_set() {
        let c = load(&[], &Overrides::default()).unwrap();
        let secs = |d: Duration| d.as_secs();
        assert_eq!(
            (secs(c.header_timeout), secs(c.body_timeout), secs(c.idle_timeout)),
            (10, 30, 75)
        );
        let set = [
            ("ACCOUNTS_HEADER_TIMEOUT_SECONDS", "5"),
            ("ACCOUNTS_BODY_TIMEOUT_SECONDS", "20"),
            ("ACCOUNTS_IDLE_TIMEOUT_SECONDS", "120"),
        ];
        let c = load(&set, &Overrides::default()).unwrap();
        assert_eq!(
            (secs(c.header_timeout), secs(c.body_timeout), secs(c.idle_timeout)),
            (5, 20, 120)
        );
    }

    #[test]
    fn trusted_proxies_are_none_unless_listed() {
        assert!(load(&[], &Overrides::default()).unwrap().trusted_proxies.is_empty());
        let set = [("ACCOUNTS_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")];
        let c = load(&set, &Overrides::default()).unwrap();
        assert_eq!(
            c.trusted_proxies,
            account_http::TrustedProxies::parse("10.0.0.0/8,192.0.2.7").unwrap()
        );
        let bad = [("ACCOUNTS_TRUSTED_PROXIES", "10.0.0.0/8, lb.internal")];
        let e = load(&bad, &Overrides::default()).unwrap_err();
        assert!(e.message.contains("entry 2"), "{e}");
    }

    #[test]
    fn hsts_is_off_unless_a_max_age_is_set() {
        assert_eq!(load(&[], &Overrides::default()).unwrap().hsts_max_age, None);
        let set = [("ACCOUNTS_HSTS_MAX_AGE_SECONDS", "31536000")];
        let c = load(&set, &Overrides::default()).unwrap();
        assert_eq!(c.hsts_max_age, Some(Duration::from_secs(31_536_000)));
        let off = [("ACCOUNTS_HSTS_MAX_AGE_SECONDS", "0")];
        assert_eq!(load(&off, &Overrides::default()).unwrap().hsts_max_age, None);
    }

    #[test]
    fn the_password_hash_queue_holds_256_unless_set() {
        assert_eq!(load(&[], &Overrides::default()).unwrap().hash_queue, 256);
        let set = [("ACCOUNTS_PASSWORD_HASH_QUEUE", "8")];
        assert_eq!(load(&set, &Overrides::default()).unwrap().hash_queue, 8);
    }

    #[test]
    fn bad_values_name_the_setting() {
        let cases = [
            ("ACCOUNTS_LISTEN", "localhost"),
            ("ACCOUNTS_DATABASE_URL", "mysql://x"),
            ("ACCOUNTS_SECRET_KEY", "short"),
            ("ACCOUNTS_OPERATOR_TOKEN", "too-short"),
            ("ACCOUNTS_SESSION_IDLE_MINUTES", "soon"),
            ("ACCOUNTS_LOG_FORMAT", "xml"),
            ("ACCOUNTS_MAIL_FROM", "not an address"),
            ("ACCOUNTS_DB_MAX_CONNECTIONS", "0"),
            ("ACCOUNTS_SQLITE_CACHE_KIB", "16"),
            ("ACCOUNTS_SQLITE_CACHE_KIB", "lots"),
            ("ACCOUNTS_PASSWORD_HASH_QUEUE", "0"),
            ("ACCOUNTS_HSTS_MAX_AGE_SECONDS", "forever"),
            ("ACCOUNTS_TRUSTED_PROXIES", "10.0.0.0/8, lb.internal"),
            ("ACCOUNTS_HEADER_TIMEOUT_SECONDS", "0"),
            ("ACCOUNTS_IDLE_TIMEOUT_SECONDS", "never"),
        ];
        for (name, value) in cases {
            let e = load(&[(name, value)], &Overrides::default()).unwrap_err();
            assert_eq!(e.setting, name, "{e}");
            assert!(
                !e.to_string().contains(value) || value.len() < 6,
                "the value is not echoed: {e}"
            );
        }
        let e = load(
            &[("ACCOUNTS_SMTP_HOST", "mail"), ("ACCOUNTS_SMTP_TLS", "maybe")],
            &Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(e.setting, "ACCOUNTS_SMTP_TLS");
    }

    #[test]
    fn unused_settings_are_checked_too() {
        // No SMTP host: the SMTP settings are unused today, and still checked.
        for (name, value) in [
            ("ACCOUNTS_SMTP_TLS", "maybe"),
            ("ACCOUNTS_SMTP_PORT", "lots"),
            ("ACCOUNTS_SMTP_PORT", "0"),
            ("ACCOUNTS_SMTP_USERNAME", "bot"),
            ("ACCOUNTS_LOG", "info,account_http=loud"),
            ("ACCOUNTS_LOG", "[[["),
            ("RUST_LOG", "=debug=x"),
            ("ACCOUNTS_METRICS_LISTEN", "everywhere"),
            ("ACCOUNTS_METRICS_TOKEN", "short"),
        ] {
            let e = load(&[(name, value)], &Overrides::default()).unwrap_err();
            assert_eq!(e.setting, name, "{e}");
        }
        let c = load(&[("ACCOUNTS_LOG", "warn,account_http=debug")], &Overrides::default());
        assert_eq!(c.unwrap().log_filter, "warn,account_http=debug");
    }

    #[test]
    fn file_settings_apply_and_environment_and_flags_win() {
        let dir = std::env::temp_dir().join(format!("cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("accounts.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\nsmtp_host = \"mail.example.com\"\nsession_idle_minutes = 15\n").unwrap();
        let overrides = Overrides { config_file: Some(path.clone()), ..Overrides::default() };
        let c = load(&[], &overrides).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.session_idle, Duration::from_secs(900));
        assert!(
            matches!(c.mail, MailTransport::Smtp(ref s) if s.port == 587 && s.tls == TlsMode::StartTls)
        );
        let c = load(&[("ACCOUNTS_LISTEN", "127.0.0.1:7000")], &overrides).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7000");
        let flag = Overrides { listen: Some("127.0.0.1:6000".into()), ..overrides.clone() };
        assert_eq!(
            load(&[("ACCOUNTS_LISTEN", "127.0.0.1:7000")], &flag).unwrap().listen.to_string(),
            "127.0.0.1:6000"
        );
        std::fs::write(&path, "lisen = \"typo\"\n").unwrap();
        let e = load(&[], &overrides).unwrap_err();
        assert!(e.setting.starts_with("--config") && e.message.contains("lisen"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_summary_masks_secrets() {
        let c = load(
            &[
                ("ACCOUNTS_OPERATOR_TOKEN", "op-token-0123456789abcdef0123456789abcdef"),
                ("ACCOUNTS_SMTP_HOST", "mail"),
                ("ACCOUNTS_SMTP_USERNAME", "bot"),
                ("ACCOUNTS_SMTP_PASSWORD", "hunter2-smtp"),
                ("ACCOUNTS_SECRET_KEY", &"ab".repeat(32)),
                ("ACCOUNTS_DATABASE_URL", "postgres://app:db-pass@db/accounts"),
            ],
            &Overrides::default(),
        )
        .unwrap();
        let text = format!("{:?} {:?}", c.summary(), c);
        for secret in ["op-token-0123", "hunter2-smtp", &"ab".repeat(32), "db-pass"] {
            assert!(!c.summary().iter().any(|(_, v)| v.contains(secret)), "{secret} in summary");
            assert!(!text.contains(secret), "{secret} in Debug");
        }
        // Every credential form of a database address, in the summary and in `Debug`.
        for (url, secret) in [
            ("postgres://app:p@ss-w0rd@db/accounts", "ss-w0rd"),
            ("postgres://db/accounts?user=app&password=q-secret", "q-secret"),
            ("postgres://app@db/accounts?sslpassword=key-pass", "key-pass"),
        ] {
            let c = load(&[("ACCOUNTS_DATABASE_URL", url)], &Overrides::default()).unwrap();
            let text = format!("{:?} {:?}", c.summary(), c);
            assert!(!text.contains(secret), "{secret} shown: {text}");
            assert!(text.contains("db/accounts"), "the database is still named: {text}");
        }
    }

    #[test]
    fn otlp_endpoint_needs_the_feature_and_an_http_url() {
        let endpoint = |url: &str| {
            load(&[("ACCOUNTS_OTLP_ENDPOINT", url)], &Overrides::default())
                .map(|c| c.otlp_endpoint)
                .map_err(|e| e.to_string())
        };
        assert_eq!(load(&[], &Overrides::default()).unwrap().otlp_endpoint, None);
        if cfg!(feature = "otlp") {
            assert_eq!(
                endpoint("http://collector:4318/").unwrap().as_deref(),
                Some("http://collector:4318")
            );
            assert!(endpoint("http://[::1]:4318/otlp").is_ok());
            assert!(endpoint("http://10.0.0.7").is_ok());
            for bad in [
                "collector:4318",
                "https://collector:4318",
                "http://",
                "http://:4318",
                "http://collector:port",
                "http://collector:0",
                "http://collector:70000",
                "http://user:pass@collector:4318",
                "http://collector 4318",
                "http://[zz]:4318",
            ] {
                let e = endpoint(bad).unwrap_err();
                assert!(
                    e.contains("ACCOUNTS_OTLP_ENDPOINT") && e.contains("http://collector:4318"),
                    "{bad}: {e}"
                );
            }
        } else {
            let e = endpoint("http://collector:4318").unwrap_err();
            assert!(
                e.contains("built without OTLP export") && e.contains("--features otlp"),
                "{e}"
            );
        }
    }
}
