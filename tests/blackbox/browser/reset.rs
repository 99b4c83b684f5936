//! The password reset in Chromium, as a person walks it (rule 22): from the log-in page's
//! "Forgot password?" link to the mailed link and a new password typed twice; the new
//! password logs in, the old one no longer does, and a session logged in elsewhere before the
//! reset is ended. Asking for an unknown address shows the same page as for a known one.

use super::webdriver::Browser;
use super::{
    ONE_BROWSER, assert_accessible, axe_source, browser, log_in, log_out, serve, wait_for_path,
};
use crate::support::{Auth, Backend, PASSWORD, Server, Site};

/// Not on the list of leaked passwords, unlike `password1234` below.
const NEW_PASSWORD: &str = "velvet harbour tundra mosaic";

#[test]
fn a_forgotten_password_is_reset_from_the_mailed_link_in_a_real_browser() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(browser) =
        browser("a_forgotten_password_is_reset_from_the_mailed_link_in_a_real_browser")
    else {
        return;
    };
    let axe = axe_source();
    let site = Site::new(Backend::Sqlite);
    let app = serve(&site, false);
    let org = app.org("Acme", "ada@acme.test", 5);
    let base = app.base.clone();

    // Another device, logged in before the reset: the browser logs in, keeps its cookies
    // aside and forgets them. (`org` holds an API session from before the reset too.)
    log_in(&browser, &base, "ada@acme.test", PASSWORD);
    let other_device = browser.cookies();
    assert!(
        other_device.iter().any(|c| c["name"] == "accounts-session"),
        "no session cookie in {other_device:?}"
    );
    browser.delete_cookies();
    browser.goto(&format!("{base}/profile"));
    wait_for_path(&browser, "/login");

    let mark = app.mark();
    let unknown = ask_for_a_reset(&browser, &base, "nobody@acme.test", axe.as_deref());
    let known = ask_for_a_reset(&browser, &base, "ada@acme.test", axe.as_deref());
    assert_eq!(known, unknown, "an unknown address shows another page than a known one");
    let mail = app.mail_to("ada@acme.test", &mark);
    let new_mails: Vec<String> = app.mark().difference(&mark).cloned().collect();
    assert_eq!(new_mails.len(), 1, "one mail, to the known address only: {new_mails:?}");
    let link = mail
        .body
        .lines()
        .map(str::trim)
        .find(|l| l.contains("/reset-password?token="))
        .unwrap_or_else(|| panic!("no link in {}", mail.body))
        .to_owned();
    assert!(link.starts_with(&base), "the link points at this server: {link}");

    choose_a_new_password(&browser, &link, axe.as_deref());

    // The link worked once.
    browser.goto(&link);
    browser.type_into("#password", NEW_PASSWORD);
    browser.type_into("#password_repeat", NEW_PASSWORD);
    browser.follow("form[action='/reset-password'] button[type=submit]");
    assert!(browser.text().contains("The reset link is not valid"), "{}", browser.text());

    old_password_fails_and_new_one_logs_in(&browser, &base);
    sessions_from_before_are_ended(&browser, &app, &base, &org.admin.token, &other_device);

    // Nothing secret reached the log: not the reset token, not either password.
    let token = mail.reset_token();
    let log = app.stop().join("\n");
    assert!(!log.contains(&token), "the reset token is in the log");
    assert!(!log.contains(PASSWORD) && !log.contains(NEW_PASSWORD), "a password is in the log");
}

/// From the log-in page, follows "Forgot password?" and asks for `email`; returns the page's
/// text with the address typed left out, to compare the pages of two addresses.
fn ask_for_a_reset(browser: &Browser, base: &str, email: &str, axe: Option<&str>) -> String {
    browser.goto(&format!("{base}/login"));
    browser.follow("a#forgot-password");
    wait_for_path(browser, "/forgot-password");
    assert_accessible(browser, axe, "forgot password");
    browser.type_into("#email", email);
    browser.follow("form[action='/forgot-password'] button[type=submit]");
    assert!(browser.exists("#reset-sent"), "{}", browser.text());
    assert_accessible(browser, axe, "forgot password, sent");
    let text = browser.text();
    assert!(text.contains(email), "the page names the address typed: {text}");
    text.replace(email, "<address>")
}

/// Opens the mailed link; a leaked password and two that differ are refused, naming why; the
/// new password typed twice is set and the log-in page says so.
fn choose_a_new_password(browser: &Browser, link: &str, axe: Option<&str>) {
    browser.goto(link);
    assert!(browser.text().contains("Choose a new password"), "{}", browser.text());
    assert_accessible(browser, axe, "reset password");
    let submit = "form[action='/reset-password'] button[type=submit]";
    browser.type_into("#password", "password1234");
    browser.type_into("#password_repeat", "password1234");
    browser.follow(submit);
    assert!(browser.text().contains("too common"), "{}", browser.text());
    assert_accessible(browser, axe, "reset password, refused");
    browser.type_into("#password", NEW_PASSWORD);
    browser.type_into("#password_repeat", "velvet harbour tundra mosaics");
    browser.follow(submit);
    assert!(browser.text().contains("The two passwords differ"), "{}", browser.text());
    browser.type_into("#password", NEW_PASSWORD);
    browser.type_into("#password_repeat", NEW_PASSWORD);
    browser.follow(submit);
    wait_for_path(browser, "/login");
    assert!(browser.text().contains("Your password is set"), "{}", browser.text());
}

fn old_password_fails_and_new_one_logs_in(browser: &Browser, base: &str) {
    browser.goto(&format!("{base}/login"));
    browser.type_into("#email", "ada@acme.test");
    browser.type_into("#password", PASSWORD);
    browser.follow("form[action='/login'] button[type=submit]");
    assert!(browser.exists("#login-error"), "the old password logged in: {}", browser.url());
    assert!(browser.text().contains("The email or password is wrong"), "{}", browser.text());
    log_in(browser, base, "ada@acme.test", NEW_PASSWORD);
    assert!(browser.exists("form.logout"), "{}", browser.text());
}

/// The browser session kept aside before the reset gets the log-in page, and the API session
/// from before it is refused, while the session logged in with the new password goes on.
fn sessions_from_before_are_ended(
    browser: &Browser,
    app: &Server,
    base: &str,
    api_token: &str,
    other_device: &[serde_json::Value],
) {
    let current = browser.cookies();
    browser.delete_cookies();
    browser.add_cookies(other_device);
    browser.goto(&format!("{base}/profile"));
    wait_for_path(browser, "/login");
    app.get("/api/v1/me", &Auth::bearer(api_token)).expect(401);

    browser.delete_cookies();
    browser.add_cookies(&current);
    browser.goto(&format!("{base}/profile"));
    wait_for_path(browser, "/profile");
    log_out(browser);
}
