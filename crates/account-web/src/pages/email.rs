//! Changing the login email in three steps (rules 9, 10): a code to the current address;
//! then the new address, typed twice; then a code to the new address. Each step is a form of
//! this page; the page shows the step the flow is at.

use std::sync::Arc;

use account_core::services::email_change::{EmailChangeError, EmailChangeView};
use askama::Template;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::{FieldErrors, FormData};
use crate::layout::{Chrome, Section, html_status, see_other};
use crate::pages::OrFail;
use crate::session::Viewer;
use crate::text::{capitalised, local};

#[derive(Template)]
#[template(path = "email.html")]
struct EmailPage {
    chrome: Chrome,
    current: String,
    /// `none`, `current_code`, `new_address` or `new_code`.
    step: &'static str,
    new_email: String,
    new_email_repeat: String,
    code_hint: String,
    errors: FieldErrors,
    problem: Option<String>,
}

async fn page(
    web: &Web,
    req: &Request,
    viewer: &Viewer,
    errors: FieldErrors,
    problem: Option<String>,
    typed: Option<(&str, &str)>,
) -> poem::Result<EmailPage> {
    let flow: Option<EmailChangeView> =
        web.accounts.email_change().status(&viewer.actor()).await.or_fail()?;
    let step = match flow.as_ref().map(|f| f.stage) {
        None => "none",
        Some("awaiting_current_code") => "current_code",
        Some("awaiting_new_address") => "new_address",
        Some(_) => "new_code",
    };
    let (new_email, new_email_repeat) =
        match (typed, flow.as_ref().and_then(|f| f.new_email.as_ref())) {
            (Some((a, b)), _) => (a.to_owned(), b.to_owned()),
            (None, Some(e)) => (e.as_str().to_owned(), String::new()),
            (None, None) => (String::new(), String::new()),
        };
    Ok(EmailPage {
        chrome: Chrome::new(web, req, viewer, Section::Profile, "Change email"),
        current: viewer.me.member.email.as_str().to_owned(),
        step,
        new_email,
        new_email_repeat,
        code_hint: flow.and_then(|f| f.code_expires_at).map_or_else(String::new, |t| {
            format!("Six digits. It expires at {}.", local(t, viewer.tz()))
        }),
        errors,
        problem,
    })
}

/// An error of a step: next to its field, or above the form.
fn shown(e: EmailChangeError) -> Result<(FieldErrors, Option<String>), EmailChangeError> {
    Ok(match e {
        EmailChangeError::Code(c) => (FieldErrors::one("code", capitalised(&c.to_string())), None),
        EmailChangeError::Validation(v) => (FieldErrors::from_domain(&v, &[]), None),
        EmailChangeError::EmailTaken => {
            (FieldErrors::one("new_email", "This address is already used by an account."), None)
        }
        e @ (EmailChangeError::NoFlow
        | EmailChangeError::WrongStage { .. }
        | EmailChangeError::Resend(_)
        | EmailChangeError::Throttled(_)) => {
            (FieldErrors::none(), Some(capitalised(&e.to_string())))
        }
        e @ (EmailChangeError::Denied(_) | EmailChangeError::Internal(_)) => return Err(e),
    })
}

async fn after<T>(
    web: &Web,
    req: &Request,
    viewer: &Viewer,
    result: Result<T, EmailChangeError>,
    typed: Option<(&str, &str)>,
) -> poem::Result<Response> {
    match result {
        Ok(_) => Ok(see_other("/profile/email")),
        Err(e) => {
            let (errors, problem) = shown(e).or_fail()?;
            let page = page(web, req, viewer, errors, problem, typed).await?;
            Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

/// `GET /profile/email`.
#[handler]
pub(crate) async fn show(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
) -> poem::Result<Response> {
    let page = page(&web, req, &viewer, FieldErrors::none(), None, None).await?;
    Ok(html_status(&page, StatusCode::OK))
}

/// `POST /profile/email/start`: a code to the current address.
#[handler]
pub(crate) async fn start(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
) -> poem::Result<Response> {
    let result = web.accounts.email_change().start(&viewer.actor()).await;
    after(&web, req, &viewer, result, None).await
}

/// `POST /profile/email/current-code`.
#[handler]
pub(crate) async fn current_code(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
    form: FormData,
) -> poem::Result<Response> {
    let result = web
        .accounts
        .email_change()
        .confirm_current(&viewer.actor(), form.text("code").trim())
        .await;
    after(&web, req, &viewer, result, None).await
}

/// `POST /profile/email/new-address`: the new address, twice; a code goes to it.
#[handler]
pub(crate) async fn new_address(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
    form: FormData,
) -> poem::Result<Response> {
    let (new, repeat) = (form.text("new_email"), form.text("new_email_repeat"));
    let result = web.accounts.email_change().submit_new(&viewer.actor(), &new, &repeat).await;
    after(&web, req, &viewer, result, Some((&new, &repeat))).await
}

/// `POST /profile/email/new-code`: the last step; the login email switches.
#[handler]
pub(crate) async fn new_code(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
    form: FormData,
) -> poem::Result<Response> {
    match web.accounts.email_change().confirm_new(&viewer.actor(), form.text("code").trim()).await {
        Ok(_) => Ok(see_other("/profile?notice=email-changed")),
        Err(e) => after::<()>(&web, req, &viewer, Err(e), None).await,
    }
}

/// `POST /profile/email/resend`: a new code for the step the flow is at.
#[handler]
pub(crate) async fn resend(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
) -> poem::Result<Response> {
    let result = web.accounts.email_change().resend(&viewer.actor()).await;
    after(&web, req, &viewer, result, None).await
}

/// `POST /profile/email/cancel`.
#[handler]
pub(crate) async fn cancel(web: Data<&Arc<Web>>, viewer: Viewer) -> poem::Result<Response> {
    match web.accounts.email_change().cancel(&viewer.actor()).await {
        Ok(()) | Err(EmailChangeError::NoFlow) => Ok(see_other("/profile?notice=email-cancelled")),
        Err(e) => Err(e).or_fail(),
    }
}
