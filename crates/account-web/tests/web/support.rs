//! The console over the in-memory domain, and a browser-like client: it keeps cookies, finds
//! the page's CSRF token, and sends forms.

use std::collections::BTreeMap;
use std::sync::Arc;

use account_core::services::operator::{NewOrganisation, Operator};
use account_core::services::team::NewMember;
use account_core::{Accounts, Actor, Credential};
use account_memory::InMemory;
use account_web::{WebConfig, WebConsole};
use poem::endpoint::BoxEndpoint;
use poem::http::header;
use poem::test::TestClient;

/// A password that meets the policy.
pub const PASSWORD: &str = "quartz wombat ferry lantern";

/// An organisation with an admin (password set) and a sub-user who accepted the invitation.
pub struct App {
    pub mem: InMemory,
    pub org: account_core::ids::OrganisationId,
    pub console: Arc<BoxEndpoint<'static, poem::Response>>,
}

pub const ADMIN: &str = "ada@acme.test";
pub const SUB: &str = "sam@acme.test";

impl App {
    pub async fn new(public_url: &str) -> Self {
        let mem = InMemory::new(7);
        let op = Operator::new("test");
        let created = mem
            .accounts
            .operator()
            .create_organisation(
                &op,
                &NewOrganisation {
                    name: "Acme".into(),
                    registration_number: "556677-8899".into(),
                    plan: "Professional".into(),
                    licences: 5,
                    admin_first_name: "Ada".into(),
                    admin_last_name: Some("Admin".into()),
                    admin_email: ADMIN.into(),
                    admin_password: Some(PASSWORD.into()),
                },
            )
            .await
            .unwrap();
        let admin = login_actor(&mem.accounts, ADMIN).await;
        mem.accounts
            .team()
            .add_member(
                &admin,
                &NewMember {
                    first_name: "Sam".into(),
                    last_name: None,
                    email: SUB.into(),
                    plan: None,
                },
                None,
            )
            .await
            .unwrap();
        let mail =
            mem.last_mail(account_core::domain::mail::MailKind::Invitation, SUB).await.unwrap();
        let token = account_memory::token_in(&mail, "aci_").unwrap();
        mem.accounts.auth().accept_invitation(&token, PASSWORD, None).await.unwrap();
        let console =
            WebConsole::new(mem.accounts.clone(), WebConfig { public_url: public_url.to_owned() });
        Self { mem, org: created.organisation.id, console: Arc::new(console.endpoint()) }
    }

    pub fn browser(&self) -> Browser {
        Browser {
            cli: TestClient::new(self.console.clone()),
            jar: BTreeMap::new(),
            set_cookies: Vec::new(),
        }
    }
}

/// An actor for `email`, logged in through the core (as the API's log-in does).
pub async fn login_actor(accounts: &Accounts, email: &str) -> Actor {
    let done = accounts.auth().login(email, PASSWORD, Some("test"), None).await.unwrap();
    Actor::new(
        done.session.member_id,
        done.session.org_id,
        None,
        Credential::Session(done.session.id),
    )
}

/// A page as the client got it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: poem::http::HeaderMap,
    pub html: String,
}

impl Page {
    /// The first CSRF token in the page's forms.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start =
            self.html.find(marker).unwrap_or_else(|| panic!("no CSRF token in {}", self.html))
                + marker.len();
        let end = self.html[start..].find('"').unwrap() + start;
        self.html[start..end].replace("&#43;", "+").replace("&#x2f;", "/").replace("&#x2F;", "/")
    }
}

/// A client that keeps cookies like a browser.
pub struct Browser {
    cli: TestClient<Arc<BoxEndpoint<'static, poem::Response>>>,
    jar: BTreeMap<String, String>,
    /// Every `Set-Cookie` seen, to check attributes.
    pub set_cookies: Vec<String>,
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn finish(&mut self, resp: poem::test::TestResponse) -> Page {
        let status = resp.0.status().as_u16();
        let headers = resp.0.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            let line = value.to_str().unwrap().to_owned();
            let (pair, attrs) = line.split_once(';').unwrap_or((&line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") || value.is_empty() {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
            self.set_cookies.push(line);
        }
        let location = headers.get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned());
        let html = resp.0.into_body().into_string().await.unwrap();
        Page { status, location, headers, html }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let resp = self.cli.get(path).header(header::COOKIE, self.cookie_header()).send().await;
        self.finish(resp).await
    }

    /// Posts a form; `csrf` is added as `csrf_token` when given.
    pub async fn post(&mut self, path: &str, csrf: Option<&str>, fields: &[(&str, &str)]) -> Page {
        let mut body: Vec<String> =
            fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        if let Some(token) = csrf {
            body.push(format!("csrf_token={}", encode(token)));
        }
        let resp = self
            .cli
            .post(path)
            .header(header::COOKIE, self.cookie_header())
            .content_type("application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
            .await;
        self.finish(resp).await
    }

    /// Logs in through the log-in form; the page it lands on.
    pub async fn log_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        let token = form.csrf();
        self.post("/login", Some(&token), &[("email", email), ("password", password)]).await
    }

    pub fn has_cookie(&self, name: &str) -> bool {
        self.jar.contains_key(name)
    }
}
