//! Wiring: the store from the configuration, the server key, the production adapters, the
//! domain on top, the mail transport; and `serve`, which runs the HTTP API with the web
//! console beside it, and the worker, until SIGTERM or Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use account_core::ports::{Mailer, Store};
use account_core::{Accounts, Ports, Settings};
use account_http::{HttpConfig, HttpServer, Metrics, OperatorToken};
use account_sea::{KeptSessions, SeaOptions, SeaStore};
use account_web::{WebConfig, WebConsole};

use crate::adapters::{Argon2Hasher, OsRandom, ServerKey, ServerKeyring, SystemClock};
use crate::config::{Config, KeySource, MailTransport};
use crate::mail::{MailboxMailer, SmtpMailer};
use crate::private_fs;
use crate::worker::{Intervals, MailMetrics, Worker};

/// Why the server could not start or a command could not run. The message says what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AppError(pub String);

fn fail(context: &str, e: impl std::fmt::Display) -> AppError {
    AppError(format!("{context}: {e}"))
}

/// Reads the server key, creating the key file with a fresh key (mode 0600) if needed.
///
/// # Errors
/// [`AppError`] when the file cannot be read, created or parsed.
pub fn load_key(source: &KeySource) -> Result<ServerKey, AppError> {
    read_key(source, true)
}

/// Reads the server key; creates the key file only when `create` is set.
///
/// # Errors
/// [`AppError`] when the file is missing (and not to be created), unreadable or invalid.
pub fn read_key(source: &KeySource, create: bool) -> Result<ServerKey, AppError> {
    match source {
        KeySource::Value(key) => Ok(key.clone()),
        KeySource::File(path) => {
            if !create && !path.exists() {
                return Err(AppError(format!(
                    "there is no server key at {}: run `accounts migrate` (or `accounts serve`) \
                     first, or set ACCOUNTS_SECRET_KEY",
                    path.display()
                )));
            }
            if path.exists() {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| fail(&format!("reading the key file {}", path.display()), e))?;
                return ServerKey::from_hex(&text)
                    .map_err(|e| fail(&format!("the key file {}", path.display()), e));
            }
            let key = ServerKey::generate().map_err(|e| fail("generating a server key", e))?;
            write_private(path, &key.to_hex())
                .map_err(|e| fail(&format!("creating the key file {}", path.display()), e))?;
            tracing::info!(path = %path.display(), "created a new server key file; back it up with the database");
            Ok(key)
        }
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_fs::create_dir_all(dir)?;
    }
    let mut file = private_fs::open_options().write(true).create_new(true).open(path)?;
    std::io::Write::write_all(&mut file, text.as_bytes())
}

/// Connects to the configured database (creating a SQLite file's directory 0700 and the file
/// 0600 when missing) and applies migrations.
///
/// # Errors
/// [`AppError`] naming the database (password masked).
pub async fn connect_store(config: &Config) -> Result<SeaStore, AppError> {
    open_store(config, Purpose::Migrate).await.map_err(|e| AppError(e.to_string()))
}

/// What a command does with the database's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `serve` and `migrate`: create the database if needed and apply pending migrations.
    Migrate,
    /// Every other command: use the database as it is; refuse one that does not exist or
    /// whose schema is behind, and change nothing.
    Use,
}

/// Why the database could not be opened; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreFailure {
    /// The database server cannot be reached (or the file cannot be opened).
    #[error("{0}")]
    Unreachable(String),
    /// No database there yet.
    #[error("{0}")]
    Missing(String),
    /// Its schema is older than this binary's.
    #[error("{0}")]
    Behind(String),
    /// Anything else (a failed migration, a driver error).
    #[error("{0}")]
    Other(String),
}

