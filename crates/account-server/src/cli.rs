//! The command line: `accounts serve`, `accounts migrate`, `accounts openapi`, and the
//! operator commands support staff run against the database. Each command prints what it
//! did, as text or, with `--json`, as one JSON document; a refusal prints a message on
//! standard error and exits with a code that says what kind of failure it was ([`EXIT_CODES`]).
//! Only `serve` and `migrate` create or migrate the database; the others refuse one that is
//! missing or whose schema is behind.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use account_core::Accounts;
use account_core::domain::credits::CreditKind;
use account_core::ids::{ApiKeyId, MemberId, OrganisationId, ProductId};
use account_core::ports::Page;
use account_core::services::operator::{NewOrganisation, NewPlanSeats, Operator, OperatorError};
use account_core::services::password_reset::SendResetError;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::app::{self, AppError, Purpose, StoreFailure};
use crate::config::{Config, Overrides};

/// How the command ended, as `accounts --help` lists it.
pub const EXIT_CODES: &str = "Exit codes:
  0  done
  1  failed for another reason (the message says which)
  2  bad usage: an unknown command, a missing or malformed argument
  3  bad configuration: a setting (environment, file or flag) is invalid
  4  refused by a rule: invalid input, a taken name, too few licences or credits
  5  not found: no such organisation, member, API key or product
  6  the database cannot be reached (or there is no database yet: run `accounts migrate`)
  7  the database's schema is behind this version: run `accounts migrate`";

/// Why a command failed, and the exit code that says so.
#[derive(Debug)]
pub enum Failure {
    /// Anything else (1).
    Failed(String),
    /// A setting is invalid (3).
    Config(String),
    /// Refused by a rule (4).
    Refused(String),
    /// No such thing (5).
    NotFound(String),
    /// The database cannot be reached, or there is none yet (6).
    Unreachable(String),
    /// The schema is behind (7).
    Behind(String),
}

impl Failure {
    /// The process's exit code.
    #[must_use]
    pub fn code(&self) -> u8 {
        match self {
            Self::Failed(_) => 1,
            Self::Config(_) => 3,
            Self::Refused(_) => 4,
            Self::NotFound(_) => 5,
            Self::Unreachable(_) => 6,
            Self::Behind(_) => 7,
        }
    }

    fn message(&self) -> &str {
        match self {
            Self::Failed(m)
            | Self::Config(m)
            | Self::Refused(m)
            | Self::NotFound(m)
            | Self::Unreachable(m)
            | Self::Behind(m) => m,
        }
    }
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Self::Failed(e.0)
    }
}

impl From<StoreFailure> for Failure {
    fn from(e: StoreFailure) -> Self {
        match e {
            StoreFailure::Unreachable(m) | StoreFailure::Missing(m) => Self::Unreachable(m),
            StoreFailure::Behind(m) => Self::Behind(m),
            StoreFailure::Other(m) => Self::Failed(m),
        }
    }
}

impl From<OperatorError> for Failure {
    fn from(e: OperatorError) -> Self {
        match e {
            OperatorError::Validation(errors) => {
                let fields: Vec<String> =
                    errors.fields().iter().map(|f| format!("{} {}", f.field, f.message)).collect();
                Self::Refused(format!("invalid input: {}", fields.join("; ")))
            }
            OperatorError::OrganisationNotFound
            | OperatorError::MemberNotFound
            | OperatorError::ApiKeyNotFound
            | OperatorError::ProductNotFound => Self::NotFound(e.to_string()),
            OperatorError::EmailTaken
            | OperatorError::UsernameTaken
            | OperatorError::ProductNameTaken
            | OperatorError::SeatsBelowMembers(_)
            | OperatorError::InsufficientHeadroom { .. }
            | OperatorError::IdempotencyKey(_) => Self::Refused(e.to_string()),
            OperatorError::Internal(i) if i.is_unavailable() => {
                Self::Unreachable(format!("the database is unavailable: {i}"))
            }
            OperatorError::Internal(i) => Self::Failed(i.to_string()),
        }
    }
}

impl From<SendResetError> for Failure {
    fn from(e: SendResetError) -> Self {
        match e {
            SendResetError::MemberNotFound => Self::NotFound(e.to_string()),
            SendResetError::TargetIsAdmin
            | SendResetError::NotResettable
            | SendResetError::Throttled(_)
            | SendResetError::Denied(_) => Self::Refused(e.to_string()),
            SendResetError::Internal(i) if i.is_unavailable() => {
                Self::Unreachable(format!("the database is unavailable: {i}"))
            }
            SendResetError::Internal(i) => Self::Failed(i.to_string()),
        }
    }
}

