//! A small blocking WebDriver client (W3C protocol, JSON over HTTP with the suite's `ureq`)
//! driving Debian's Chromium through `chromedriver`: what the browser tests need and nothing
//! more (navigate, find, click, type, read, run a script, keep and restore cookies, take a
//! screenshot).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Where Debian's packages put the browser and its driver.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Keys as WebDriver names them.
pub const TAB: &str = "\u{e004}";
pub const ENTER: &str = "\u{e007}";

/// True when both the browser and its driver are installed.
pub fn available() -> bool {
    Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A headless Chromium session; ends the browser and its driver when dropped.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    profile: PathBuf,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").field("session", &self.session).finish_non_exhaustive()
    }
}

/// An element found on the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and a new headless Chromium with a fresh, empty profile. The flags
    /// keep Chromium off the network it would otherwise try (updates, sync, QUIC).
    pub fn start() -> Self {
        let port = free_port();
        // At a low priority: Chromium is the heaviest thing the suite runs, and the servers of
        // the tests beside it (the multi-process suite's timing above all) must not starve.
        let driver = Command::new("nice")
            .args(["-n", "15", CHROMEDRIVER])
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let profile =
            std::env::temp_dir().join(format!("accounts-chromium-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let mut browser =
            Self { driver, base, session: String::new(), agent, profile: profile.clone() };
        let deadline = Instant::now() + Duration::from_secs(30);
        while browser.raw("GET", "/status", None).is_none() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let created = browser.call("POST", "/session", Some(&caps));
        browser.session = created["sessionId"].as_str().unwrap().to_owned();
        browser.call_session(
            "POST",
            "/timeouts",
            Some(&json!({"script": 60_000, "pageLoad": 60_000})),
        );
        browser
    }

    fn raw(&self, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, Value)> {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("Content-Type", "application/json");
        let body = body.map_or_else(|| b"{}".to_vec(), |b| serde_json::to_vec(b).unwrap());
        let body = if method == "GET" || method == "DELETE" { Vec::new() } else { body };
        let mut response = self.agent.run(request.body(body).unwrap()).ok()?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().ok()?;
        Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    #[track_caller]
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, value) = self
            .raw(method, path, body)
            .unwrap_or_else(|| panic!("WebDriver {method} {path}: no answer"));
        assert!(status < 300, "WebDriver {method} {path}: {status} {value}");
        value["value"].clone()
    }

    #[track_caller]
    fn call_session(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.call_session("POST", "/url", Some(&json!({ "url": url })));
    }

    /// The address the browser shows.
    pub fn url(&self) -> String {
        self.call_session("GET", "/url", None).as_str().unwrap_or_default().to_owned()
    }

    /// The page's visible text. A page still loading after a click is waited for.
    pub fn text(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = format!("/session/{}/execute/sync", self.session);
            let script = json!({"script": "return document.readyState === 'complete' && document.body ? document.body.innerText : null", "args": []});
            if let Some((status, value)) = self.raw("POST", &url, Some(&script))
                && status < 300
                && let Some(text) = value["value"].as_str()
            {
                return text.to_owned();
            }
            assert!(Instant::now() < deadline, "the page did not load: {}", self.url());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn try_find(&self, css: &str) -> Option<Element> {
        let (status, value) = self.raw(
            "POST",
            &format!("/session/{}/element", self.session),
            Some(&json!({"using": "css selector", "value": css})),
        )?;
        (status < 300).then(|| Element(value["value"][ELEMENT].as_str().unwrap().to_owned()))
    }

    /// The first element matching `css`, waiting up to 10 s for it.
    #[track_caller]
    pub fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(e) = self.try_find(css) {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no element {css} on {}:\n{}",
                self.url(),
                self.source_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// True when an element matches `css` now.
    pub fn exists(&self, css: &str) -> bool {
        self.try_find(css).is_some()
    }

    /// Clicks the element matching `css`.
    #[track_caller]
    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.click_on(&e);
    }

    /// Clicks what matches `css` and waits until the page it leads to has loaded (a link, or
    /// a form's submit button).
    #[track_caller]
    pub fn follow(&self, css: &str) {
        let e = self.find(css);
        self.script("window.__accountsOldPage = true", &[]);
        self.click_on(&e);
        self.wait_for_new_page();
    }

    /// Like [`follow`](Self::follow) for a button whose form asks first (the console's
    /// script opens a confirm dialog): accepts the dialog, then waits for the new page.
    #[track_caller]
    pub fn follow_confirming(&self, css: &str) {
        let e = self.find(css);
        self.script("window.__accountsOldPage = true", &[]);
        self.click_on(&e);
        self.accept_dialog();
        self.wait_for_new_page();
    }

    /// Waits until the page marked by [`follow`](Self::follow) is replaced and loaded.
    #[track_caller]
    pub fn wait_for_new_page(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let url = format!("/session/{}/execute/sync", self.session);
        let probe = json!({"script": "return document.readyState === 'complete' && !window.__accountsOldPage", "args": []});
        loop {
            if let Some((status, value)) = self.raw("POST", &url, Some(&probe))
                && status < 300
                && value["value"] == json!(true)
            {
                return;
            }
            assert!(Instant::now() < deadline, "no new page after a click on {}", self.url());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks an element.
    pub fn click_on(&self, e: &Element) {
        self.call_session("POST", &format!("/element/{}/click", e.0), Some(&json!({})));
    }

    /// Clears the field matching `css` and types `text` into it.
    #[track_caller]
    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call_session("POST", &format!("/element/{}/clear", e.0), Some(&json!({})));
        self.call_session(
            "POST",
            &format!("/element/{}/value", e.0),
            Some(&json!({ "text": text })),
        );
    }

    /// Types into whatever has the focus (keyboard only).
    pub fn keys(&self, text: &str) {
        let active = self.call_session("GET", "/element/active", None);
        let id = active[ELEMENT].as_str().unwrap().to_owned();
        self.call_session("POST", &format!("/element/{id}/value"), Some(&json!({ "text": text })));
    }

    /// The `id` attribute of the focused element.
    pub fn focused_id(&self) -> String {
        self.script("return document.activeElement ? document.activeElement.id : ''", &[])
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The visible text of an element.
    pub fn text_of(&self, e: &Element) -> String {
        self.call_session("GET", &format!("/element/{}/text", e.0), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A property of the element matching `css` (`value`, `checked`, …).
    #[track_caller]
    pub fn property(&self, css: &str, name: &str) -> Value {
        let e = self.find(css);
        self.call_session("GET", &format!("/element/{}/property/{name}", e.0), None)
    }

    /// Runs a script in the page and returns its result.
    pub fn script(&self, script: &str, args: &[Value]) -> Value {
        self.call_session("POST", "/execute/sync", Some(&json!({ "script": script, "args": args })))
    }

    /// Runs an asynchronous script (it calls its last argument when done).
    pub fn script_async(&self, script: &str, args: &[Value]) -> Value {
        self.call_session(
            "POST",
            "/execute/async",
            Some(&json!({ "script": script, "args": args })),
        )
    }

    /// Accepts the confirm dialog the page opened.
    pub fn accept_dialog(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let url = format!("/session/{}/alert/accept", self.session);
            if let Some((status, _)) = self.raw("POST", &url, Some(&json!({})))
                && status < 300
            {
                return;
            }
            assert!(Instant::now() < deadline, "no dialog to accept");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The page's HTML, for failure messages.
    pub fn source_text(&self) -> String {
        let (_, v) = self
            .raw("GET", &format!("/session/{}/source", self.session), None)
            .unwrap_or((0, Value::Null));
        let source = v["value"].as_str().unwrap_or_default();
        source.chars().take(4000).collect()
    }

    /// The cookies the browser holds for the page shown, as WebDriver lists them.
    pub fn cookies(&self) -> Vec<Value> {
        self.call_session("GET", "/cookie", None).as_array().cloned().unwrap_or_default()
    }

    /// Forgets every cookie, as a browser on another device would not have them.
    pub fn delete_cookies(&self) {
        self.call_session("DELETE", "/cookie", None);
    }

    /// Gives the browser back cookies read with [`cookies`](Self::cookies), for the site of
    /// the page shown (the domain is left to the browser: Chromium refuses an explicit one
    /// that is an IP address).
    pub fn add_cookies(&self, cookies: &[Value]) {
        for c in cookies {
            let cookie = json!({
                "name": c["name"], "value": c["value"], "path": c["path"],
                "httpOnly": c["httpOnly"], "sameSite": c["sameSite"],
            });
            self.call_session("POST", "/cookie", Some(&json!({ "cookie": cookie })));
        }
    }

    /// Emulates a screen `width` CSS pixels wide and `height` tall.
    pub fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.call_session(
            "POST",
            "/goog/cdp/execute",
            Some(&json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": {
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile,
            }})),
        );
    }

    /// Turns the pages' own scripts off (the console's `console.js` included), as a browser
    /// with JavaScript disabled would; the test's scripts still run through DevTools.
    pub fn disable_page_scripts(&self) {
        self.call_session(
            "POST",
            "/goog/cdp/execute",
            Some(
                &json!({"cmd": "Emulation.setScriptExecutionDisabled", "params": {"value": true}}),
            ),
        );
    }

    /// A PNG of the whole page at `width` CSS pixels.
    pub fn screenshot(&self, width: u32, mobile: bool) -> Vec<u8> {
        self.viewport(width, 900, mobile);
        let height = self
            .script(
                "return Math.ceil(document.body.getBoundingClientRect().bottom + window.scrollY)",
                &[],
            )
            .as_u64()
            .unwrap_or(900)
            .clamp(300, 8000);
        self.viewport(width, u32::try_from(height).unwrap_or(900), mobile);
        let data = self.call_session("GET", "/screenshot", None);
        self.viewport(1280, 900, false);
        base64_decode(data.as_str().unwrap())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.raw("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Standard base64, as WebDriver sends screenshots.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter_map(value) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap());
        }
    }
    out
}

#[test]
fn base64_decodes() {
    assert_eq!(base64_decode("aGVsbG8="), b"hello");
    assert_eq!(base64_decode("iVBORw0KGgo="), b"\x89PNG\r\n\x1a\n");
}