/// How long a command waits for the database server before naming it unreachable.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens the configured database for `purpose`.
///
/// # Errors
/// [`StoreFailure`] naming the database (password masked) and the cause.
pub async fn open_store(config: &Config, purpose: Purpose) -> Result<SeaStore, StoreFailure> {
    let url = config.database.url();
    let named = crate::config::mask_url(&url);
    if let Some(path) = sqlite_file(&url) {
        match purpose {
            Purpose::Migrate => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    private_fs::create_dir_all(dir).map_err(|e| {
                        StoreFailure::Other(format!("creating {}: {e}", dir.display()))
                    })?;
                }
                // Created here, 0600, rather than by SQLite with the umask's mode (often 0644).
                private_fs::create_file_if_missing(&path).map_err(|e| {
                    StoreFailure::Other(format!("creating {}: {e}", path.display()))
                })?;
            }
            Purpose::Use if !path.exists() => {
                return Err(StoreFailure::Missing(format!(
                    "there is no database at {}: run `accounts migrate` (or `accounts serve`) \
                     to create it, or point ACCOUNTS_DATABASE_URL at yours",
                    path.display()
                )));
            }
            Purpose::Use => {}
        }
    } else if let Some((host, port)) = server_address(&url) {
        probe(&host, port).await.map_err(|cause| {
            StoreFailure::Unreachable(format!(
                "cannot reach the database server {host}:{port} ({named}): {cause}"
            ))
        })?;
    }
    let options = SeaOptions {
        max_connections: Some(config.db_max_connections),
        sqlite_cache_kib: config.sqlite_cache_kib,
        migrate: purpose == Purpose::Migrate,
        create_if_missing: purpose == Purpose::Migrate,
        // A command waits this long for a connection; `serve` keeps the default for its
        // requests once started.
        acquire_timeout: if purpose == Purpose::Use {
            CONNECT_TIMEOUT
        } else {
            SeaOptions::default().acquire_timeout
        },
        ..SeaOptions::default()
    };
    let store = SeaStore::connect(&url, &options).await.map_err(|e| {
        let text = format!("opening the database {named}: {}", source_chain(&e));
        match e {
            account_core::ports::StoreError::Unavailable(_) => StoreFailure::Unreachable(text),
            _ => StoreFailure::Other(text),
        }
    })?;
    if purpose == Purpose::Use {
        let pending = store
            .pending_migrations()
            .await
            .map_err(|e| StoreFailure::Other(format!("reading the schema of {named}: {e}")))?;
        if !pending.is_empty() {
            return Err(StoreFailure::Behind(format!(
                "the database {named} is behind this version of accounts ({} migration(s) \
                 pending): run `accounts migrate` first",
                pending.len()
            )));
        }
    }
    Ok(store)
}

/// Host and port of a `postgres://` URL.
fn server_address(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host.to_owned(), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (hostport.to_owned(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => 5432,
    };
    let host = if host.is_empty() { "localhost".to_owned() } else { host };
    Some((host, port))
}

/// Opens (and closes) a TCP connection to the database server, within [`CONNECT_TIMEOUT`],
/// so that an unreachable server is named with the cause rather than as a pool timeout.
async fn probe(host: &str, port: u16) -> Result<(), String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((host, port))).await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())),
    }
}

/// The file of a `sqlite://` URL (`None` for in-memory databases and other schemes), so its
/// directory can be created before SQLite is asked to create the file.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The domain over the production adapters and `store`.
///
/// # Errors
/// [`AppError`] when the key or the password hasher cannot be set up.
pub fn build_accounts(config: &Config, store: SeaStore) -> Result<Accounts, AppError> {
    build_accounts_with(config, store, true)
}

/// The domain over the production adapters and `store`; creates the key file only when
/// `create_key` is set.
///
/// # Errors
/// [`AppError`] when the key or the password hasher cannot be set up.
pub fn build_accounts_with(
    config: &Config,
    store: SeaStore,
    create_key: bool,
) -> Result<Accounts, AppError> {
    build_accounts_over(config, store_port(store), create_key, None)
}

