//! `cargo xtask`: the project's own commands (matklad's xtask pattern): `ci`, `tidy`,
//! `openapi`, `bench`, `screenshots`.

use std::process::{Command, ExitCode};

mod bench;
mod tidy;

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

/// Runs a command, echoing it, and fails on a non-zero exit.
fn run(mut cmd: Command) -> Result<(), String> {
    eprintln!("$ {cmd:?}");
    let status = cmd.status().map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed with {status}")) }
}

/// Renders the OpenAPI document with the built server and compares it with (or writes it to)
/// `docs/openapi.json`.
fn openapi(check: bool) -> Result<(), String> {
    let root = tidy::workspace_root();
    let mut cmd = cargo();
    cmd.current_dir(&root).args([
        "run",
        "--quiet",
        "--package",
        "account-server",
        "--bin",
        "accounts",
        "--",
        "openapi",
    ]);
    eprintln!("$ {cmd:?}");
    let out = cmd.output().map_err(|e| format!("cannot run the server: {e}"))?;
    if !out.status.success() {
        return Err(format!("`accounts openapi` failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let rendered =
        String::from_utf8(out.stdout).map_err(|e| format!("the document is not UTF-8: {e}"))?;
    let path = root.join("docs/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed.trim_end() == rendered.trim_end() {
        eprintln!("openapi: docs/openapi.json matches the code");
        return Ok(());
    }
    if check {
        return Err("docs/openapi.json differs from the API in the code: run `cargo xtask openapi` and commit the file".into());
    }
    std::fs::write(&path, format!("{}\n", rendered.trim_end()))
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!("openapi: wrote docs/openapi.json");
    Ok(())
}

/// Writes a PNG of every console page, at a desktop and a phone's width, to `docs/console/`:
/// the black-box suite's browser walk (Chromium over WebDriver, on the demo organisation)
/// with `ACCOUNTS_SCREENSHOTS_DIR` set. Needs `chromium` and `chromium-driver` (apt-get) and
/// axe-core (`npm ci` in `tests/blackbox/browser`).
fn screenshots() -> Result<(), String> {
    let root = tidy::workspace_root();
    let dir = root.join("docs/console");
    if dir.exists() {
        // Pages that are gone leave no picture behind.
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|e| e == "png") {
                std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    let mut cmd = cargo();
    cmd.current_dir(&root)
        .env("ACCOUNTS_SCREENSHOTS_DIR", &dir)
        // Fail rather than skip when Chromium is missing.
        .env("CI", "true")
        .args([
            "test",
            "--package",
            "account-server",
            "--test",
            "blackbox",
            "--",
            "--exact",
            "browser::pages::every_console_page_passes_axe_at_desktop_and_phone_widths",
        ]);
    run(cmd)?;
    eprintln!("screenshots: wrote docs/console/");
    Ok(())
}

fn ci() -> Result<(), String> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    run(fmt)?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)?;
    let mut test = cargo();
    test.args(["test", "--workspace"]);
    run(test)?;
    // The opt-in OTLP export (off in the default build above): its set-up and an export to a
    // stand-in collector, joined to the caller's trace.
    let mut otlp = cargo();
    otlp.args(["test", "-p", "account-server", "--features", "otlp", "--lib", "--", "otlp"]);
    run(otlp)?;
    // Rustdoc of every crate, warnings refused (broken links, bad code blocks); the examples
    // in it ran with the tests above.
    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings");
    run(doc)?;
    openapi(true)?;
    tidy::check_all(&tidy::workspace_root())
}

const USAGE: &str = "usage: cargo xtask <command>

commands:
  ci                fmt --check, clippy -D warnings, the whole test suite (doc examples
                    included), account-server's OTLP tests with `--features otlp`,
                    cargo doc -D warnings, openapi --check, tidy
  tidy              the project's own lints (core dependencies, module docs, rules table, …)
  openapi [--check] write docs/openapi.json from the code (or fail if it differs)
  screenshots       a PNG of every web console page, desktop and phone width, in docs/console/
  bench [--quick] [--keep] [--only SCENARIO,…] [--backend sqlite|postgres]
                    load the `dist` server with wrk against its baselines (docs/benchmarks.md);
                    --keep leaves the PostgreSQL database for profiling; --only and --backend
                    run part of it (and leave docs/benchmarks.md as it is)
  ab A_BIN B_BIN --db FILE.db --script FILE.lua [--rounds 12] [--secs 3]
                    two server binaries on copies of one SQLite database, loaded in short
                    wrk slices alternating between them: B's requests per second over A's";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("tidy") => tidy::check_all(&tidy::workspace_root()),
        Some("bench") => bench::Only::parse(&args).and_then(|only| {
            bench::bench(
                &tidy::workspace_root(),
                args.iter().any(|a| a == "--quick"),
                args.iter().any(|a| a == "--keep"),
                &only,
            )
        }),
        Some("ab") => bench::ab::Args::parse(&args)
            .and_then(|ab| bench::ab::run(&tidy::workspace_root(), &ab)),
        Some("openapi") => openapi(args.iter().any(|a| a == "--check")),
        Some("screenshots") => screenshots(),
        Some("help" | "--help" | "-h") | None => {
            eprintln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
