//! `Idempotency-Key` on the POSTs that create or move value (adding a member, allocating and
//! reclaiming credits, recording consumption, granting and expiring credits).
//!
//! The key is reserved in the core's `IdempotencyRepo` (scoped to the caller and the operation,
//! with a keyed digest of the request as fingerprint) before the use case runs; a successful
//! response is then stored and replayed (status and body) for the same key and request; the
//! same key with another request is refused (422); a key whose first request is still running
//! answers 409 with `Retry-After`. A request that fails releases its key, since a failed use
//! case changed nothing. See `docs/api.md` for the limits of this scheme.

use std::future::Future;

use account_core::Actor;
use account_core::domain::secret::to_hex;
use account_core::ports::{IdempotencyRecord, StoreError, StoredResponse, UniqueKey};
use chrono::{DateTime, Utc};
use poem::http::{HeaderName, HeaderValue, StatusCode, header};
use poem::{Body, IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaResponses, Registry};

use crate::middleware::IDEMPOTENT_REPLAYED;
use crate::problem::{Problem, ProblemResponse, ProblemType};
use crate::state::AppState;

/// Keyring context of request fingerprints.
const FINGERPRINT_CONTEXT: &str = "idempotency";
/// Longest key accepted.
pub(crate) const MAX_KEY_LEN: usize = 255;

/// A response that may be the replay of an earlier one.
#[derive(Debug)]
pub(crate) enum Idempotent<T> {
    /// Computed now, without a key.
    Fresh(T),
    /// Computed now and stored, or replayed.
    Raw(Response),
}

impl<T: ApiResponse> ApiResponse for Idempotent<T> {
    const BAD_REQUEST_HANDLER: bool = T::BAD_REQUEST_HANDLER;

    fn meta() -> MetaResponses {
        T::meta()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn from_parse_request_error(err: poem::Error) -> Self {
        Self::Fresh(T::from_parse_request_error(err))
    }
}

impl<T: IntoResponse> IntoResponse for Idempotent<T> {
    fn into_response(self) -> Response {
        match self {
            Self::Fresh(t) => t.into_response(),
            Self::Raw(r) => r,
        }
    }
}

/// The scope of a member's key for an operation.
pub(crate) fn member_scope(actor: &Actor, operation: &str) -> String {
    format!("member:{}:{operation}", actor.member())
}

/// The scope of the operator's key for an operation.
pub(crate) fn operator_scope(operation: &str) -> String {
    format!("operator:{operation}")
}

/// The canonical form of a request: the operation's target (path parameters) and its body as
/// JSON with sorted keys.
pub(crate) fn request_bytes(target: &str, body: &impl poem_openapi::types::ToJSON) -> Vec<u8> {
    let json = body.to_json().map(|v| v.to_string()).unwrap_or_default();
    format!("{target}\n{json}").into_bytes()
}

enum Reserved {
    New,
    Replay(StoredResponse),
}

fn check_key(key: &str) -> Result<(), Box<Problem>> {
    let ok = (1..=MAX_KEY_LEN).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(Box::new(crate::body::malformed_problem(vec![crate::problem::FieldProblem {
            field: "Idempotency-Key".to_owned(),
            message: format!("must be 1 to {MAX_KEY_LEN} printable ASCII characters, like a UUID"),
        }])))
    }
}

fn in_flight() -> Box<Problem> {
    Box::new(
        Problem::new(
            ProblemType::InFlight,
            "a request with this Idempotency-Key is being processed; retry to get its result",
        )
        .retry_after(1),
    )
}