/// The accounts server: accounts, teams, credits and contacts.
#[derive(Debug, Parser)]
#[command(name = "accounts", version, about, propagate_version = true, after_help = EXIT_CODES)]
pub struct Cli {
    /// A TOML configuration file (or ACCOUNTS_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The database (or ACCOUNTS_DATABASE_URL); default: the embedded SQLite file.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Print what the command shows as one JSON document on standard output (for scripts).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run migrations, then serve the API, Swagger UI and the mail worker.
    Serve {
        /// Address to listen on (or ACCOUNTS_LISTEN), e.g. 127.0.0.1:8080.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Do not seed the demo organisation on an empty embedded database.
        #[arg(long)]
        no_demo: bool,
    },
    /// Create the database if needed, apply its migrations (and create the key file if it is
    /// used and missing), and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Credit pools.
    #[command(subcommand)]
    Credits(CreditsCommand),
    /// Members.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Members' API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// The products catalogue.
    #[command(subcommand)]
    Product(ProductCommand),
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organisation with its first admin (invited by mail, or with a password read
    /// from standard input).
    Create(CreateOrg),
    /// List organisations.
    List,
    /// Show one organisation with its member counts and pools.
    Show {
        /// The organisation's id.
        org: OrganisationId,
    },
    /// Set the licences per plan, replacing the organisation's plans: each plan keeps at least
    /// the members enabled on it, and a plan with members stays unless another replaces it.
    SetSeats {
        /// The organisation's id.
        org: OrganisationId,
        /// A plan and its licences, as NAME=COUNT (for example Professional=3); repeat for
        /// each plan, in the order pages show them.
        #[arg(long = "plan", value_name = "NAME=COUNT", required = true, value_parser = plan_seats)]
        plans: Vec<(String, u32)>,
        /// Move the members of plan OLD to plan NEW (one of --plan), as OLD=NEW: to rename a
        /// plan or move a whole team. OLD then goes.
        #[arg(long = "replace", value_name = "OLD=NEW", value_parser = replacement)]
        replaces: Vec<(String, String)>,
    },
    /// Change the registration (organisation or personal) number: a transfer.
    SetRegistrationNumber {
        /// The organisation's id.
        org: OrganisationId,
        /// The new number: 2 to 32 letters, digits, spaces or hyphens.
        number: String,
    },
}

#[derive(Debug, Args)]
struct CreateOrg {
    /// Organisation name.
    #[arg(long)]
    name: String,
    /// Organisation or personal number.
    #[arg(long)]
    registration_number: String,
    /// Plan.
    #[arg(long)]
    plan: String,
    /// Licences.
    #[arg(long)]
    licences: u32,
    /// The first admin's email.
    #[arg(long)]
    admin_email: String,
    /// The first admin's first name.
    #[arg(long)]
    admin_first_name: String,
    /// The first admin's last name.
    #[arg(long)]
    admin_last_name: Option<String>,
    /// Read the admin's first password from standard input instead of mailing an invitation.
    #[arg(long)]
    admin_password_stdin: bool,
}

/// A kind of credit, as the API names it.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    /// Export credits.
    #[value(name = "export")]
    Export,
    /// Direct-dial credits.
    #[value(name = "direct_dial")]
    DirectDial,
    /// Calling credits.
    #[value(name = "calling_credits")]
    CallingCredits,
    /// Calling minutes.
    #[value(name = "calling_minutes")]
    CallingMinutes,
}

impl From<Kind> for CreditKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Export => Self::Export,
            Kind::DirectDial => Self::DirectDial,
            Kind::CallingCredits => Self::CallingCredits,
            Kind::CallingMinutes => Self::CallingMinutes,
        }
    }
}