/// The store ports over `store`: on a SQLite file, with authentication's session reads kept
/// while nothing commits (`KeptSessions`); as it is otherwise.
#[must_use]
pub fn store_port(store: SeaStore) -> Arc<dyn Store> {
    match KeptSessions::wrap(store) {
        Ok(kept) => Arc::new(kept),
        Err(store) => Arc::new(store),
    }
}

/// The domain over the production adapters and any `store` (the server's is metered), with the
/// hasher's runs registered in `metrics` when given.
///
/// # Errors
/// [`AppError`] when the key or the password hasher cannot be set up.
pub fn build_accounts_over(
    config: &Config,
    store: Arc<dyn account_core::ports::Store>,
    create_key: bool,
    metrics: Option<&mut Metrics>,
) -> Result<Accounts, AppError> {
    let key = read_key(&config.key, create_key)?;
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let hasher =
        Argon2Hasher::new(cores, config.hash_queue).map_err(|e| fail("setting up argon2id", e))?;
    if let Some(metrics) = metrics {
        hasher.register(metrics);
    }
    let ports = Ports {
        store,
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
        passwords: Arc::new(hasher),
        keyring: Arc::new(ServerKeyring::new(&key)),
    };
    let chrono =
        |d: std::time::Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    let settings = Settings {
        session_idle: chrono(config.session_idle),
        session_absolute: chrono(config.session_absolute),
        invitation_ttl: chrono(config.invitation_ttl),
        public_url: config.public_url.clone(),
        product_name: config.product_name.clone(),
    };
    Ok(Accounts::new(ports, settings))
}

/// The configured mail transport.
///
/// # Errors
/// [`AppError`] when the SMTP TLS set-up fails.
pub fn mailer(config: &Config) -> Result<Arc<dyn Mailer>, AppError> {
    Ok(match &config.mail {
        MailTransport::Smtp(settings) => Arc::new(
            SmtpMailer::new(settings, config.mail_from.clone())
                .map_err(AppError)?
                .with_layout(config.mail_layout.clone()),
        ),
        MailTransport::Mailbox(dir) => Arc::new(
            MailboxMailer::new(dir, config.mail_from.clone())
                .with_layout(config.mail_layout.clone()),
        ),
    })
}

/// The API (serving `metrics` at `/metrics`) with the web console at `/` beside it.
#[must_use]
pub fn http_server(
    accounts: &Accounts,
    config: &Config,
    http: HttpConfig,
    metrics: Metrics,
) -> HttpServer {
    let api = HttpServer::with_metrics(accounts.clone(), http, metrics);
    let console =
        WebConsole::new(accounts.clone(), WebConfig { public_url: config.public_url.clone() });
    api.with_pages(console.endpoint())
}

/// Resolves when SIGTERM or Ctrl-C arrives.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown requested: finishing requests in progress");
}

