//! The console's flows in Chromium, as a person walks them: a new sub-user accepts the
//! invitation from the mail's link and logs in (keyboard only); an admin allocates credits
//! and the team pool's progress bar moves; impersonation shows the banner and Exit returns; a
//! contact address is added, verified by the mailed code and given a role, and a removal that
//! would leave roles unheld is refused naming them; a stale profile save shows what changed;
//! forms forged without the CSRF token are refused; and, with the pages' scripts turned off,
//! the forms still work (everything after `without_javascript` runs without them).

use serde_json::json;

use super::webdriver::{Browser, ENTER, TAB};
use super::{ONE_BROWSER, browser, log_in, log_out, serve, wait_for_path};
use crate::support::{Auth, Backend, PASSWORD, Server, Site};

#[test]
fn the_console_walks_the_seed_flows_in_a_real_browser() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(browser) = browser("the_console_walks_the_seed_flows_in_a_real_browser") else {
        return;
    };
    let site = Site::new(Backend::Sqlite);
    let app = serve(&site, false);
    let org = app.org("Acme", "ada@acme.test", 5);
    app.grant(&org, "export", 1000);
    app.grant(&org, "calling_minutes", 300);
    let base = app.base.clone();

    let token = invitation_and_keyboard_log_in(&browser, &app, &base);
    allocation_moves_the_bar(&browser, &base);
    impersonation_banner_and_exit(&browser, &base);
    disable_and_enable(&browser, &base);
    without_javascript(&browser, &base);
    contact_added_verified_and_given_a_role(&browser, &app, &base);
    stale_save_shows_what_changed(&browser, &app, &base);
    forged_forms_are_refused(&browser, &base);

    // Nothing secret reached the log: not the invitation token, not the password.
    let log = app.stop().join("\n");
    assert!(!log.contains(&token), "the invitation token is in the log");
    assert!(!log.contains(PASSWORD), "a password is in the log");
}

/// Returns the invitation token, to check the log for it later.
fn invitation_and_keyboard_log_in(browser: &Browser, app: &Server, base: &str) -> String {
    log_in(browser, base, "ada@acme.test", PASSWORD);
    browser.follow("nav a[href='/team']");
    wait_for_path(browser, "/team");
    browser.follow("a[href='/team/add']");
    browser.type_into("#first_name", "Nina");
    browser.type_into("#last_name", "New");
    browser.type_into("#email", "nina@acme.test");
    let mark = app.mark();
    browser.follow("form[action='/team/add'] button[type=submit]");
    wait_for_path(browser, "/team");
    assert!(browser.text().contains("The user is added"), "{}", browser.text());
    assert!(browser.text().contains("nina@acme.test"));
    log_out(browser);

    // The link in the mail, as mailed.
    let mail = app.mail_to("nina@acme.test", &mark);
    let link = mail
        .body
        .lines()
        .map(str::trim)
        .find(|l| l.contains("/accept-invitation?token="))
        .unwrap_or_else(|| panic!("no link in {}", mail.body))
        .to_owned();
    assert!(link.starts_with(base), "the link points at this server: {link}");
    browser.goto(&link);
    assert!(browser.text().contains("Set your password"));
    browser.type_into("#password", PASSWORD);
    browser.type_into("#password_repeat", "a different password");
    browser.follow("form[action='/accept-invitation'] button[type=submit]");
    assert!(browser.text().contains("The two passwords differ"), "{}", browser.text());
    browser.type_into("#password", PASSWORD);
    browser.type_into("#password_repeat", PASSWORD);
    browser.follow("form[action='/accept-invitation'] button[type=submit]");
    wait_for_path(browser, "/login");
    assert!(browser.text().contains("Your password is set"), "{}", browser.text());

    // Keyboard only: the email field has the focus; Tab to the password; Enter sends.
    assert_eq!(browser.focused_id(), "email");
    browser.keys("nina@acme.test");
    browser.keys(TAB);
    assert_eq!(browser.focused_id(), "password");
    browser.keys(&format!("{PASSWORD}{ENTER}"));
    wait_for_path(browser, "/profile");
    assert_eq!(browser.property("#first_name", "value"), json!("Nina"));
    // A sub-user sees no link to Manage Users, and gets the 403 page at its address.
    assert!(!browser.exists("nav a[href='/team']"));
    browser.goto(&format!("{base}/team"));
    assert!(browser.text().contains("Admins only"), "{}", browser.text());
    browser.goto(&format!("{base}/profile"));
    log_out(browser);
    mail.invitation_token()
}

fn pool_value(browser: &Browser, kind: &str) -> i64 {
    let v = browser.property(&format!("#pool-{kind}"), "value");
    v.as_f64().map_or_else(|| v.as_i64().unwrap_or(-1), |f| f as i64)
}