#[derive(Debug, Subcommand)]
enum CreditsCommand {
    /// Add credits to a pool.
    Grant {
        /// The organisation's id.
        org: OrganisationId,
        /// The pool's kind.
        kind: Kind,
        /// How many credits (1 to 1,000,000,000).
        amount: i64,
        /// Why, for the ledger (an invoice number, say).
        #[arg(long)]
        reason: String,
    },
    /// Remove unallocated credits from a pool.
    Expire {
        /// The organisation's id.
        org: OrganisationId,
        /// The pool's kind.
        kind: Kind,
        /// How many credits (at most the pool's unallocated headroom).
        amount: i64,
        /// Why, for the ledger.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum MemberCommand {
    /// Find a member by login email or username.
    Find {
        /// A login email address or a username.
        email_or_username: String,
    },
    /// Mail a member a link to choose a new password (valid 30 minutes, once). Support never
    /// sees or sets the password; disabled and still invited members get nothing.
    SendPasswordReset {
        /// The member's id.
        member: MemberId,
    },
    /// Change a member's username (support only).
    RenameUsername {
        /// The member's id.
        member: MemberId,
        /// The new username: 3 to 32 lower-case letters, digits, dots, hyphens or underscores.
        username: String,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// A member's keys.
    List {
        /// The member's id.
        member: MemberId,
    },
    /// Replace a key; prints the new secret once.
    Rotate {
        /// The key's id.
        key: ApiKeyId,
    },
    /// Revoke a key.
    Revoke {
        /// The key's id.
        key: ApiKeyId,
    },
}

#[derive(Debug, Subcommand)]
enum ProductCommand {
    /// Every entry.
    List,
    /// Add an entry.
    Add {
        /// The entry's name, unique case-insensitively (at most 80 characters).
        name: String,
    },
    /// Rename an entry.
    Rename {
        /// The entry's id.
        product: ProductId,
        /// Its new name.
        name: String,
    },
    /// Stop offering an entry (members who listed it keep it).
    Deactivate {
        /// The entry's id.
        product: ProductId,
    },
    /// Offer an entry again.
    Activate {
        /// The entry's id.
        product: ProductId,
    },
}

/// What a command shows: lines of text, or the same as one JSON document.
struct Shown {
    text: Vec<String>,
    json: Value,
}

impl Shown {
    fn new(json: Value, text: impl Into<String>) -> Self {
        Self { text: vec![text.into()], json }
    }
}

/// Parses the command line and runs it.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let overrides = Overrides {
        config_file: cli.config.clone(),
        database_url: cli.database_url.clone(),
        listen: match &cli.command {
            Command::Serve { listen, .. } => listen.clone(),
            _ => None,
        },
        no_demo: matches!(cli.command, Command::Serve { no_demo: true, .. }),
    };
    let config = match Config::from_env(&overrides) {
        Ok(config) => config,
        Err(e) => return failed(&Failure::Config(e.to_string())),
    };
    if let Err(e) = crate::telemetry::init(
        config.log_format,
        &config.log_filter,
        config.otlp_endpoint.as_deref(),
    ) {
        return failed(&Failure::Failed(e));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return failed(&Failure::Failed(format!("starting the async runtime: {e}"))),
    };
    let outcome = runtime.block_on(run(cli.command, config));
    // After graceful shutdown (or any command): the last spans go to the collector.
    drop(runtime);
    crate::telemetry::shutdown();
    match outcome {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(shown)) => {
            if json {
                say(serde_json::to_string_pretty(&shown.json).unwrap_or_default());
            } else {
                shown.text.into_iter().for_each(say);
            }
            ExitCode::SUCCESS
        }
        Err(e) => failed(&e),
    }
}

fn failed(failure: &Failure) -> ExitCode {
    eprintln!("error: {}", failure.message());
    ExitCode::from(failure.code())
}

#[allow(clippy::print_stdout)]
fn say(text: impl std::fmt::Display) {
    println!("{text}");
}

/// The domain over the existing, up-to-date database (nothing is created).
async fn domain(config: &Config) -> Result<Accounts, Failure> {
    let store = app::open_store(config, Purpose::Use).await?;
    Ok(app::build_accounts_with(config, store, false)?)
}

fn pool_json(p: &account_core::domain::credits::CreditPool) -> Value {
    json!({
        "organisation_id": p.org_id().to_string(),
        "kind": p.kind().as_str(),
        "total": p.total(),
        "allocated": p.allocated(),
        "headroom": p.headroom(),
    })
}

fn member_json(m: &account_core::domain::member::Member) -> Value {
    json!({
        "id": m.id.to_string(),
        "organisation_id": m.org_id.to_string(),
        "username": m.username.as_str(),
        "email": m.email.as_str(),
        "role": m.role.as_str(),
        "status": m.status.as_str(),
    })
}

