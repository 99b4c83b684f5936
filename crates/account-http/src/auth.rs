//! Authentication only: the three security schemes (session bearer token, `X-Api-Key`,
//! operator token) and their checkers. Who may do what is decided by the use cases.

use std::sync::Arc;

use account_core::Actor;
use account_core::services::auth::Authenticated;
use account_core::services::operator::Operator;
use account_core::services::profile::Me;
use chrono::SecondsFormat;
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey, Bearer};

use account_core::services::auth::AuthError;

use crate::errors::{Problems, problem};
use crate::middleware::RequestContext;
use crate::state::{AppState, OPERATOR_CONTEXT};
use crate::status::StatusSet;

/// Every status a credential can be refused with before an operation's handler runs: the
/// checkers' errors, and 401 for a missing or unreadable credential (poem-openapi's own
/// refusal, turned into `unauthenticated` by `Problem::from_poem_status`). Every operation
/// with a security scheme declares them (a test in `responses.rs` walks the document).
pub(crate) const CREDENTIAL_STATUSES: StatusSet =
    <AuthError as Problems>::STATUSES.with(StatusSet::of(&[401, 500]));

/// A checker's refusal; `error`'s statuses must be among [`CREDENTIAL_STATUSES`] (checked at
/// compile time).
fn reject<E: Problems>(error: E) -> poem::Error {
    const { CREDENTIAL_STATUSES.assert_covers(E::STATUSES) };
    error.into().into_poem_error()
}

/// A member's log-in session (or an impersonation session), from `POST /auth/login`.
#[derive(SecurityScheme)]
#[oai(
    rename = "SessionToken",
    ty = "bearer",
    bearer_format = "opaque token (acs_…)",
    checker = "check_session"
)]
pub(crate) struct SessionAuth(Authenticated);

impl SessionAuth {
    /// Who acts.
    pub(crate) fn actor(&self) -> Actor {
        self.0.actor
    }

    /// The authenticated session, with the member authentication checked.
    pub(crate) fn authenticated(&self) -> &Authenticated {
        &self.0
    }
}

/// The same session token as [`SessionAuth`], for `GET /me` and `GET /me/profile`: checked by
/// the read that also loads the caller's member record and organisation, so those pages cost
/// one statement instead of authentication and then a second read. Same scheme in the
/// OpenAPI document (same name, same definition).
#[derive(SecurityScheme)]
#[oai(
    rename = "SessionToken",
    ty = "bearer",
    bearer_format = "opaque token (acs_…)",
    checker = "check_session_me"
)]
pub(crate) struct SessionMeAuth((Authenticated, Me));

impl SessionMeAuth {
    /// The caller's member record and organisation, as read with the session.
    pub(crate) fn me(&self) -> &Me {
        &self.0.1
    }
    /// Both, by value.
    pub(crate) fn into_parts(self) -> (Authenticated, Me) {
        self.0
    }
}

/// An integration's API key, from `POST /me/api-keys`.
#[derive(SecurityScheme)]
#[oai(
    rename = "ApiKey",
    ty = "api_key",
    key_name = "X-Api-Key",
    key_in = "header",
    checker = "check_api_key"
)]
pub(crate) struct ApiKeyAuth(Actor);

impl ApiKeyAuth {
    /// Who acts.
    pub(crate) fn actor(&self) -> Actor {
        self.0
    }
}

/// Support staff: the operator token of the server's configuration.
#[derive(SecurityScheme)]
#[oai(
    rename = "OperatorToken",
    ty = "bearer",
    bearer_format = "operator token",
    checker = "check_operator"
)]
pub(crate) struct OperatorAuth(Operator);

impl OperatorAuth {
    /// The operator.
    pub(crate) fn operator(&self) -> &Operator {
        &self.0
    }
}

fn state(req: &Request) -> poem::Result<&Arc<AppState>> {
    AppState::of(req).map_err(reject)
}

/// The `Accounts-Impersonation` header value of an impersonation session.
pub(crate) fn banner(auth: &Authenticated) -> Option<String> {
    auth.impersonation().map(|(info, expires)| {
        format!(
            "member={}; admin={}; expires={}",
            auth.actor.member(),
            info.admin_id,
            expires.to_rfc3339_opts(SecondsFormat::Micros, true)
        )
    })
}

/// Sets the request's impersonation banner when `auth` is an impersonation.
fn note_impersonation(req: &Request, auth: &Authenticated) {
    if let (Some(value), Some(ctx)) = (banner(auth), req.data::<RequestContext>()) {
        // Set once per request; a second scheme on the same request cannot change it.
        let _ = ctx.impersonation.set(value);
    }
}

async fn check_session(req: &Request, bearer: Bearer) -> poem::Result<Authenticated> {
    let state = state(req)?;
    let auth = state.accounts.auth().authenticate(&bearer.token).await.map_err(reject)?;
    note_impersonation(req, &auth);
    Ok(auth)
}

async fn check_session_me(req: &Request, bearer: Bearer) -> poem::Result<(Authenticated, Me)> {
    let state = state(req)?;
    let (auth, me) = state.accounts.auth().authenticate_me(&bearer.token).await.map_err(reject)?;
    note_impersonation(req, &auth);
    Ok((auth, me))
}

async fn check_api_key(req: &Request, key: ApiKey) -> poem::Result<Actor> {
    let state = state(req)?;
    state.accounts.auth().authenticate_api_key(&key.key).await.map_err(reject)
}

async fn check_operator(req: &Request, bearer: Bearer) -> poem::Result<Operator> {
    let state = state(req)?;
    let Some(digest) = &state.operator else {
        return Err(reject(problem!(
            Unauthenticated,
            "operator endpoints are disabled: no operator token is configured"
        )));
    };
    if state.accounts.verify_digest(OPERATOR_CONTEXT, bearer.token.as_bytes(), digest) {
        Ok(Operator::new("api"))
    } else {
        Err(reject(problem!(Unauthenticated, "the operator token is not valid")))
    }
}