fn allocation_moves_the_bar(browser: &Browser, base: &str) {
    log_in(browser, base, "ada@acme.test", PASSWORD);
    browser.goto(&format!("{base}/team"));
    let before = pool_value(browser, "export");
    assert_eq!(before, 0);
    browser.follow("a[href$='/credits']");
    assert!(browser.text().contains("Manage credit: Nina New"), "{}", browser.text());
    browser.type_into("#kind-export", "250");
    browser.follow("form[action$='/credits'] button[type=submit]");
    wait_for_path(browser, "/team");
    assert!(browser.text().contains("The credits are allocated"), "{}", browser.text());
    assert_eq!(pool_value(browser, "export"), before + 250);
    assert!(browser.text().contains("250 export"), "the row shows the credits");

    // More than the pool holds is refused on the form, naming what is free.
    browser.follow("a[href$='/credits']");
    browser.type_into("#kind-export", "5000");
    browser.follow("form[action$='/credits'] button[type=submit]");
    assert!(
        browser.text().contains("Only 750 export credits are unallocated"),
        "{}",
        browser.text()
    );

    // Allocate minutes: its own form, the calling minutes pool.
    browser.goto(&format!("{base}/team"));
    browser.follow("a[href$='/minutes']");
    browser.type_into("#kind-calling_minutes", "60");
    browser.follow("form[action$='/minutes'] button[type=submit]");
    wait_for_path(browser, "/team");
    assert_eq!(pool_value(browser, "calling_minutes"), 60);
}

fn impersonation_banner_and_exit(browser: &Browser, base: &str) {
    browser.goto(&format!("{base}/team"));
    browser.follow("a[href$='/impersonate']");
    browser.type_into("#reason", "Help with the usage report");
    browser.follow("form[action$='/impersonate'] button[type=submit]");
    wait_for_path(browser, "/profile");
    let banner = browser.text_of(&browser.find(".banner"));
    assert!(banner.contains("Nina New"), "{banner}");
    assert_eq!(browser.property("#first_name", "value"), json!("Nina"));
    // What rule 16 refuses is not offered: no API keys, password, deletion or email change.
    for absent in
        ["#api-keys", "#password", "#delete", "a[href='/profile/email']", "nav a[href='/team']"]
    {
        assert!(!browser.exists(absent), "{absent} is offered under an impersonation");
    }
    // The banner is on every page.
    browser.follow("nav a[href='/usage']");
    wait_for_path(browser, "/usage");
    assert!(browser.exists(".banner"));
    browser.follow(".banner button[type=submit]");
    wait_for_path(browser, "/team");
    assert!(!browser.exists(".banner"));
    assert!(browser.text().contains("You are back in your own session"));
    assert!(browser.exists("nav a[href='/team']"), "the admin's own session again");
}

fn disable_and_enable(browser: &Browser, base: &str) {
    browser.goto(&format!("{base}/team"));
    // The script asks first; the person confirms.
    browser.follow_confirming("form[action$='/disable'] button[type=submit]");
    wait_for_path(browser, "/team");
    assert!(browser.text().contains("The user is disabled"), "{}", browser.text());
    assert!(!browser.text().contains("nina@acme.test"), "gone from the Enabled tab");
    browser.follow("nav.tabs a[href='/team?tab=disabled']");
    assert!(browser.text().contains("nina@acme.test"), "{}", browser.text());
    browser.follow("form[action$='/enable'] button[type=submit]");
    wait_for_path(browser, "/team");
    assert!(browser.text().contains("The user is enabled"), "{}", browser.text());
    browser.goto(&format!("{base}/team"));
    assert!(browser.text().contains("nina@acme.test"));
}

/// The same forms with the pages' scripts off: Disable goes through without the confirm
/// dialog, and the new API key's Copy button stays hidden while the key can still be read.
fn without_javascript(browser: &Browser, base: &str) {
    browser.disable_page_scripts();
    browser.goto(&format!("{base}/team"));
    browser.follow("form[action$='/disable'] button[type=submit]");
    assert!(browser.text().contains("The user is disabled"), "{}", browser.text());
    browser.follow("nav.tabs a[href='/team?tab=disabled']");
    browser.follow("form[action$='/enable'] button[type=submit]");
    assert!(browser.text().contains("The user is enabled"), "{}", browser.text());
    browser.goto(&format!("{base}/profile"));
    browser.type_into("#key_label", "no script");
    browser.follow("form[action='/profile/api-keys'] button[type=submit]");
    let secret = browser.property("#secret", "value");
    assert!(secret.as_str().unwrap().starts_with("ack_"), "{secret}");
    assert_eq!(browser.property("button[data-copy]", "hidden"), json!(true));
    // And the banner's Exit, the email change's first step and log-out work alike.
    browser.goto(&format!("{base}/profile/email"));
    browser.follow("form[action='/profile/email/start'] button[type=submit]");
    assert!(browser.text().contains("Code from the mail to your current address"));
    browser.follow("form[action='/profile/email/cancel'] button[type=submit]");
    assert!(browser.text().contains("The email change is cancelled"), "{}", browser.text());
}