/// `accounts serve`: migrations, demo seeding, the API, the worker; graceful shutdown.
///
/// # Errors
/// [`AppError`] when start-up fails.
pub async fn serve(config: Config) -> Result<(), AppError> {
    account_http::install_panic_hook();
    for (name, value) in config.summary() {
        tracing::info!(setting = name, value = %value, "configuration");
    }
    let store = connect_store(&config).await?;
    let closer = store.clone();
    let mut metrics = Metrics::new();
    let metered = crate::metrics::MeteredStore::new(store_port(store.clone()), store, &mut metrics);
    let accounts = build_accounts_over(&config, Arc::new(metered), true, Some(&mut metrics))?;
    if config.demo
        && let Some(login) =
            crate::demo::seed_if_empty(&accounts, &OsRandom).await.map_err(AppError)?
    {
        print_demo_login(&config, &login);
    }
    let mailer = mailer(&config)?;
    if let MailTransport::Mailbox(dir) = &config.mail {
        tracing::info!(dir = %dir.display(), "no SMTP server configured: mails are written as .eml files here");
    }
    let operator_token = match &config.operator_token {
        Some(token) => Some(
            OperatorToken::new(token.expose()).map_err(|e| fail("ACCOUNTS_OPERATOR_TOKEN", e))?,
        ),
        None => None,
    };
    let metrics_token = match &config.metrics_token {
        Some(token) => Some(
            OperatorToken::new(token.expose()).map_err(|e| fail("ACCOUNTS_METRICS_TOKEN", e))?,
        ),
        None => None,
    };
    let mail_metrics = MailMetrics::registered(metrics.registry());
    crate::metrics::register_pool(&mut metrics, closer.clone());
    let http = http_server(
        &accounts,
        &config,
        HttpConfig {
            operator_token,
            metrics_token,
            shutdown_grace: config.shutdown_timeout,
            hsts_max_age: config.hsts_max_age,
            trusted_proxies: config.trusted_proxies.clone(),
            header_timeout: config.header_timeout,
            body_timeout: config.body_timeout,
            idle_timeout: config.idle_timeout,
            ..HttpConfig::default()
        },
        metrics,
    );
    let bound = http
        .bind(config.listen)
        .await
        .map_err(|e| fail(&format!("listening on {}", config.listen), e))?;
    let addr = bound.local_addr().unwrap_or(config.listen);
    tracing::info!(
        %addr,
        console = %format!("http://{addr}/"),
        docs = %format!("http://{addr}/docs"),
        "accounts is serving"
    );
    // One signal stops both listeners.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let metrics_server = match config.metrics_listen {
        Some(metrics_addr) => {
            Some(crate::metrics::serve(&http, metrics_addr, stopped.clone()).await?)
        }
        None => None,
    };
    let signal = tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let worker = Worker::spawn_counted(accounts, mailer, Intervals::default(), mail_metrics);
    let purge = crate::allocator_tick::spawn_purge_tick(crate::allocator_tick::PURGE_TICK);
    let served = bound.run(crate::metrics::stopped(stopped)).await;
    signal.abort();
    if let Some(server) = metrics_server {
        let _ = server.await;
    }
    purge.abort();
    worker.shutdown().await;
    if let Err(e) = closer.close().await {
        tracing::warn!(error = %e, "closing the database pool");
    }
    served.map_err(|e| fail("serving", e))?;
    tracing::info!("stopped");
    Ok(())
}

fn print_demo_login(config: &Config, login: &crate::demo::DemoLogin) {
    let line = "-".repeat(72);
    let text = format!(
        "\n{line}\n  Demo organisation created (shown once; it is not stored anywhere readable).\n\n  \
         Console:      {url}/\n  Swagger UI:   {url}/docs\n  Admin login:  {email}\n  Password:     {password}\n\n  \
         Mails (invitations, codes) are written to the mailbox directory.\n{line}\n",
        url = config.public_url,
        email = login.email,
        password = login.password,
    );
    // The login is printed on purpose, once, on the terminal of the operator who started the
    // demo; it never goes through the logger.
    #[allow(clippy::print_stdout)]
    {
        println!("{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_file_of_sqlite_urls_only() {
        assert_eq!(
            sqlite_file("sqlite:///tmp/x/a.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x/a.db"))
        );
        assert_eq!(sqlite_file("sqlite://data/a.db"), Some(PathBuf::from("data/a.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }

    #[test]
    fn finds_the_server_of_postgres_urls() {
        let addr = |url| server_address(url).map(|(h, p)| format!("{h}:{p}"));
        assert_eq!(
            addr("postgres://u:pw@db.internal:6432/accounts").as_deref(),
            Some("db.internal:6432")
        );
        assert_eq!(addr("postgresql://u@db/accounts?sslmode=require").as_deref(), Some("db:5432"));
        assert_eq!(addr("postgres://u:p@ss@[::1]:5433/x").as_deref(), Some("::1:5433"));
        assert_eq!(addr("postgres:///accounts").as_deref(), Some("localhost:5432"));
        assert_eq!(addr("sqlite://a.db"), None);
    }
}
