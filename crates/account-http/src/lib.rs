//! `account-http`: the HTTP API (poem, poem-openapi) over the use cases of `account-core`.
//!
//! [`HttpServer`] hides poem: build it from the domain ([`account_core::Accounts`]) and an
//! [`HttpConfig`], then serve it with [`HttpServer::bind`] / [`BoundServer::run`], or hand
//! [`HttpServer::endpoint`] to a test client. [`openapi_json`] renders the OpenAPI document
//! that `docs/openapi.json` is checked against.

mod api;
mod auth;
mod config;
mod dto;
mod errors;
mod etag;
mod idempotency;
mod middleware;
mod pagination;
mod problem;
mod ratelimit;
mod responses;
mod server;
mod state;

pub use config::{
    HttpConfig, LoginRateLimit, MIN_OPERATOR_TOKEN_LEN, OperatorToken, OperatorTokenError,
};
pub use problem::{PROBLEM_BASE, ProblemType};
pub use ratelimit::LoginThrottle;
pub use server::{BoundServer, HttpServer, openapi_json};
