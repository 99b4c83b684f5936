//! Impersonation (rule 16): an admin gives a reason and views the console as an enabled
//! sub-user; the impersonation session's token goes in a cookie beside the admin's own, and
//! every page shows the banner with Exit, which ends it and returns to the admin's session.

use std::sync::Arc;

use account_core::ids::MemberId;
use account_core::services::impersonation::ImpersonationError;
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::{FieldErrors, FormData};
use crate::layout::{Chrome, Section, html, html_status, see_other};
use crate::pages::{OrFail, id};
use crate::session::{Admin, Viewer, clear_cookie, set_cookie, viewer};

#[derive(Template)]
#[template(path = "impersonate.html")]
struct ImpersonatePage {
    chrome: Chrome,
    id: String,
    name: String,
    reason: String,
    errors: FieldErrors,
}

async fn page(
    web: &Web,
    req: &Request,
    viewer: &Viewer,
    raw: &str,
    reason: String,
    errors: FieldErrors,
) -> poem::Result<ImpersonatePage> {
    let member: MemberId = id(raw)?;
    let row = web.accounts.team().member(&viewer.actor(), member).await.or_fail()?;
    Ok(ImpersonatePage {
        chrome: Chrome::new(web, req, viewer, Section::Team, "Impersonate"),
        id: row.member.id.to_string(),
        name: row.member.profile.display_name(),
        reason,
        errors,
    })
}

/// `GET /team/members/:id/impersonate`: the reason form.
#[handler]
pub(crate) async fn reason_form(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    Ok(html(&page(&web, req, &viewer, &raw, String::new(), FieldErrors::none()).await?))
}

/// `POST /team/members/:id/impersonate`.
#[handler]
pub(crate) async fn start(
    req: &Request,
    web: Data<&Arc<Web>>,
    Admin(viewer): Admin,
    Path(raw): Path<String>,
    form: FormData,
) -> poem::Result<Response> {
    let member: MemberId = id(&raw)?;
    let reason = form.text("reason");
    match web.accounts.impersonation().start(&viewer.actor(), member, &reason).await {
        Ok(started) => {
            set_cookie(&web, req, web.cookies.impersonation, &started.token);
            Ok(see_other("/profile?notice=impersonating"))
        }
        Err(ImpersonationError::Validation(v)) => {
            let page =
                page(&web, req, &viewer, &raw, reason, FieldErrors::from_domain(&v, &[])).await?;
            Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e).or_fail(),
    }
}

/// `POST /impersonation/exit`: back to the admin's own session.
#[handler]
pub(crate) async fn exit(req: &Request, web: Data<&Arc<Web>>) -> poem::Result<Response> {
    if let Some(v) = viewer(&web, req).await?
        && v.impersonating()
    {
        match web.accounts.impersonation().stop(&v.actor()).await {
            Ok(()) | Err(ImpersonationError::NotImpersonating) => {}
            Err(e) => return Err(e).or_fail(),
        }
    }
    clear_cookie(&web, req, web.cookies.impersonation);
    Ok(see_other("/team?notice=impersonation-ended"))
}
