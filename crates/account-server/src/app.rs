//! Wiring: the store from the configuration, the server key, the production adapters, the
//! domain on top, the mail transport; and `serve`, which runs the HTTP API with the web
//! console beside it, and the worker, until SIGTERM or Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use account_core::ports::Mailer;
use account_core::{Accounts, Ports, Settings};
use account_http::{HttpConfig, HttpServer, LoginThrottle, OperatorToken};
use account_sea::{SeaOptions, SeaStore};
use account_web::{LoginGuard, WebConfig, WebConsole};

use crate::adapters::{Argon2Hasher, OsRandom, ServerKey, ServerKeyring, SystemClock};
use crate::config::{Config, KeySource, MailTransport};
use crate::mail::{MailboxMailer, SmtpMailer};
use crate::worker::{Intervals, Worker};

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
    match source {
        KeySource::Value(key) => Ok(key.clone()),
        KeySource::File(path) => {
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
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())
}

/// Connects to the configured database (creating the data directory for the embedded one)
/// and applies migrations.
///
/// # Errors
/// [`AppError`] naming the database (password masked).
pub async fn connect_store(config: &Config) -> Result<SeaStore, AppError> {
    if let Some(path) = sqlite_file(&config.database.url())
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(&format!("creating {}", dir.display()), e))?;
    }
    let options = SeaOptions {
        max_connections: Some(config.db_max_connections),
        sqlite_cache_kib: config.sqlite_cache_kib,
        ..SeaOptions::default()
    };
    let url = config.database.url();
    SeaStore::connect(&url, &options).await.map_err(|e| {
        fail(&format!("opening the database {}", crate::config::mask_url(&url)), source_chain(&e))
    })
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
    let key = load_key(&config.key)?;
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let hasher = Argon2Hasher::new(cores).map_err(|e| fail("setting up argon2id", e))?;
    let ports = Ports {
        store: Arc::new(store),
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
        MailTransport::Smtp(settings) => {
            Arc::new(SmtpMailer::new(settings, config.mail_from.clone()).map_err(AppError)?)
        }
        MailTransport::Mailbox(dir) => Arc::new(MailboxMailer::new(dir, config.mail_from.clone())),
    })
}

/// The console's log-ins count against the API's log-in throttle.
struct ApiLoginGuard(LoginThrottle);

impl LoginGuard for ApiLoginGuard {
    fn check(&self, email: &str, client: Option<std::net::IpAddr>) -> Result<(), u64> {
        self.0.check(email, client)
    }

    fn failed(&self, email: &str, client: Option<std::net::IpAddr>) {
        self.0.failed(email, client);
    }

    fn succeeded(&self, email: &str) {
        self.0.succeeded(email);
    }
}

/// The API with the web console at `/` beside it.
#[must_use]
pub fn http_server(accounts: &Accounts, config: &Config, http: HttpConfig) -> HttpServer {
    let api = HttpServer::new(accounts.clone(), http);
    let console = WebConsole::new(
        accounts.clone(),
        WebConfig {
            public_url: config.public_url.clone(),
            login_guard: Arc::new(ApiLoginGuard(api.login_throttle())),
        },
    );
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
    for (name, value) in config.summary() {
        tracing::info!(setting = name, value = %value, "configuration");
    }
    let store = connect_store(&config).await?;
    let closer = store.clone();
    let accounts = build_accounts(&config, store)?;
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
    let http = http_server(
        &accounts,
        &config,
        HttpConfig {
            operator_token,
            shutdown_grace: config.shutdown_timeout,
            ..HttpConfig::default()
        },
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
    let worker = Worker::spawn(accounts, mailer, Intervals::default());
    let purge = crate::memory::spawn_purge_tick(crate::memory::PURGE_TICK);
    let served = bound.run(shutdown_signal()).await;
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
}