/// `NAME=COUNT` of `--plan`.
fn plan_seats(arg: &str) -> Result<(String, u32), String> {
    let (name, count) = arg.rsplit_once('=').ok_or("expected NAME=COUNT, like Professional=3")?;
    let count = count.trim().parse().map_err(|_| format!("{count:?} is not a licence count"))?;
    Ok((name.trim().to_owned(), count))
}

/// `OLD=NEW` of `--replace`.
fn replacement(arg: &str) -> Result<(String, String), String> {
    let (old, new) = arg.split_once('=').ok_or("expected OLD=NEW, like Basic=Professional")?;
    Ok((old.trim().to_owned(), new.trim().to_owned()))
}

fn organisation_json(o: &account_core::domain::organisation::Organisation) -> Value {
    json!({
        "id": o.id.to_string(),
        "name": o.name.as_str(),
        "registration_number": o.registration_number.as_str(),
        "plans": o.seats.plans().iter().map(|p| json!({
            "plan": p.plan.as_str(),
            "licences": p.licences,
        })).collect::<Vec<_>>(),
        "licences": o.seats.total(),
        "created_at": o.created_at.to_rfc3339(),
    })
}

fn key_json(k: &account_core::domain::session::ApiKey) -> Value {
    json!({
        "id": k.id.to_string(),
        "member_id": k.member_id.to_string(),
        "prefix": k.prefix,
        "label": k.label.as_ref().map(|l| l.as_str()),
        "created_at": k.created_at.to_rfc3339(),
        "last_used_at": k.last_used_at.map(|t| t.to_rfc3339()),
    })
}

fn product_json(p: &account_core::domain::products::Product) -> Value {
    json!({ "id": p.id.to_string(), "name": p.name.as_str(), "active": p.active })
}

fn product_line(p: &account_core::domain::products::Product) -> String {
    format!("{} {}{}", p.id, p.name.as_str(), if p.active { "" } else { " (inactive)" })
}

