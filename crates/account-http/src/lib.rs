//! `account-http`: the HTTP API (poem, poem-openapi) over the use cases of `account-core`.
//!
//! [`HttpServer`] hides poem: build it from the domain ([`account_core::Accounts`]) and an
//! [`HttpConfig`], then serve it with [`HttpServer::bind`] / [`BoundServer::run`], or hand
//! [`HttpServer::endpoint`] to a test client. [`openapi_json`] renders the OpenAPI document
//! that `docs/openapi.json` is checked against.

mod api;
mod auth;
mod body;
mod client_addr;
mod config;
mod document;
mod download;
mod dto;
mod errors;
mod etag;
mod headers;
mod idempotency;
mod ids;
mod json;
mod metrics;
mod middleware;
mod pagination;
mod panics;
mod problem;
mod responses;
mod serve;
mod server;
mod state;
mod status;
mod trace;

pub use client_addr::{TrustedProxies, TrustedProxiesError, client_address};
pub use config::{HttpConfig, MIN_OPERATOR_TOKEN_LEN, OperatorToken, OperatorTokenError};
pub use metrics::Metrics;
pub use panics::install_panic_hook;
pub use problem::{PROBLEM_BASE, ProblemType};
pub use server::{BoundServer, HttpServer, openapi_json};
pub use trace::{SpanParentHook, TraceParent};
