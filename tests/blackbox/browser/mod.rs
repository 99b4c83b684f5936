//! The web console in a real browser: Debian's Chromium driven over WebDriver (`webdriver.rs`)
//! against the built `accounts` binary, clicking and typing as a person would, with codes and
//! links read from the mailbox (`flows.rs`, and the password reset in `reset.rs`); and every
//! page checked by axe-core at a desktop and a phone's width, with screenshots for
//! `docs/console/` (`pages.rs`).
//!
//! Without Chromium these tests say loudly that they did not run; under `CI=true` they fail.

mod flows;
mod pages;
mod reset;
mod webdriver;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;

use crate::support::{Server, Site, in_ci, say};
use webdriver::Browser;

/// One browser at a time: Chromium is heavy, and the machines have two cores.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// A browser, or `None` (said loudly; a failure under `CI=true`) when Chromium is missing.
fn browser(test: &str) -> Option<Browser> {
    if !webdriver::available() {
        assert!(
            !in_ci(),
            "CI=true but {} or {} is missing: the browser tests must run \
             (apt-get install chromium chromium-driver)",
            webdriver::CHROMIUM,
            webdriver::CHROMEDRIVER
        );
        say(&format!(
            "SKIPPED: {test} did NOT run: Chromium and chromedriver are not installed \
             (apt-get install chromium chromium-driver)"
        ));
        return None;
    }
    Some(Browser::start())
}

/// `accounts serve` on a port chosen here, with the public URL saying so, so that links in
/// mails point at this server as they would in production.
fn serve(site: &Site, embedded_demo: bool) -> Server {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = site.serve_command();
    cmd.env("ACCOUNTS_LISTEN", format!("127.0.0.1:{port}"))
        .env("ACCOUNTS_PUBLIC_URL", format!("http://127.0.0.1:{port}"));
    if embedded_demo {
        // What a newcomer runs: the embedded database, seeded with the demo organisation.
        cmd.env_remove("ACCOUNTS_DATABASE_URL");
    }
    site.start(cmd)
}

/// axe-core's script, from the pinned npm package (`tests/blackbox/browser/package.json`).
fn axe_source() -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/blackbox/browser/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(_) => {
            assert!(
                !in_ci(),
                "CI=true but axe-core is not installed: run `npm ci` in tests/blackbox/browser"
            );
            say("SKIPPED: the accessibility checks did NOT run: axe-core is not installed \
                 (npm ci in tests/blackbox/browser)");
            None
        }
    }
}

/// Runs axe-core on the page; panics listing every serious or critical violation.
fn assert_accessible(browser: &Browser, axe: Option<&str>, page: &str) {
    let Some(axe) = axe else { return };
    let script = format!(
        "{axe}\n;var done = arguments[arguments.length - 1];\
         axe.run(document, {{resultTypes: ['violations']}}).then(function (r) {{\
           done(r.violations.filter(function (v) {{ return v.impact === 'serious' || v.impact === 'critical'; }})\
             .map(function (v) {{ return {{id: v.id, impact: v.impact, help: v.help,\
               nodes: v.nodes.slice(0, 5).map(function (n) {{ return n.target.join(' '); }})}}; }}));\
         }}).catch(function (e) {{ done([{{id: 'axe-error', help: String(e)}}]); }});"
    );
    let violations = browser.script_async(&script, &[]);
    let list = violations.as_array().cloned().unwrap_or_default();
    assert!(
        list.is_empty(),
        "axe-core: serious or critical violations on {page} ({}):\n{}",
        browser.url(),
        list.iter().map(Value::to_string).collect::<Vec<_>>().join("\n")
    );
}

/// Logs in through the log-in form.
fn log_in(browser: &Browser, base: &str, email: &str, password: &str) {
    browser.goto(&format!("{base}/login"));
    browser.type_into("#email", email);
    browser.type_into("#password", password);
    browser.follow("form[action='/login'] button[type=submit]");
    wait_for_path(browser, "/profile");
}

/// Logs out with the header's button.
fn log_out(browser: &Browser) {
    browser.follow("form.logout button");
    wait_for_path(browser, "/login");
}

/// Waits until the browser shows a page whose path starts with `path`.
#[track_caller]
fn wait_for_path(browser: &Browser, path: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let url = browser.url();
        let here = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap_or_default();
        if here.starts_with(path) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "waited for {path}, the browser shows {url}:\n{}",
            browser.text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