async fn run(command: Command, config: Config) -> Result<Option<Shown>, Failure> {
    let op = Operator::new("cli");
    match command {
        Command::Serve { .. } => {
            app::serve(config).await?;
            Ok(None)
        }
        Command::Migrate => {
            let store = app::open_store(&config, Purpose::Migrate).await?;
            app::read_key(&config.key, true)?;
            let applied =
                store.applied_migrations().await.map_err(|e| Failure::Failed(e.to_string()))?;
            store.close().await.map_err(|e| Failure::Failed(e.to_string()))?;
            Ok(Some(Shown::new(
                json!({ "applied_migrations": applied }),
                format!("database is at the latest schema ({} migrations applied)", applied.len()),
            )))
        }
        Command::Openapi => {
            say(account_http::openapi_json());
            Ok(None)
        }
        Command::Org(cmd) => org(&domain(&config).await?, &op, cmd).await.map(Some),
        Command::Credits(cmd) => {
            let accounts = domain(&config).await?;
            let ops = accounts.operator();
            let (pool, verb) = match cmd {
                CreditsCommand::Grant { org, kind, amount, reason } => (
                    ops.grant_credits(&op, org, (kind.into(), amount, &reason), None).await?.pool,
                    "granted",
                ),
                CreditsCommand::Expire { org, kind, amount, reason } => (
                    ops.expire_credits(&op, org, (kind.into(), amount, &reason), None).await?.pool,
                    "expired",
                ),
            };
            Ok(Some(Shown::new(
                pool_json(&pool),
                format!(
                    "{verb}: {} pool of {} is now total {} / allocated {} / headroom {}",
                    pool.kind().as_str(),
                    pool.org_id(),
                    pool.total(),
                    pool.allocated(),
                    pool.headroom()
                ),
            )))
        }
        Command::Member(cmd) => {
            let accounts = domain(&config).await?;
            let ops = accounts.operator();
            let m = match cmd {
                MemberCommand::Find { email_or_username } => {
                    ops.find_member(&op, &email_or_username).await?
                }
                MemberCommand::RenameUsername { member, username } => {
                    ops.rename_username(&op, member, &username).await?
                }
                MemberCommand::SendPasswordReset { member } => {
                    ops.send_password_reset(&op, member).await?;
                    return Ok(Some(Shown::new(
                        json!({ "member": member.to_string(), "sent": true }),
                        format!("a password reset mail to member {member} is queued"),
                    )));
                }
            };
            Ok(Some(Shown::new(
                member_json(&m),
                format!(
                    "member {} username {} email {} organisation {} role {} status {}",
                    m.id,
                    m.username,
                    m.email,
                    m.org_id,
                    m.role.as_str(),
                    m.status.as_str()
                ),
            )))
        }
        Command::ApiKey(cmd) => {
            let accounts = domain(&config).await?;
            let ops = accounts.operator();
            Ok(Some(match cmd {
                ApiKeyCommand::List { member } => {
                    let keys = ops.api_keys(&op, member).await?;
                    let mut text: Vec<String> = keys
                        .iter()
                        .map(|k| {
                            format!(
                                "{} {} label={} created={} last_used={}",
                                k.id,
                                k.prefix,
                                k.label.as_ref().map_or("-", |l| l.as_str()),
                                k.created_at.to_rfc3339(),
                                k.last_used_at
                                    .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339())
                            )
                        })
                        .collect();
                    if text.is_empty() {
                        text.push(format!("member {member} has no API keys"));
                    }
                    Shown { text, json: Value::Array(keys.iter().map(key_json).collect()) }
                }
                ApiKeyCommand::Rotate { key } => {
                    let created = ops.rotate_api_key(&op, key).await?;
                    Shown {
                        text: vec![
                            format!(
                                "rotated: key {} keeps its id; the old secret no longer works; new secret (shown once):",
                                created.key.id
                            ),
                            created.secret.clone(),
                        ],
                        json: json!({ "key": key_json(&created.key), "secret": created.secret }),
                    }
                }
                ApiKeyCommand::Revoke { key } => {
                    ops.revoke_api_key(&op, key).await?;
                    Shown::new(
                        json!({ "revoked": key.to_string() }),
                        format!("revoked API key {key}"),
                    )
                }
            }))
        }
        Command::Product(cmd) => {
            let accounts = domain(&config).await?;
            let ops = accounts.operator();
            let changed = match cmd {
                ProductCommand::List => {
                    let products = ops.products(&op).await?;
                    let mut text: Vec<String> = products.iter().map(product_line).collect();
                    if text.is_empty() {
                        text.push("the catalogue is empty".to_owned());
                    }
                    return Ok(Some(Shown {
                        text,
                        json: Value::Array(products.iter().map(product_json).collect()),
                    }));
                }
                ProductCommand::Add { name } => ops.create_product(&op, &name).await?,
                ProductCommand::Rename { product, name } => {
                    ops.update_product(&op, product, Some(&name), None).await?
                }
                ProductCommand::Deactivate { product } => {
                    ops.update_product(&op, product, None, Some(false)).await?
                }
                ProductCommand::Activate { product } => {
                    ops.update_product(&op, product, None, Some(true)).await?
                }
            };
            Ok(Some(Shown::new(
                product_json(&changed),
                format!("product {}", product_line(&changed)),
            )))
        }
    }
}

