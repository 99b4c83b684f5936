//! The command line: `accounts serve`, `accounts migrate`, `accounts openapi`, and the
//! operator commands support staff run against the database. Each command prints what it
//! did; a bad argument or a refusal prints a message and exits non-zero.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use account_core::Accounts;
use account_core::domain::credits::CreditKind;
use account_core::ids::{ApiKeyId, MemberId, OrganisationId, ProductId};
use account_core::ports::Page;
use account_core::services::operator::{NewOrganisation, Operator, OperatorError};
use clap::{Args, Parser, Subcommand};

use crate::app::{self, AppError};
use crate::config::{Config, Overrides};

/// The accounts server: accounts, teams, credits and contacts.
#[derive(Debug, Parser)]
#[command(name = "accounts", version, about, propagate_version = true)]
pub struct Cli {
    /// A TOML configuration file (or ACCOUNTS_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The database (or ACCOUNTS_DATABASE_URL); default: the embedded SQLite file.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
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
    /// Apply database migrations and exit.
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
    /// Show one organisation with its members and pools.
    Show { org: OrganisationId },
    /// Set the licence count.
    SetLicences { org: OrganisationId, licences: u32 },
    /// Set the plan.
    SetPlan { org: OrganisationId, plan: String },
    /// Change the registration (organisation or personal) number: a transfer.
    SetRegistrationNumber { org: OrganisationId, number: String },
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

#[derive(Debug, Subcommand)]
enum CreditsCommand {
    /// Add credits to a pool.
    Grant {
        org: OrganisationId,
        kind: String,
        amount: i64,
        #[arg(long)]
        reason: String,
    },
    /// Remove unallocated credits from a pool.
    Expire {
        org: OrganisationId,
        kind: String,
        amount: i64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum MemberCommand {
    /// Find a member by login email or username.
    Find { email_or_username: String },
    /// Change a member's username (support only).
    RenameUsername { member: MemberId, username: String },
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// A member's keys.
    List { member: MemberId },
    /// Replace a key; prints the new secret once.
    Rotate { key: ApiKeyId },
    /// Revoke a key.
    Revoke { key: ApiKeyId },
}

#[derive(Debug, Subcommand)]
enum ProductCommand {
    /// Every entry.
    List,
    /// Add an entry.
    Add { name: String },
    /// Rename an entry.
    Rename { product: ProductId, name: String },
    /// Stop offering an entry (members who listed it keep it).
    Deactivate { product: ProductId },
    /// Offer an entry again.
    Activate { product: ProductId },
}

/// Parses the command line and runs it.
#[must_use]
pub fn main() -> ExitCode {
    let cli = Cli::parse();
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
        Err(e) => return failed(&e.to_string()),
    };
    crate::telemetry::init(config.log_format, &config.log_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return failed(&format!("starting the async runtime: {e}")),
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failed(&e.0),
    }
}

fn failed(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

#[allow(clippy::print_stdout)]
fn say(text: impl std::fmt::Display) {
    println!("{text}");
}

fn refused(e: &OperatorError) -> AppError {
    match e {
        OperatorError::Validation(errors) => {
            let fields: Vec<String> =
                errors.fields().iter().map(|f| format!("{} {}", f.field, f.message)).collect();
            AppError(format!("invalid input: {}", fields.join("; ")))
        }
        other => AppError(other.to_string()),
    }
}

fn kind(text: &str) -> Result<CreditKind, AppError> {
    CreditKind::parse(text)
        .ok_or_else(|| AppError(format!("unknown credit kind `{text}`: use export, direct_dial, calling_credits or calling_minutes")))
}

async fn domain(config: &Config) -> Result<Accounts, AppError> {
    let store = app::connect_store(config).await?;
    app::build_accounts(config, store)
}

async fn run(command: Command, config: Config) -> Result<(), AppError> {
    let op = Operator::new("cli");
    match command {
        Command::Serve { .. } => app::serve(config).await,
        Command::Migrate => {
            let store = app::connect_store(&config).await?;
            let applied = store.applied_migrations().await.map_err(|e| AppError(e.to_string()))?;
            say(format!("database is at the latest schema ({} migrations applied)", applied.len()));
            store.close().await.map_err(|e| AppError(e.to_string()))
        }
        Command::Openapi => {
            say(account_http::openapi_json());
            Ok(())
        }
        Command::Org(cmd) => org(&domain(&config).await?, &op, cmd).await,
        Command::Credits(cmd) => {
            let accounts = domain(&config).await?;
            let ops = accounts.operator();
            let (pool, verb) = match cmd {
                CreditsCommand::Grant { org, kind: k, amount, reason } => (
                    ops.grant_credits(&op, org, (kind(&k)?, amount, &reason), None)
                        .await
                        .map_err(|e| refused(&e))?
                        .pool,
                    "granted",
                ),
                CreditsCommand::Expire { org, kind: k, amount, reason } => (
                    ops.expire_credits(&op, org, (kind(&k)?, amount, &reason), None)
                        .await
                        .map_err(|e| refused(&e))?
                        .pool,
                    "expired",
                ),
            };
            say(format!(
                "{verb}: {} pool of {} is now total {} / allocated {} / headroom {}",
                pool.kind().as_str(),
                pool.org_id(),
                pool.total(),
                pool.allocated(),
                pool.headroom()
            ));
            Ok(())
        }
        Command::Member(cmd) => {
            let accounts = domain(&config).await?;
            let ops = accounts.operator();
            let m = match cmd {
                MemberCommand::Find { email_or_username } => {
                    ops.find_member(&op, &email_or_username).await
                }
                MemberCommand::RenameUsername { member, username } => {
                    ops.rename_username(&op, member, &username).await
                }
            }
            .map_err(|e| refused(&e))?;
            say(format!(
                "member {} username {} email {} organisation {} role {} status {}",
                m.id,
                m.username,
                m.email,
                m.org_id,
                m.role.as_str(),
                m.status.as_str()
            ));
            Ok(())
        }
        Command::ApiKey(cmd) => {
            let accounts = domain(&config).await?;
            let ops = accounts.operator();
            match cmd {
                ApiKeyCommand::List { member } => {
                    for k in ops.api_keys(&op, member).await.map_err(|e| refused(&e))? {
                        say(format!(
                            "{} {} label={} created={} last_used={}",
                            k.id,
                            k.prefix,
                            k.label.as_ref().map_or("-", |l| l.as_str()),
                            k.created_at.to_rfc3339(),
                            k.last_used_at.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339())
                        ));
                    }
                }
                ApiKeyCommand::Rotate { key } => {
                    let created = ops.rotate_api_key(&op, key).await.map_err(|e| refused(&e))?;
                    say(format!(
                        "rotated: the old key no longer works; new key {} (shown once):",
                        created.key.id
                    ));
                    say(created.secret);
                }
                ApiKeyCommand::Revoke { key } => {
                    ops.revoke_api_key(&op, key).await.map_err(|e| refused(&e))?;
                    say(format!("revoked API key {key}"));
                }
            }
            Ok(())
        }
        Command::Product(cmd) => {
            let accounts = domain(&config).await?;
            let ops = accounts.operator();
            let changed = match cmd {
                ProductCommand::List => {
                    for p in ops.products(&op).await.map_err(|e| refused(&e))? {
                        say(format!(
                            "{} {}{}",
                            p.id,
                            p.name.as_str(),
                            if p.active { "" } else { " (inactive)" }
                        ));
                    }
                    return Ok(());
                }
                ProductCommand::Add { name } => ops.create_product(&op, &name).await,
                ProductCommand::Rename { product, name } => {
                    ops.update_product(&op, product, Some(&name), None).await
                }
                ProductCommand::Deactivate { product } => {
                    ops.update_product(&op, product, None, Some(false)).await
                }
                ProductCommand::Activate { product } => {
                    ops.update_product(&op, product, None, Some(true)).await
                }
            }
            .map_err(|e| refused(&e))?;
            say(format!(
                "product {} {}{}",
                changed.id,
                changed.name.as_str(),
                if changed.active { "" } else { " (inactive)" }
            ));
            Ok(())
        }
    }
}

async fn org(accounts: &Accounts, op: &Operator, cmd: OrgCommand) -> Result<(), AppError> {
    let ops = accounts.operator();
    match cmd {
        OrgCommand::Create(c) => {
            let admin_password = if c.admin_password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| AppError(format!("reading the password: {e}")))?;
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
            let created = ops.create_organisation(op, &new).await.map_err(|e| refused(&e))?;
            let how = if new.admin_password.is_some() {
                "can log in now"
            } else {
                "invitation queued for delivery"
            };
            say(format!(
                "created organisation {} \"{}\" (plan {}, {} licences); admin {} (member {}): {how}",
                created.organisation.id,
                created.organisation.name,
                created.organisation.plan,
                created.organisation.licences,
                created.admin.email,
                created.admin.id
            ));
        }
        OrgCommand::List => {
            let mut after = None;
            loop {
                let page = ops
                    .list_organisations(op, Page { after, limit: 100 })
                    .await
                    .map_err(|e| refused(&e))?;
                for o in &page {
                    say(format!("{} \"{}\" plan {} licences {}", o.id, o.name, o.plan, o.licences));
                }
                match page.last() {
                    Some(last) if page.len() == 100 => after = Some(last.id),
                    _ => break,
                }
            }
        }
        OrgCommand::Show { org } => {
            let d = ops.organisation(op, org).await.map_err(|e| refused(&e))?;
            say(format!(
                "{} \"{}\" registration {} plan {} licences {} (enabled {}, disabled {}, enabled admins {})",
                d.organisation.id,
                d.organisation.name,
                d.organisation.registration_number,
                d.organisation.plan,
                d.organisation.licences,
                d.counts.enabled,
                d.counts.disabled,
                d.counts.enabled_admins
            ));
            for p in d.pools {
                say(format!(
                    "  {:<16} total {:>8} allocated {:>8} used {:>8} headroom {:>8}",
                    p.kind.as_str(),
                    p.total,
                    p.allocated,
                    p.used,
                    p.headroom
                ));
            }
        }
        OrgCommand::SetLicences { org, licences } => {
            let o = ops.set_licences(op, org, licences).await.map_err(|e| refused(&e))?;
            say(format!("organisation {} now has {} licences", o.id, o.licences));
        }
        OrgCommand::SetPlan { org, plan } => {
            let o = ops.set_plan(op, org, &plan).await.map_err(|e| refused(&e))?;
            say(format!("organisation {} is now on plan {}", o.id, o.plan));
        }
        OrgCommand::SetRegistrationNumber { org, number } => {
            let o =
                ops.change_registration_number(op, org, &number).await.map_err(|e| refused(&e))?;
            say(format!(
                "organisation {} registration number changed to {}",
                o.id, o.registration_number
            ));
        }
    }
    Ok(())
}
