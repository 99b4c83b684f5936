//! Changing the password on the profile page (rule 8): the current one first; the other
//! sessions end.

use std::sync::Arc;

use account_core::services::profile::ChangePasswordError;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::{FieldErrors, FormData};
use crate::layout::{html_status, see_other};
use crate::pages::OrFail;
use crate::pages::profile::ProfilePage;
use crate::session::Viewer;

/// `POST /profile/password`.
#[handler]
pub(crate) async fn change(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
    form: FormData,
) -> poem::Result<Response> {
    let new = form.text("new_password");
    let errors = if new != form.text("new_password_repeat") {
        FieldErrors::one("new_password_repeat", "The two new passwords differ.")
    } else {
        let current = form.text("current_password");
        match web.accounts.profile().change_password(&viewer.actor(), &current, &new).await {
            Ok(()) => return Ok(see_other("/profile?notice=password-changed#password")),
            Err(ChangePasswordError::WrongPassword) => {
                FieldErrors::one("current_password", "The current password is wrong.")
            }
            Err(ChangePasswordError::Validation(v)) => FieldErrors::from_domain(&v, &[]),
            Err(e) => return Err(e).or_fail(),
        }
    };
    let mut page = ProfilePage::load(&web, req, &viewer).await?;
    page.password_errors = errors;
    Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
}
