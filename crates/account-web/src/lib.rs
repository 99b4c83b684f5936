//! `account-web`: the web console. Server-rendered HTML pages of the three product pages
//! (profile, Manage Users, account settings), the usage report and the audit log, over the
//! same `account-core` use cases the HTTP API calls, in process.
//!
//! [`WebConsole`] hides poem like `account-http`'s `HttpServer` does: build it from the domain
//! and a [`WebConfig`], and hand [`WebConsole::endpoint`] to the server that mounts it at `/`.
//! One module per page under `pages/`; templates under `templates/`, compiled and checked at
//! build time (askama). Sessions are the API's sessions, carried in an `HttpOnly` cookie;
//! every form that changes state carries a CSRF token (`csrf.rs`).

mod app;
mod assets;
mod csrf;
mod errors;
mod form;
mod layout;
mod pages;
mod session;
mod text;

pub use app::{WebConfig, WebConsole};
