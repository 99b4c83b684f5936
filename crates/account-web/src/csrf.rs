//! The CSRF check of every state-changing request. poem's `Csrf` middleware (outside this
//! one) keeps a signed, encrypted cookie and hands out tokens bound to it; every form carries
//! its token in the hidden field `csrf_token`. Here every request other than GET and HEAD has
//! its body read once, parsed as a form, and refused (403 page) unless the token matches the
//! cookie. No handler can forget the check: they receive the parsed form only from here.

use poem::http::Method;
use poem::web::CsrfVerifier;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use crate::errors::Failure;
use crate::form::FormData;

/// The hidden field every form carries.
pub(crate) const FIELD: &str = "csrf_token";

/// Largest form accepted, in bytes (the API's own body limit applies first when mounted).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The middleware.
pub(crate) struct CsrfCheck;

impl<E: Endpoint> Middleware<E> for CsrfCheck {
    type Output = CsrfCheckEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        CsrfCheckEndpoint { inner }
    }
}

/// The endpoint the middleware wraps.
pub(crate) struct CsrfCheckEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for CsrfCheckEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        if req.method() == Method::GET || req.method() == Method::HEAD {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let body =
            req.take_body().into_bytes_limit(MAX_FORM_BYTES).await.map_err(|_| Failure::BadForm)?;
        let form = FormData::parse(&body);
        let valid = match (req.data::<CsrfVerifier>(), form.get(FIELD)) {
            (Some(verifier), Some(token)) => verifier.is_valid(token),
            _ => false,
        };
        if !valid {
            return Err(Failure::Csrf.into());
        }
        req.set_data(form);
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}
