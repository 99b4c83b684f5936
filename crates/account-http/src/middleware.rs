//! The one middleware around every request: request id, body size limit, global conversion of
//! poem's errors into problem+json, the security headers (`headers.rs`), the impersonation
//! banner header, the trace id (from `traceparent`), the request metrics, and one structured
//! access log line per request (with the client address of `client_addr.rs`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use poem::error::ReadBodyError;
use poem::http::{HeaderName, HeaderValue, header};
use poem::{Endpoint, IntoResponse, PathPattern, Request, Response};
use poem_openapi::OperationId;
use tracing::Instrument;

use crate::problem::{Problem, ProblemJson, ProblemType};
use crate::state::AppState;

/// The request id header, read from the client when sane and always sent back.
pub const REQUEST_ID: &str = "x-request-id";
/// The header every response made under an impersonation carries, for the page's banner.
pub const IMPERSONATION: &str = "accounts-impersonation";
/// The header a replayed idempotent response carries.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

tokio::task_local! {
    static CURRENT_REQUEST_ID: Arc<str>;
}

/// The id of the request being served, for problem bodies of 5xx responses.
pub(crate) fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(|id| id.to_string()).ok()
}

/// What the middleware shares with the handlers of one request.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    /// Set by the session checker when the session is an impersonation: the header value.
    pub impersonation: Arc<OnceLock<String>>,
}

/// Operation id → (method, path template), for the access log.
pub(crate) type Routes = HashMap<String, (String, String)>;

fn sane_request_id(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn new_request_id(state: &AppState) -> Arc<str> {
    let id = uuid::Builder::from_random_bytes(state.ids.next()).into_uuid();
    id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).into()
}

/// Turns an error that escaped an operation (or never reached one) into problem+json.
pub(crate) fn error_to_response(err: poem::Error) -> Response {
    let pattern = err.data::<PathPattern>().cloned();
    let operation = err.data::<OperationId>().copied();
    let mut resp = if let Some(problem) = err.data::<Problem>() {
        ProblemJson(problem.clone()).into_response()
    } else if err.is_from_response() {
        err.into_response()
    } else {
        let status = err.status();
        if status.is_server_error() {
            tracing::error!(error = %err, "request failed outside an operation");
        }
        ProblemJson(Problem::from_poem_status(status, &err.to_string())).into_response()
    };
    if let Some(p) = pattern {
        resp.set_data(p);
    }
    if let Some(o) = operation {
        resp.set_data(o);
    }
    resp
}

/// Wraps every request; never fails.
pub(crate) async fn observe<E: Endpoint>(
    next: Arc<E>,
    mut req: Request,
    state: Arc<AppState>,
) -> poem::Result<Response> {
    let start = Instant::now();
    // A standard method and the URI (which shares the request's buffer) clone without
    // allocating.
    let method = req.method().clone();
    let uri = req.uri().clone();
    let path = uri.path();
    let client = crate::client_addr::of(&req, &state.trusted_proxies);
    let request_id = req
        .header(REQUEST_ID)
        .filter(|v| sane_request_id(v))
        .map_or_else(|| new_request_id(&state), Arc::from);
    let (parent, trace_id) = crate::trace::trace_id(req.header(crate::trace::TRACEPARENT), &state);
    let context = RequestContext { impersonation: Arc::new(OnceLock::new()) };
    req.set_data(context.clone());
    // The client's address as the access log names it (the peer, or behind a trusted proxy
    // the address it forwards), for pages served beside the API: in the request's extensions
    // as a `std::net::IpAddr`.
    if let Some(ip) = client {
        req.extensions_mut().insert(ip);
    }
    let span = tracing::info_span!("request", request_id = %request_id, trace_id = %trace_id);
    if let (Some(hook), Some(parent)) = (&state.span_parent, &parent) {
        hook.call(&span, parent);
    }

    let body = req.take_body();
    let read = body.into_bytes_limit(state.config.max_body_bytes);
    let mut resp = match tokio::time::timeout(state.config.body_timeout, read).await {
        Err(_) => {
            let secs = state.config.body_timeout.as_secs();
            let mut resp = ProblemJson(Problem::new(
                ProblemType::RequestTimeout,
                format!("the request body must arrive within {secs} seconds"),
            ))
            .into_response();
            // The rest of the body may still come: this connection serves nothing more.
            resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
        Ok(Ok(bytes)) => {
            req.set_body(bytes);
            let call = CURRENT_REQUEST_ID.scope(
                request_id.clone(),
                crate::body::REQUEST_URI.scope(uri.clone(), next.call(req)),
            );
            match call.instrument(span.clone()).await {
                Ok(r) => r.into_response(),
                Err(e) => {
                    CURRENT_REQUEST_ID.sync_scope(request_id.clone(), || error_to_response(e))
                }
            }
        }
        Ok(Err(ReadBodyError::PayloadTooLarge)) => ProblemJson(Problem::new(
            ProblemType::PayloadTooLarge,
            format!("the body must be at most {} bytes", state.config.max_body_bytes),
        ))
        .into_response(),
        Ok(Err(_)) => ProblemJson(Problem::new(
            ProblemType::MalformedRequest,
            "the request body could not be read",
        ))
        .into_response(),
    };

    state.headers.apply(path, || crate::server::allow_table().methods(path), &mut resp);
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static(REQUEST_ID), v);
    }
    if let Some(banner) = context.impersonation.get()
        && let Ok(v) = HeaderValue::from_str(banner)
    {
        headers.insert(HeaderName::from_static(IMPERSONATION), v);
    }

    let operation = resp.data::<OperationId>().map(|o| o.0);
    let route = match operation.and_then(|o| state.routes.get(o)) {
        Some((_, path)) => path.as_str(),
        None => resp.data::<PathPattern>().map_or("-", |p| &p.0),
    };
    let status = resp.status().as_u16();
    state.metrics.request(operation, status, start.elapsed());
    let latency_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        tracing::info!(
            target: "account_http::access",
            method = %method,
            route = %route,
            operation = operation.unwrap_or("-"),
            status,
            latency_ms,
            request_id = %request_id,
            client = %client.map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
            trace_id = %trace_id,
            "request served"
        );
    });
    Ok(resp)
}