async fn reserve(
    state: &AppState,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> Result<Reserved, Box<Problem>> {
    let record = IdempotencyRecord {
        scope: scope.to_owned(),
        key: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
        response: None,
        created_at: now,
    };
    // Bookkeeping outside the use case's unit, one statement at a time (no BEGIN / COMMIT):
    // the insert first, so that a new key, the common case, costs one statement.
    let mut tx = state.accounts.ports().store.autocommit().await.map_err(store_problem)?;
    match tx.idempotency().insert(&record).await {
        Ok(()) => {}
        Err(StoreError::Conflict(UniqueKey::IdempotencyKey)) => {
            let repo = tx.idempotency();
            let Some(existing) = repo.get(scope, key).await.map_err(store_problem)? else {
                // Taken and gone again in between: another request is settling it.
                return Err(in_flight());
            };
            let expired = existing.created_at + state.config.idempotency_ttl <= now;
            if !expired {
                if existing.fingerprint != fingerprint {
                    return Err(Box::new(crate::errors::at(
                        "Idempotency-Key",
                        Problem::new(
                            ProblemType::IdempotencyKeyReused,
                            "this Idempotency-Key was used for a different request; use a new key",
                        ),
                    )));
                }
                return match existing.response {
                    Some(stored) => Ok(Reserved::Replay(stored)),
                    None => Err(in_flight()),
                };
            }
            repo.delete(scope, key).await.map_err(store_problem)?;
            match repo.insert(&record).await {
                Ok(()) => {}
                Err(StoreError::Conflict(UniqueKey::IdempotencyKey)) => return Err(in_flight()),
                Err(other) => return Err(store_problem(other)),
            }
        }
        Err(other) => return Err(store_problem(other)),
    }
    tx.commit().await.map_err(store_problem)?;
    Ok(Reserved::New)
}

fn store_problem(e: StoreError) -> Box<Problem> {
    Box::new(crate::errors::internal(&e.into()))
}

async fn settle(state: &AppState, scope: &str, key: &str, stored: Option<&StoredResponse>) {
    let result = async {
        let mut tx = state.accounts.ports().store.autocommit().await?;
        match stored {
            Some(response) => tx.idempotency().complete(scope, key, response).await?,
            None => tx.idempotency().delete(scope, key).await?,
        }
        tx.commit().await
    }
    .await;
    if let Err(error) = result {
        // The use case's outcome stands; the key stays reserved until it expires.
        tracing::error!(error = %error, "could not settle an idempotency key");
    }
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut resp = Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(stored.body);
    resp.headers_mut()
        .insert(HeaderName::from_static(IDEMPOTENT_REPLAYED), HeaderValue::from_static("true"));
    resp
}

/// Runs `run` under the idempotency key `key` (if any) of `scope`.
pub(crate) async fn idempotent<T, F, Fut>(
    state: &AppState,
    scope: String,
    key: Option<String>,
    request: &[u8],
    run: F,
) -> Idempotent<T>
where
    T: ProblemResponse + IntoResponse,
    F: FnOnce() -> Fut,
    Fut: Future<Output = T>,
{
    let Some(key) = key else { return Idempotent::Fresh(run().await) };
    if let Err(p) = check_key(&key) {
        return Idempotent::Fresh(T::from_problem(*p));
    }
    let keyring = &state.accounts.ports().keyring;
    let fingerprint = to_hex(keyring.digest(FINGERPRINT_CONTEXT, request).as_bytes());
    let now = state.accounts.ports().clock.now();
    match reserve(state, &scope, &key, &fingerprint, now).await {
        Err(p) => Idempotent::Fresh(T::from_problem(*p)),
        Ok(Reserved::Replay(stored)) => Idempotent::Raw(replay(stored)),
        Ok(Reserved::New) => {
            let resp = run().await.into_response();
            if !resp.status().is_success() {
                settle(state, &scope, &key, None).await;
                return Idempotent::Raw(resp);
            }
            let (parts, body) = resp.into_parts();
            let bytes = match body.into_bytes().await {
                Ok(b) => b,
                Err(error) => {
                    tracing::error!(error = %error, "could not read a response to store it");
                    settle(state, &scope, &key, None).await;
                    return Idempotent::Fresh(T::from_problem(Problem::internal()));
                }
            };
            let stored = StoredResponse {
                status: parts.status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            };
            settle(state, &scope, &key, Some(&stored)).await;
            let mut resp = Response::from_parts(parts, Body::from(bytes));
            resp.headers_mut().remove(header::CONTENT_LENGTH);
            Idempotent::Raw(resp)
        }
    }
}
