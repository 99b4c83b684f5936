//! Every console page, the log-in, invitation and password-reset pages first, then the demo
//! organisation a newcomer's first run seeds: axe-core finds no serious or critical violation
//! at a desktop width and at a phone's, and with `ACCOUNTS_SCREENSHOTS_DIR` set
//! (`cargo xtask screenshots`) each is saved as a PNG there.

use std::path::PathBuf;

use super::webdriver::Browser;
use super::{ONE_BROWSER, assert_accessible, axe_source, browser, log_in, serve, wait_for_path};
use crate::support::{Backend, Site};

/// The widths every page is checked at: a laptop, and a phone held upright.
const DESKTOP: u32 = 1280;
const PHONE: u32 = 390;

struct Walk<'a> {
    browser: &'a Browser,
    axe: Option<&'a str>,
    shots: Option<PathBuf>,
    seen: Vec<String>,
}

impl Walk<'_> {
    /// Checks the page shown at both widths and keeps its screenshots.
    fn page(&mut self, name: &str) {
        for (width, mobile, suffix) in [(DESKTOP, false, "desktop"), (PHONE, true, "phone")] {
            self.browser.viewport(width, 900, mobile);
            if let Some(dir) = &self.shots {
                let png = self.browser.screenshot(width, mobile);
                std::fs::write(dir.join(format!("{name}-{suffix}.png")), png).unwrap();
            }
            assert_accessible(self.browser, self.axe, &format!("{name} ({suffix})"));
            // Nothing but a table's own scrolling region is wider than the screen.
            let wide = self.browser.script(
                "var w = document.documentElement.clientWidth;\
                 return Array.from(document.querySelectorAll('body *')).filter(function (e) {\
                   if (e.closest('.table-wrap') || e.closest('svg')) { return false; }\
                   var r = e.getBoundingClientRect(); return r.width > 0 && r.right > w + 1;\
                 }).slice(0, 5).map(function (e) { return e.tagName + '.' + e.className + '#' + e.id; })",
                &[],
            );
            assert_eq!(wide, serde_json::json!([]), "{name} is wider than {width} px");
        }
        self.browser.viewport(DESKTOP, 900, false);
        self.seen.push(name.to_owned());
    }

    fn go(&mut self, base: &str, path: &str, name: &str) {
        self.browser.goto(&format!("{base}{path}"));
        self.page(name);
    }
}

