//! The console in process: `WebConsole` over the in-memory domain, driven with poem's test
//! client and a small cookie jar. Cookies, CSRF, headers, who may open what, and sessions
//! shared with the API's. (The flows themselves are walked in a real browser by the black-box
//! suite, `tests/blackbox/browser/`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pages;
mod password_reset;
mod profile;
mod security;
mod support;
