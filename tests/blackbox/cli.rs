//! The operator's command line as a script drives it: `--json` documents, readable empty
//! lists, credit kinds as choices, exit codes that say what failed, commands that neither
//! create nor migrate a database, settings checked even when unused, and an unreachable
//! database named with its host and the cause within seconds.

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Backend, PASSWORD, Site};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn create_org(site: &Site, email: &str) -> Output {
    site.cli_output(
        &[
            "--json",
            "org",
            "create",
            "--name",
            "Acme",
            "--registration-number",
            "556677-8899",
            "--plan",
            "Professional",
            "--licences",
            "3",
            "--admin-email",
            email,
            "--admin-first-name",
            "Ada",
            "--admin-password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    )
}

#[test]
fn commands_other_than_migrate_and_serve_touch_no_missing_or_old_database() {
    let site = Site::new(Backend::Sqlite);
    let data = site.dir.join("data");
    // An empty directory: nothing is created, and the message says what to run.
    for args in [&["org", "list"][..], &["product", "list"], &["member", "find", "ada"]] {
        let out = site.cli_output(args, None);
        assert_eq!(out.status.code(), Some(6), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("accounts migrate"), "{}", stderr(&out));
    }
    assert!(!data.exists(), "a command created {}", data.display());

    // A database whose schema is behind (here: never migrated) is refused, not migrated.
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("accounts.db"), b"").unwrap();
    let out = site.cli_output(&["org", "list"], None);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stderr(&out).contains("run `accounts migrate`"), "{}", stderr(&out));
    let again = site.cli_output(&["product", "list"], None);
    assert_eq!(again.status.code(), Some(7), "the first command migrated it: {}", stderr(&again));
    assert!(!data.join("secret.key").exists());

    // `migrate` creates the schema and the key; then the commands work, and print no
    // migration log lines.
    let migrated = json(&site.cli_output(&["--json", "migrate"], None));
    assert!(!migrated["applied_migrations"].as_array().unwrap().is_empty());
    assert!(data.join("secret.key").exists());
    let again = site.cli_output(&["migrate"], None);
    assert!(String::from_utf8_lossy(&again.stdout).contains("latest schema"));
    let out = site.cli_output(&["org", "list"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).to_lowercase().contains("migration"), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no organisations yet"));
}

#[test]
fn json_output_exit_codes_and_choices() {
    let site = Site::new(Backend::Sqlite);
    site.cli(&["migrate"], None);
    assert_eq!(json(&site.cli_output(&["--json", "org", "list"], None)), Value::Array(vec![]));
    assert_eq!(json(&site.cli_output(&["--json", "product", "list"], None)), Value::Array(vec![]));

    let created = json(&create_org(&site, "ada@acme.test"));
    let org = created["organisation"]["id"].as_str().unwrap().to_owned();
    let admin = created["admin"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["organisation"]["licences"], 3);
    assert_eq!(created["admin"]["email"], "ada@acme.test");

    let pool = json(&site.cli_output(
        &["--json", "credits", "grant", &org, "calling_minutes", "120", "--reason", "invoice 7"],
        None,
    ));
    assert_eq!(pool["kind"], "calling_minutes");
    assert_eq!(pool["headroom"], 120);
    let shown = json(&site.cli_output(&["--json", "org", "show", &org], None));
    assert_eq!(shown["members"]["enabled"], 1);
    assert_eq!(shown["pools"].as_array().unwrap().len(), 4);
    let listed = json(&site.cli_output(&["--json", "org", "list"], None));
    assert_eq!(listed[0]["id"], org.as_str());
    let found = json(&site.cli_output(&["--json", "member", "find", "ada@acme.test"], None));
    assert_eq!(found["id"], admin.as_str());
    assert_eq!(found["role"], "admin");
    assert_eq!(
        json(&site.cli_output(&["--json", "api-key", "list", &admin], None)),
        Value::Array(vec![])
    );
    let out = site.cli_output(&["api-key", "list", &admin], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("has no API keys"));
    let product = json(&site.cli_output(&["--json", "product", "add", "Lead Generation"], None));
    assert_eq!(product["active"], true);

    // Exit codes: bad usage 2, refused by a rule 4, not found 5.
    let out = site.cli_output(&["credits", "grant", &org, "gold", "5", "--reason", "x"], None);
    assert_eq!(out.status.code(), Some(2));
    for kind in ["export", "direct_dial", "calling_credits", "calling_minutes"] {
        assert!(stderr(&out).contains(kind), "the choices are listed: {}", stderr(&out));
    }
    let out = site.cli_output(&["credits", "grant", "--help"], None);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("The organisation's id") && help.contains("How many credits"), "{help}");
    assert_eq!(create_org(&site, "ada@acme.test").status.code(), Some(4), "email taken");
    let out = site.cli_output(&["org", "set-seats", &org, "--plan", "Professional=0"], None);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("plans"), "the field is named: {}", stderr(&out));
    let out = site.cli_output(&["org", "set-seats", &org, "--plan", "Professional"], None);
    assert_eq!(out.status.code(), Some(2), "NAME=COUNT is checked: {}", stderr(&out));
    // Support splits the licences between two plans and renames one: its members follow.
    let seats = json(&site.cli_output(
        &["--json", "org", "set-seats", &org, "--plan", "Professional=2", "--plan", "Basic=1"],
        None,
    ));
    assert_eq!(seats["licences"], 3, "{seats}");
    let out = site.cli_output(&["org", "set-seats", &org, "--plan", "Basic=3"], None);
    assert_eq!(out.status.code(), Some(4), "a plan with members stays: {}", stderr(&out));
    let seats = json(&site.cli_output(
        &[
            "--json",
            "org",
            "set-seats",
            &org,
            "--plan",
            "Team=2",
            "--plan",
            "Basic=1",
            "--replace",
            "Professional=Team",
        ],
        None,
    ));
    assert_eq!(
        seats["plans"],
        serde_json::json!([{"plan": "Team", "licences": 2}, {"plan": "Basic", "licences": 1}])
    );
    let out = site.cli_output(&["credits", "expire", &org, "export", "5", "--reason", "x"], None);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let nil = uuid::Uuid::nil().to_string();
    assert_eq!(site.cli_output(&["org", "show", &nil], None).status.code(), Some(5));
    assert_eq!(site.cli_output(&["api-key", "revoke", &nil], None).status.code(), Some(5));
    let out = site.cli_output(&["--help"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Exit codes:"));
}

#[test]
fn settings_are_checked_even_when_unused() {
    let site = Site::new(Backend::Sqlite);
    site.cli(&["migrate"], None);
    for (name, value) in [
        ("ACCOUNTS_SMTP_TLS", "maybe"),
        ("ACCOUNTS_LOG", "info,account_http=loud"),
        ("ACCOUNTS_METRICS_LISTEN", "everywhere"),
    ] {
        let mut cmd = site.command();
        let out = cmd.args(["org", "list"]).env(name, value).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{name}={value}: {}", stderr(&out));
        assert!(stderr(&out).contains(name), "{}", stderr(&out));
    }
}

#[test]
fn an_unreachable_database_is_named_with_its_host_and_cause_within_seconds() {
    let site = Site::new(Backend::Sqlite);
    // Nothing listens on port 1 of the loopback address.
    let start = Instant::now();
    let mut cmd = site.command();
    let out = cmd
        .args(["org", "list"])
        .env("ACCOUNTS_DATABASE_URL", "postgres://accounts:secret-pw@127.0.0.1:1/accounts")
        .output()
        .unwrap();
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("127.0.0.1:1"), "names the host: {err}");
    assert!(err.to_lowercase().contains("refused"), "names the cause: {err}");
    assert!(!err.contains("secret-pw"), "the password is masked: {err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let mut cmd = site.command();
    let out = cmd
        .args(["migrate"])
        .env("ACCOUNTS_DATABASE_URL", "postgres://u@127.0.0.1:1/x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
}
