//! API keys on the profile page (rule 17): create, regenerate and revoke one's own keys. A
//! new secret is shown once, on a page of its own that no cache keeps, with a copy button.

use std::sync::Arc;

use account_core::ids::ApiKeyId;
use account_core::services::api_keys::{ApiKeyError, CreatedApiKey};
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::{FieldErrors, FormData};
use crate::layout::{Chrome, Section, html, html_status, see_other};
use crate::pages::profile::ProfilePage;
use crate::pages::{OrFail, id};
use crate::session::Viewer;

#[derive(Template)]
#[template(path = "api_key_created.html")]
struct CreatedPage {
    chrome: Chrome,
    regenerated: bool,
    label: String,
    secret: String,
}

fn created(
    web: &Web,
    req: &Request,
    viewer: &Viewer,
    key: CreatedApiKey,
    regenerated: bool,
) -> Response {
    html(&CreatedPage {
        chrome: Chrome::new(web, req, viewer, Section::Profile, "Your new API key"),
        regenerated,
        label: key.key.label.map(|l| l.to_string()).unwrap_or_default(),
        secret: key.secret,
    })
}

/// `POST /profile/api-keys`.
#[handler]
pub(crate) async fn create(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
    form: FormData,
) -> poem::Result<Response> {
    let label = form.opt("label");
    match web.accounts.api_keys().create(&viewer.actor(), label.as_deref()).await {
        Ok(key) => Ok(created(&web, req, &viewer, key, false)),
        Err(ApiKeyError::Validation(v)) => {
            let mut page = ProfilePage::load(&web, req, &viewer).await?;
            page.key_errors = FieldErrors::from_domain(&v, &[]);
            Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e @ ApiKeyError::TooMany { .. }) => {
            let mut page = ProfilePage::load(&web, req, &viewer).await?;
            page.key_errors = FieldErrors::one("label", crate::text::capitalised(&e.to_string()));
            Ok(html_status(&page, StatusCode::CONFLICT))
        }
        Err(e) => Err(e).or_fail(),
    }
}

/// `POST /profile/api-keys/:id/regenerate`.
#[handler]
pub(crate) async fn regenerate(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    let key: ApiKeyId = id(&raw)?;
    let key = web.accounts.api_keys().rotate(&viewer.actor(), key).await.or_fail()?;
    Ok(created(&web, req, &viewer, key, true))
}

/// `POST /profile/api-keys/:id/revoke`.
#[handler]
pub(crate) async fn revoke(
    web: Data<&Arc<Web>>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    let key: ApiKeyId = id(&raw)?;
    web.accounts.api_keys().revoke(&viewer.actor(), key).await.or_fail()?;
    Ok(see_other("/profile?notice=key-revoked#api-keys"))
}
