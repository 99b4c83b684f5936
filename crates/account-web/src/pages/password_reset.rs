//! Forgot password and reset password (rule 22). "Forgot password" asks for a reset by address
//! and always shows the same page afterwards, whether or not the address has an account; the
//! reset mail's link (`/reset-password?token=…`) lands on the reset form, where the new
//! password is set. The token travels on in a hidden field, never in a logged URL.

use std::sync::Arc;

use account_core::services::password_reset::{CompleteResetError, RequestResetError};
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
#[template(path = "forgot_password.html")]
struct ForgotPage {
    chrome: Chrome,
    email: String,
    errors: FieldErrors,
    problem: Option<String>,
    sent: bool,
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    chrome: Chrome,
    token: String,
    errors: FieldErrors,
    problem: Option<String>,
}

/// `GET /forgot-password`.
#[handler]
pub(crate) fn forgot(req: &Request, web: Data<&Arc<Web>>) -> Response {
    html(&ForgotPage {
        chrome: Chrome::public(&web, req, "Forgot password"),
        email: String::new(),
        errors: FieldErrors::none(),
        problem: None,
        sent: false,
    })
}

/// `POST /forgot-password`: the same page for every address (rule 22).
#[handler]
pub(crate) async fn ask(
    req: &Request,
    web: Data<&Arc<Web>>,
    form: FormData,
) -> poem::Result<Response> {
    let email = form.text("email");
    let page = |errors: FieldErrors, problem: Option<String>, sent: bool| ForgotPage {
        chrome: Chrome::public(&web, req, "Forgot password"),
        email: email.clone(),
        errors,
        problem,
        sent,
    };
    match web.accounts.password_reset().request(&email, client_address(req)).await {
        Ok(()) => Ok(html(&page(FieldErrors::none(), None, true))),
        Err(RequestResetError::Validation(v)) => Ok(html_status(
            &page(FieldErrors::from_domain(&v, &[]), None, false),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(RequestResetError::Throttled(wait)) => {
            let minutes = wait.retry_after_secs().div_ceil(60);
            let problem = format!("Too many reset requests. Try again in {minutes} minute(s).");
            Ok(html_status(
                &page(FieldErrors::none(), Some(problem), false),
                StatusCode::TOO_MANY_REQUESTS,
            ))
        }
        Err(RequestResetError::Internal(e)) => Err(e).or_fail(),
    }
}

/// `GET /reset-password?token=…`.
#[handler]
pub(crate) fn show(req: &Request, web: Data<&Arc<Web>>) -> Response {
    let token = query(req).text("token");
    let problem = token.is_empty().then(|| {
        "This link has no reset token in it. Open the link from your reset mail, or ask for a \
         new one."
            .to_owned()
    });
    html(&ResetPage {
        chrome: Chrome::public(&web, req, "Choose a new password"),
        token,
        errors: FieldErrors::none(),
        problem,
    })
}

/// `POST /reset-password`.
#[handler]
pub(crate) async fn submit(
    req: &Request,
    web: Data<&Arc<Web>>,
    form: FormData,
) -> poem::Result<Response> {
    let token = form.text("token");
    let password = form.text("password");
    let render = |errors: FieldErrors, problem: Option<String>, status: StatusCode| {
        let page = ResetPage {
            chrome: Chrome::public(&web, req, "Choose a new password"),
            token: token.clone(),
            errors,
            problem,
        };
        Ok(html_status(&page, status))
    };
    let refused = StatusCode::UNPROCESSABLE_ENTITY;
    if password != form.text("password_repeat") {
        return render(
            FieldErrors::one("password_repeat", "The two passwords differ."),
            None,
            refused,
        );
    }
    match web.accounts.password_reset().complete(&token, &password, client_address(req)).await {
        Ok(_) => Ok(see_other("/login?notice=password-reset")),
        Err(CompleteResetError::Validation(v)) => {
            render(FieldErrors::from_domain(&v, &[]), None, refused)
        }
        Err(e @ (CompleteResetError::InvalidToken | CompleteResetError::Expired)) => {
            render(FieldErrors::none(), Some(crate::text::capitalised(&e.to_string())), refused)
        }
        Err(e @ CompleteResetError::Throttled(_)) => render(
            FieldErrors::none(),
            Some(crate::text::capitalised(&e.to_string())),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(CompleteResetError::Internal(e)) => Err(e).or_fail(),
    }
}
