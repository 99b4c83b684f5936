//! `Idempotency-Key` on the POSTs that create or move value (adding a member, allocating and
//! reclaiming credits, recording consumption, granting and expiring credits). The key is
//! parsed here and handed to the use case, which keeps it in its own unit of work with its
//! effect (`account_core::services`); a replayed answer carries `Idempotent-Replayed: true`.

use account_core::domain::idempotency::IdempotencyKey;
use poem::http::{HeaderName, HeaderValue};
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaResponses, Registry};

use crate::errors::Malformed;
use crate::middleware::IDEMPOTENT_REPLAYED;
use crate::problem::FieldProblem;

/// Longest key accepted (the domain's limit, stated in the document).
pub(crate) const MAX_KEY_LEN: usize = IdempotencyKey::MAX_LEN;

/// The `Idempotency-Key` header's value, if any.
///
/// # Errors
/// A 400 problem naming the header when the key is malformed.
pub(crate) fn key(header: Option<&str>) -> Result<Option<IdempotencyKey>, Malformed> {
    header
        .map(|value| {
            IdempotencyKey::parse(value).map_err(|e| {
                crate::body::malformed_problem(vec![FieldProblem {
                    field: "Idempotency-Key".to_owned(),
                    message: e.to_string(),
                }])
            })
        })
        .transpose()
}

/// An operation's response, marked `Idempotent-Replayed: true` when it replays an earlier
/// call with the same key.
#[derive(Debug)]
pub(crate) struct Replayable<T> {
    response: T,
    replayed: bool,
}

impl<T> Replayable<T> {
    pub(crate) fn new(response: T, replayed: bool) -> Self {
        Self { response, replayed }
    }
}

impl<T: ApiResponse> ApiResponse for Replayable<T> {
    const BAD_REQUEST_HANDLER: bool = T::BAD_REQUEST_HANDLER;

    fn meta() -> MetaResponses {
        T::meta()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn from_parse_request_error(err: poem::Error) -> Self {
        Self::new(T::from_parse_request_error(err), false)
    }
}

impl<T: IntoResponse> IntoResponse for Replayable<T> {
    fn into_response(self) -> Response {
        let mut resp = self.response.into_response();
        if self.replayed {
            resp.headers_mut().insert(
                HeaderName::from_static(IDEMPOTENT_REPLAYED),
                HeaderValue::from_static("true"),
            );
        }
        resp
    }
}