#[test]
fn every_console_page_passes_axe_at_desktop_and_phone_widths() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(browser) = browser("every_console_page_passes_axe_at_desktop_and_phone_widths") else {
        return;
    };
    let axe = axe_source();
    let shots = std::env::var_os("ACCOUNTS_SCREENSHOTS_DIR").map(PathBuf::from);
    if let Some(dir) = &shots {
        std::fs::create_dir_all(dir).unwrap();
    }
    let site = Site::new(Backend::Sqlite);
    let app = serve(&site, true);
    let printed = app.stdout().join("\n");
    let field = |label: &str| {
        printed
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in {printed}"))
            .trim()
            .to_owned()
    };
    let (email, password) = (field("Admin login:"), field("Password:"));
    assert!(printed.contains(&format!("Console:      {}/", app.base)), "{printed}");
    let base = app.base.clone();
    let mut walk = Walk { browser: &browser, axe: axe.as_deref(), shots, seen: Vec::new() };

    walk.go(&base, "/login", "login");
    walk.go(&base, "/accept-invitation?token=aci_from-the-mail", "accept-invitation");
    walk.go(&base, "/forgot-password", "forgot-password");
    browser.type_into("#email", &email);
    let mark = app.mark();
    browser.follow("form[action='/forgot-password'] button[type=submit]");
    walk.page("forgot-password-sent");
    // The mailed token, so that the form shows as the link opens it; it stays unused.
    let token = app.mail_to(&email, &mark).reset_token();
    walk.go(&base, &format!("/reset-password?token={token}"), "reset-password");
    log_in(&browser, &base, &email, &password);
    assert!(browser.exists("a[href='/profile/export']"), "the profile offers the data export");
    walk.page("profile");
    walk.go(&base, "/profile/email", "email-change");
    walk.go(&base, "/profile/delete", "delete-account");
    browser.goto(&format!("{base}/profile"));
    browser.type_into("#key_label", "CRM sync");
    browser.follow("form[action='/profile/api-keys'] button[type=submit]");
    assert!(browser.text().contains("shown only this once"));
    walk.page("api-key-created");
    walk.go(&base, "/usage", "usage");
    walk.go(&base, "/team", "team");
    walk.go(&base, "/team/add", "team-add");
    browser.goto(&format!("{base}/team"));
    browser.follow("a[href$='/credits']");
    walk.page("manage-credit");
    browser.goto(&format!("{base}/team"));
    browser.follow("a[href$='/minutes']");
    walk.page("allocate-minutes");
    browser.goto(&format!("{base}/team"));
    // Sam's Edit profile (the nav's own Profile link ends the same way), with the plan card.
    browser.follow("table.members tr:nth-child(2) a[href$='/profile']");
    assert!(browser.text().contains("seat is on the Professional plan"), "{}", browser.text());
    walk.page("member-profile");
    browser.goto(&format!("{base}/team"));
    browser.follow("a[href$='/impersonate']");
    walk.page("impersonate");
    // Customer info as an admin fills it in, with an address of three lines: the demo
    // organisation has none.
    let address = "Accounts payable\nBox 1234\n111 22 Stockholm";
    browser.goto(&format!("{base}/organisation"));
    browser.type_into("#contact_person", "Ada Admin");
    browser.type_into("#postal_address", address);
    browser.type_into("#company_name", "Demo Company AB");
    browser.follow("form[action='/organisation'] button[type=submit]");
    assert!(browser.text().contains("The customer info is updated"), "{}", browser.text());
    walk.go(&base, "/organisation", "customer-info");
    assert_eq!(browser.property("#postal_address", "value"), serde_json::json!(address));
    walk.go(&base, "/organisation/contacts", "contacts");
    walk.go(&base, "/organisation/contacts/new", "contact-new");
    browser.type_into("#email", "privacy@demo.example");
    browser.follow("form[action='/organisation/contacts/new'] button[type=submit]");
    wait_for_path(&browser, "/organisation/contacts/");
    walk.page("contact-verify");
    browser.goto(&format!("{base}/organisation/contacts"));
    browser.follow("table.contacts a[href$='/roles']");
    walk.page("contact-roles");
    browser.goto(&format!("{base}/organisation/contacts"));
    browser.follow("table.contacts a[href$='/delete']");
    walk.page("contact-delete");
    walk.go(&base, "/audit", "audit");
    walk.go(&base, "/no-such-page", "not-found");
    browser.goto(&format!("{base}/team"));
    browser.script(
        "var f = document.createElement('form'); f.method = 'post'; f.action = '/team/add';\
         document.body.appendChild(f); f.submit();",
        &[],
    );
    wait_for_path(&browser, "/team/add");
    walk.page("form-refused");

    // As a sub-user, through an impersonation: the banner, and the 403 page.
    browser.goto(&format!("{base}/team"));
    browser.follow("a[href$='/impersonate']");
    browser.type_into("#reason", "Screenshots");
    browser.follow("form[action$='/impersonate'] button[type=submit]");
    wait_for_path(&browser, "/profile");
    walk.page("profile-impersonating");
    walk.go(&base, "/usage", "usage-sub-user");
    walk.go(&base, "/team", "admins-only");
    browser.follow(".banner button[type=submit]");
    wait_for_path(&browser, "/team");

    assert!(walk.seen.len() >= 28, "{:?}", walk.seen);
    app.stop();
}
