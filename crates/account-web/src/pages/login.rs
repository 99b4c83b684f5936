//! Log in and log out. Log-in makes one of the API's sessions (the core's `login`) and keeps
//! its token in the session cookie; failed log-ins count against the same throttle as the
//! API's. Log-out ends the session (and any impersonation hanging on it).

use std::sync::Arc;

use account_core::services::auth::LoginError;
use askama::Template;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::FormData;
use crate::layout::{Chrome, html, html_status, see_other};
use crate::pages::OrFail;
use crate::session::{clear_cookie, client_address, client_name, set_cookie, viewer};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    email: String,
    error: Option<String>,
}

/// `GET /login`.
#[handler]
pub(crate) async fn show(req: &Request, web: Data<&Arc<Web>>) -> poem::Result<Response> {
    if viewer(&web, req).await?.is_some() {
        return Ok(see_other("/profile"));
    }
    Ok(html(&LoginPage {
        chrome: Chrome::public(&web, req, "Log in"),
        email: String::new(),
        error: None,
    }))
}

/// `POST /login`.
#[handler]
pub(crate) async fn submit(
    req: &Request,
    web: Data<&Arc<Web>>,
    form: FormData,
) -> poem::Result<Response> {
    let email = form.text("email");
    let password = form.text("password");
    let client = client_address(req);
    let refuse = |message: String, status| {
        let page = LoginPage {
            chrome: Chrome::public(&web, req, "Log in"),
            email: email.clone(),
            error: Some(message),
        };
        Ok(html_status(&page, status))
    };
    match web.accounts.auth().login(&email, &password, client_name(req), client).await {
        Ok(done) => {
            set_cookie(&web, req, web.cookies.session, &done.token);
            clear_cookie(&web, req, web.cookies.impersonation);
            Ok(see_other("/profile"))
        }
        Err(LoginError::InvalidCredentials) => {
            refuse("The email or password is wrong.".to_owned(), StatusCode::UNAUTHORIZED)
        }
        Err(LoginError::Throttled(wait)) => {
            let minutes = wait.retry_after_secs().div_ceil(60);
            refuse(
                format!("Too many log-ins. Try again in {minutes} minute(s)."),
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Err(LoginError::AccountDisabled) => refuse(
            "This account is disabled. Ask an admin of your organisation to enable it.".to_owned(),
            StatusCode::FORBIDDEN,
        ),
        Err(LoginError::Internal(e)) => Err(e).or_fail(),
    }
}

/// `POST /logout`.
#[handler]
pub(crate) async fn logout(req: &Request, web: Data<&Arc<Web>>) -> poem::Result<Response> {
    if let Some(v) = viewer(&web, req).await? {
        let own = v.impersonator.as_ref().map_or(v.auth.actor, |i| i.auth.actor);
        web.accounts.auth().logout(&own).await.or_fail()?;
    }
    clear_cookie(&web, req, web.cookies.session);
    clear_cookie(&web, req, web.cookies.impersonation);
    Ok(see_other("/login?notice=logged-out"))
}
