//! Accepting an invitation: the invitation mail's link (`/accept-invitation?token=…`) lands
//! here; the invited person sets a password, then logs in. The token travels on in a hidden
//! field of the form, never in a logged URL (the access log has route templates only).

use std::sync::Arc;

use account_core::services::auth::AcceptInvitationError;
use askama::Template;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::{FieldErrors, FormData};
use crate::layout::{Chrome, html, html_status, see_other};
use crate::pages::{OrFail, query};
use crate::session::client_address;

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    chrome: Chrome,
    token: String,
    errors: FieldErrors,
    problem: Option<String>,
}

/// `GET /accept-invitation?token=…`.
#[handler]
pub(crate) fn show(req: &Request, web: Data<&Arc<Web>>) -> Response {
    let token = query(req).text("token");
    let problem = token.is_empty().then(|| {
        "This link has no invitation in it. Open the link from your invitation mail.".to_owned()
    });
    html(&InvitationPage {
        chrome: Chrome::public(&web, req, "Set your password"),
        token,
        errors: FieldErrors::none(),
        problem,
    })
}

/// `POST /accept-invitation`.
#[handler]
pub(crate) async fn submit(
    req: &Request,
    web: Data<&Arc<Web>>,
    form: FormData,
) -> poem::Result<Response> {
    let token = form.text("token");
    let password = form.text("password");
    let render = |errors: FieldErrors, problem: Option<String>| {
        let page = InvitationPage {
            chrome: Chrome::public(&web, req, "Set your password"),
            token: token.clone(),
            errors,
            problem,
        };
        Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
    };
    if password != form.text("password_repeat") {
        return render(FieldErrors::one("password_repeat", "The two passwords differ."), None);
    }
    match web.accounts.auth().accept_invitation(&token, &password, client_address(req)).await {
        Ok(_) => Ok(see_other("/login?notice=invitation-accepted")),
        Err(AcceptInvitationError::Validation(v)) => {
            render(FieldErrors::from_domain(&v, &[]), None)
        }
        Err(
            e @ (AcceptInvitationError::InvalidToken
            | AcceptInvitationError::Expired
            | AcceptInvitationError::Throttled(_)),
        ) => render(FieldErrors::none(), Some(crate::text::capitalised(&e.to_string()))),
        Err(AcceptInvitationError::Internal(e)) => Err(e).or_fail(),
    }
}
