//! Deleting one's account (rule 11), behind a confirmation step: the password, or the
//! username typed out. Personal data is erased; unspent credits go back to the pool.

use std::sync::Arc;

use account_core::services::profile::{DeleteAccountError, DeleteConfirmation};
use askama::Template;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::FormData;
use crate::layout::{Chrome, Section, html, html_status, see_other};
use crate::pages::OrFail;
use crate::session::{Viewer, clear_cookie};
use crate::text::capitalised;

#[derive(Template)]
#[template(path = "delete.html")]
struct DeletePage {
    chrome: Chrome,
    username: String,
    problem: Option<String>,
}

fn page(web: &Web, req: &Request, viewer: &Viewer, problem: Option<String>) -> DeletePage {
    DeletePage {
        chrome: Chrome::new(web, req, viewer, Section::Profile, "Delete account"),
        username: viewer.me.member.username.as_str().to_owned(),
        problem,
    }
}

/// `GET /profile/delete`: the confirmation step.
#[handler]
pub(crate) fn show(req: &Request, web: Data<&Arc<Web>>, viewer: Viewer) -> Response {
    html(&page(&web, req, &viewer, None))
}

/// `POST /profile/delete`.
#[handler]
pub(crate) async fn submit(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
    form: FormData,
) -> poem::Result<Response> {
    let confirmation = match (form.opt("password"), form.opt("username")) {
        (Some(p), _) => DeleteConfirmation::Password(p),
        (None, Some(u)) => DeleteConfirmation::TypedUsername(u),
        (None, None) => {
            let problem = "Give your password, or type your username, to confirm.".to_owned();
            return Ok(html_status(
                &page(&web, req, &viewer, Some(problem)),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    match web.accounts.profile().delete_account(&viewer.actor(), &confirmation).await {
        Ok(()) => {
            clear_cookie(&web, req, web.cookies.session);
            clear_cookie(&web, req, web.cookies.impersonation);
            Ok(see_other("/login?notice=deleted"))
        }
        Err(e @ (DeleteAccountError::ConfirmationFailed | DeleteAccountError::LastAdmin)) => {
            let problem = Some(capitalised(&e.to_string()));
            Ok(html_status(&page(&web, req, &viewer, problem), StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e).or_fail(),
    }
}