fn contact_added_verified_and_given_a_role(browser: &Browser, app: &Server, base: &str) {
    browser.goto(&format!("{base}/organisation"));
    assert!(browser.text().contains("556677-8899"), "the organisation number is shown");
    assert!(!browser.exists("input[name='registration_number']"), "and read-only");
    browser.follow("nav.tabs a[href='/organisation/contacts']");
    browser.follow("a[href='/organisation/contacts/new']");
    browser.type_into("#email", "dpo@acme.test");
    let mark = app.mark();
    browser.follow("form[action='/organisation/contacts/new'] button[type=submit]");
    wait_for_path(browser, "/organisation/contacts/");
    assert!(browser.url().contains("/verify"), "{}", browser.url());
    let code = app.mail_to("dpo@acme.test", &mark).code();
    browser.type_into("#code", "000000");
    browser.follow("form[action$='/verify'] button[type=submit]");
    assert!(browser.text().contains("The code is wrong"), "{}", browser.text());
    browser.type_into("#code", &code);
    browser.follow("form[action$='/verify'] button[type=submit]");
    wait_for_path(browser, "/organisation/contacts/");
    assert!(browser.url().contains("/roles"), "{}", browser.url());
    browser.click("#role-dpo");
    browser.follow("form[action$='/roles'] button[type=submit]");
    wait_for_path(browser, "/organisation/contacts");
    let rows = browser.script(
        "return Array.from(document.querySelectorAll('table.contacts tbody tr')).map(function (r) {\
           return [r.querySelector('th').innerText].concat(Array.from(r.querySelectorAll('td'))\
             .slice(0, 3).map(function (c) { return c.querySelector('[aria-label]') ? 'yes' : 'no'; }));\
         })",
        &[],
    );
    let dpo_row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0].as_str().unwrap_or_default().contains("dpo@acme.test"))
        .unwrap_or_else(|| panic!("no row for the new address: {rows}"))
        .clone();
    assert_eq!(dpo_row, json!(["dpo@acme.test", "no", "no", "yes"]));

    // Trash the admin's address, which alone holds Billing and Tech: "Yes, Delete" is
    // refused, naming both roles.
    let href = browser.script(
        "return Array.from(document.querySelectorAll('table.contacts tbody tr'))\
           .filter(function (r) { return r.innerText.indexOf('ada@acme.test') >= 0; })\
           .map(function (r) { return r.querySelector(\"a[href$='/delete']\").getAttribute('href'); })[0]",
        &[],
    );
    browser.goto(&format!("{base}{}", href.as_str().unwrap()));
    browser.follow("form[action$='/delete'] button[type=submit]");
    let text = browser.text();
    assert!(text.contains("Billing and Tech"), "{text}");
    assert!(text.contains("ada@acme.test"), "nothing was removed");
}

fn stale_save_shows_what_changed(browser: &Browser, app: &Server, base: &str) {
    browser.goto(&format!("{base}/profile"));
    browser.type_into("#job_title", "Head of Sales");
    // Meanwhile, another tab (here: the API) saves the same profile.
    let api = Auth::bearer(&app.login("ada@acme.test", PASSWORD));
    let read = app.get("/api/v1/me/profile", &api);
    let etag = read.header("etag").unwrap();
    app.put_if(
        "/api/v1/me/profile",
        &api,
        &etag,
        json!({"first_name": "Ada", "last_name": "Admin", "job_title": "CTO"}),
    )
    .expect(200);
    browser.follow("form[action='/profile'] button[type=submit]");
    let stale = browser.text_of(&browser.find(".stale"));
    assert!(stale.contains("Job title"), "{stale}");
    assert!(stale.contains("CTO") && stale.contains("Head of Sales"), "{stale}");
    assert_eq!(app.get("/api/v1/me/profile", &api).str("/job_title"), "CTO", "not overwritten");
    // Saving again, knowing, overwrites.
    browser.follow("form[action='/profile'] button[type=submit]");
    wait_for_path(browser, "/profile");
    assert!(browser.text().contains("Your profile is saved"), "{}", browser.text());
    assert_eq!(browser.property("#job_title", "value"), json!("Head of Sales"));
    // Reset re-reads the saved version.
    browser.type_into("#job_title", "Not saved");
    browser.follow("a[href^='/profile?notice=reset']");
    assert_eq!(browser.property("#job_title", "value"), json!("Head of Sales"));
}

fn forged_forms_are_refused(browser: &Browser, base: &str) {
    for token in [None, Some("forged-token")] {
        browser.goto(&format!("{base}/team"));
        browser.script(
            "var f = document.createElement('form'); f.method = 'post'; f.action = '/team/add';\
             [['first_name', 'Eve'], ['email', 'eve@acme.test']].concat(arguments[0] ? [['csrf_token', arguments[0]]] : [])\
               .forEach(function (p) { var i = document.createElement('input'); i.type = 'hidden';\
                 i.name = p[0]; i.value = p[1]; f.appendChild(i); });\
             document.body.appendChild(f); f.submit();",
            &[json!(token)],
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !browser.text().contains("This form has expired") {
            assert!(std::time::Instant::now() < deadline, "{}", browser.text());
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    browser.goto(&format!("{base}/team?q=eve"));
    assert!(browser.text().contains("No user matches"), "{}", browser.text());
}