async fn org(accounts: &Accounts, op: &Operator, cmd: OrgCommand) -> Result<Shown, Failure> {
    let ops = accounts.operator();
    Ok(match cmd {
        OrgCommand::Create(c) => {
            let admin_password = if c.admin_password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| Failure::Failed(format!("reading the password: {e}")))?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let new = NewOrganisation {
                name: c.name,
                registration_number: c.registration_number,
                plan: c.plan,
                licences: c.licences,
                admin_first_name: c.admin_first_name,
                admin_last_name: c.admin_last_name,
                admin_email: c.admin_email,
                admin_password,
            };
            let created = ops.create_organisation(op, &new).await?;
            let how = if new.admin_password.is_some() {
                "can log in now"
            } else {
                "invitation queued for delivery"
            };
            Shown::new(
                json!({
                    "organisation": organisation_json(&created.organisation),
                    "admin": member_json(&created.admin),
                }),
                format!(
                    "created organisation {} \"{}\" (plans {}); admin {} (member {}): {how}",
                    created.organisation.id,
                    created.organisation.name,
                    created.organisation.seats,
                    created.admin.email,
                    created.admin.id
                ),
            )
        }
        OrgCommand::List => {
            let mut all = Vec::new();
            let mut after = None;
            loop {
                let page = ops.list_organisations(op, Page { after, limit: 100 }).await?;
                let full = page.len() == 100;
                after = page.last().map(|o| o.id);
                all.extend(page);
                if !full {
                    break;
                }
            }
            let mut text: Vec<String> =
                all.iter().map(|o| format!("{} \"{}\" plans {}", o.id, o.name, o.seats)).collect();
            if text.is_empty() {
                text.push("no organisations yet: create one with `accounts org create`".to_owned());
            }
            Shown { text, json: Value::Array(all.iter().map(organisation_json).collect()) }
        }
        OrgCommand::Show { org } => {
            let d = ops.organisation(op, org).await?;
            let mut text = vec![format!(
                "{} \"{}\" registration {} plans {} (enabled {}, disabled {}, enabled admins {})",
                d.organisation.id,
                d.organisation.name,
                d.organisation.registration_number,
                d.organisation.seats,
                d.counts.enabled,
                d.counts.disabled,
                d.counts.enabled_admins
            )];
            text.extend(d.pools.iter().map(|p| {
                format!(
                    "  {:<16} total {:>8} allocated {:>8} used {:>8} headroom {:>8}",
                    p.kind.as_str(),
                    p.total,
                    p.allocated,
                    p.used,
                    p.headroom
                )
            }));
            let mut json = organisation_json(&d.organisation);
            json["members"] = json!({
                "enabled": d.counts.enabled,
                "disabled": d.counts.disabled,
                "enabled_admins": d.counts.enabled_admins,
            });
            json["pools"] = d
                .pools
                .iter()
                .map(|p| {
                    json!({
                        "kind": p.kind.as_str(),
                        "total": p.total,
                        "allocated": p.allocated,
                        "used": p.used,
                        "headroom": p.headroom,
                    })
                })
                .collect();
            Shown { text, json }
        }
        OrgCommand::SetSeats { org, plans, replaces } => {
            if let Some((old, new)) =
                replaces.iter().find(|(_, new)| !plans.iter().any(|(p, _)| p == new))
            {
                return Err(Failure::Refused(format!(
                    "invalid input: --replace {old}={new}: {new} is not one of the --plan options"
                )));
            }
            let plans: Vec<NewPlanSeats> = plans
                .into_iter()
                .map(|(plan, licences)| NewPlanSeats {
                    replaces: replaces
                        .iter()
                        .find(|(_, new)| *new == plan)
                        .map(|(old, _)| old.clone()),
                    plan,
                    licences,
                })
                .collect();
            let o = ops.set_seats(op, org, &plans).await?;
            Shown::new(
                organisation_json(&o),
                format!("organisation {} now has plans {}", o.id, o.seats),
            )
        }
        OrgCommand::SetRegistrationNumber { org, number } => {
            let o = ops.change_registration_number(op, org, &number).await?;
            Shown::new(
                organisation_json(&o),
                format!(
                    "organisation {} registration number changed to {}",
                    o.id, o.registration_number
                ),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn every_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {}", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "accounts", &mut missing);
        assert_eq!(missing, Vec::<String>::new());
        Cli::command().debug_assert();
    }

    #[test]
    fn credit_kinds_are_choices_named_as_in_the_api() {
        let help = Cli::command()
            .find_subcommand_mut("credits")
            .and_then(|c| c.find_subcommand_mut("grant"))
            .map(|c| c.render_help().to_string())
            .unwrap();
        for kind in CreditKind::ALL {
            assert!(help.contains(kind.as_str()), "{kind:?} is not listed: {help}");
        }
        let parsed = Cli::try_parse_from([
            "accounts",
            "credits",
            "grant",
            "01234567-89ab-7def-8123-456789abcdef",
            "gold",
            "5",
            "--reason",
            "x",
        ]);
        assert_eq!(parsed.unwrap_err().kind(), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn exit_codes_are_distinct_and_listed_in_the_help() {
        let failures = [
            Failure::Failed(String::new()),
            Failure::Config(String::new()),
            Failure::Refused(String::new()),
            Failure::NotFound(String::new()),
            Failure::Unreachable(String::new()),
            Failure::Behind(String::new()),
        ];
        let mut codes: Vec<u8> = failures.iter().map(Failure::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), failures.len());
        for code in codes {
            assert!(EXIT_CODES.contains(&format!("\n  {code}  ")), "{code} is not documented");
        }
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit codes:"), "{help}");
    }
}
