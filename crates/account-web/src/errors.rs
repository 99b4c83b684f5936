//! What goes wrong on a page and the page that says so: 403 for sub-users on admin pages and
//! for forms without a valid CSRF token, 404, and opaque 500 / 503 pages whose cause goes to
//! the log only. Refusals a form can explain (a wrong code, an invalid field) never get here:
//! each page shows them next to the form.

use std::sync::Arc;

use account_core::Denied;
use account_core::InternalError;
use askama::Template;
use poem::http::StatusCode;
use poem::web::Redirect;
use poem::{IntoResponse, Response};

use crate::app::Web;
use crate::layout::{Chrome, Section};
use crate::session::Viewer;

/// Why a page cannot be shown.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No such page or record (of the caller's organisation).
    NotFound,
    /// An admin page asked for by a sub-user (or under an impersonation).
    NotAdmin,
    /// Not allowed, with the domain's reason.
    Forbidden(String),
    /// A state-changing request without a valid CSRF token.
    Csrf,
    /// A request body that is not a form.
    BadForm,
    /// Refused by a rule the page does not show next to a field.
    Refused(String),
    /// The session ended: log in again.
    LoginAgain,
    /// Our fault; logged where it happened.
    Internal { unavailable: bool },
}

impl Failure {
    pub(crate) fn internal(what: &str) -> Self {
        tracing::error!(error = what, "web console: internal error");
        Self::Internal { unavailable: false }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::NotAdmin | Self::Forbidden(_) | Self::Csrf => StatusCode::FORBIDDEN,
            Self::BadForm => StatusCode::BAD_REQUEST,
            Self::Refused(_) => StatusCode::CONFLICT,
            Self::LoginAgain => StatusCode::SEE_OTHER,
            Self::Internal { unavailable: true } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal { unavailable: false } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "web console page failed: {}", self.status())
    }
}

impl std::error::Error for Failure {}

impl From<Failure> for poem::Error {
    fn from(f: Failure) -> Self {
        let status = f.status();
        poem::Error::new(f, status)
    }
}

impl From<InternalError> for Failure {
    fn from(e: InternalError) -> Self {
        tracing::error!(error = %e, "web console: internal error");
        Self::Internal { unavailable: e.is_unavailable() }
    }
}

impl From<Denied> for Failure {
    fn from(d: Denied) -> Self {
        match d {
            Denied::NotActive => Self::LoginAgain,
            Denied::NotAdmin => Self::NotAdmin,
            Denied::Impersonating | Denied::NeedsSession => Self::Forbidden(d.to_string()),
        }
    }
}

/// `From<$error> for Failure` for operation errors with `Denied` and `Internal` variants:
/// every other variant is a refusal whose message the page shows.
macro_rules! failure_from {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Self {
                type E = $t;
                #[allow(unreachable_patterns)]
                match e {
                    E::Denied(d) => d.into(),
                    E::Internal(i) => i.into(),
                    other => Self::Refused(other.to_string()),
                }
            }
        }
    )*};
}

use account_core::services::{
    api_keys::ApiKeyError, auth::SessionError, contacts::ContactError, credits::AllocateError,
    credits::UsageReportError, email_change::EmailChangeError, impersonation::ImpersonationError,
    organisation::SaveCustomerInfoError, password_reset::SendResetError, profile::AccessError,
    profile::ChangePasswordError, profile::DeleteAccountError, profile::SaveProfileError,
    profile::SetOfferingsError, profile::SetPreferencesError, team::AddMemberError,
    team::ChangeMemberError, team::ChangePlanError, team::EditMemberProfileError,
};

failure_from!(
    ApiKeyError,
    SessionError,
    ContactError,
    AllocateError,
    UsageReportError,
    EmailChangeError,
    ImpersonationError,
    SaveCustomerInfoError,
    AccessError,
    ChangePasswordError,
    DeleteAccountError,
    SaveProfileError,
    SetOfferingsError,
    SetPreferencesError,
    AddMemberError,
    ChangeMemberError,
    ChangePlanError,
    EditMemberProfileError,
    SendResetError,
);

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    heading: String,
    message: String,
}

/// The page for an error that escaped a handler; with `viewer`'s frame (navigation and the
/// impersonation banner) when someone is logged in.
pub(crate) fn error_page(
    web: &Arc<Web>,
    err: poem::Error,
    viewer: Option<(&Viewer, String)>,
) -> Response {
    if let Some(failure) = err.downcast_ref::<Failure>() {
        return failure_page(web, failure, viewer);
    }
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let failure = match status {
        StatusCode::NOT_FOUND => Failure::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => {
            Failure::Refused("This address does not take that kind of request.".to_owned())
        }
        s if s.is_server_error() => {
            tracing::error!(error = %err, "web console: request failed");
            Failure::Internal { unavailable: s == StatusCode::SERVICE_UNAVAILABLE }
        }
        _ => Failure::BadForm,
    };
    let mut resp = failure_page(web, &failure, viewer);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        resp.set_status(status);
    }
    resp
}

fn failure_page(web: &Arc<Web>, failure: &Failure, viewer: Option<(&Viewer, String)>) -> Response {
    let (heading, message) = match failure {
        Failure::LoginAgain => {
            return Redirect::see_other("/login?notice=session-ended").into_response();
        }
        Failure::NotFound => (
            "Page not found",
            "There is nothing at this address, or it belongs to another organisation.".to_owned(),
        ),
        Failure::NotAdmin => {
            ("Admins only", "Only an admin of your organisation can open this page.".to_owned())
        }
        Failure::Forbidden(why) => ("Not allowed", crate::text::capitalised(why)),
        Failure::Csrf => (
            "This form has expired",
            "The form was not sent from a page of this site, or it is too old. Go back, reload \
             the page and send it again."
                .to_owned(),
        ),
        Failure::BadForm => ("Bad request", "The request could not be read.".to_owned()),
        Failure::Refused(why) => ("Not done", crate::text::capitalised(why)),
        Failure::Internal { unavailable: true } => (
            "Temporarily unavailable",
            "The service cannot reach its database right now. Try again in a moment.".to_owned(),
        ),
        Failure::Internal { unavailable: false } => (
            "Something went wrong",
            "The request failed on our side. It has been logged; try again later.".to_owned(),
        ),
    };
    let chrome = match viewer {
        Some((v, csrf)) => Chrome::of(web, csrf, None, v, Section::Other, heading),
        None => Chrome::bare(web.product(), heading),
    };
    let page = ErrorPage { chrome, heading: heading.to_owned(), message };
    let mut resp = crate::layout::html(&page);
    resp.set_status(failure.status());
    resp
}
