//! Products and services on the profile page (rule 20): ticked catalogue entries and free
//! text, one per line; the core de-duplicates and bounds them.

use std::sync::Arc;

use account_core::domain::products::OfferingInput;
use account_core::services::profile::SetOfferingsError;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::{FieldErrors, FormData};
use crate::layout::{html_status, see_other};
use crate::pages::OrFail;
use crate::pages::profile::ProfilePage;
use crate::session::Viewer;

/// `POST /profile/offerings`.
#[handler]
pub(crate) async fn save(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
    form: FormData,
) -> poem::Result<Response> {
    let mut inputs = Vec::new();
    for id in form.all("product") {
        // An id that is not one parses to nothing the catalogue has: the core names it.
        match id.parse() {
            Ok(id) => inputs.push(OfferingInput::Catalogue(id)),
            Err(_) => inputs.push(OfferingInput::Text(String::new())),
        }
    }
    let custom = form.text("custom");
    inputs.extend(
        custom.lines().filter(|l| !l.trim().is_empty()).map(|l| OfferingInput::Text(l.to_owned())),
    );
    match web.accounts.profile().set_offerings(&viewer.actor(), &inputs).await {
        Ok(_) => Ok(see_other("/profile?notice=offerings-saved#offerings")),
        Err(SetOfferingsError::Validation(v)) => {
            let mut page = ProfilePage::load(&web, req, &viewer).await?;
            let mut errors = FieldErrors::none();
            for e in v.fields() {
                let n = e
                    .field
                    .strip_prefix("offerings[")
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(|i| i.parse::<usize>().ok())
                    .map_or_else(String::new, |i| format!(" {}", i + 1));
                errors.push("offerings", format!("Entry{n} {}.", e.message));
            }
            page.offering_errors = errors;
            page.custom_offerings = custom;
            Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e).or_fail(),
    }
}
