//! Preferences on the profile page (rule 19): notification switches, default export options
//! and the time zone, which applies to scheduling from now on.

use std::sync::Arc;

use account_core::domain::preferences::{ExportDefaults, ExportFormat, NotificationSettings};
use account_core::services::profile::{PreferencesInput, SetPreferencesError};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::{FieldErrors, FormData};
use crate::layout::{html_status, see_other};
use crate::pages::OrFail;
use crate::pages::profile::ProfilePage;
use crate::session::Viewer;

/// `POST /profile/preferences`.
#[handler]
pub(crate) async fn save(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
    form: FormData,
) -> poem::Result<Response> {
    let input = PreferencesInput {
        notifications: NotificationSettings {
            low_credit_alerts: form.checked("low_credit_alerts"),
            weekly_usage_digest: form.checked("weekly_usage_digest"),
            product_news: form.checked("product_news"),
        },
        export: ExportDefaults {
            format: form.get("format").and_then(ExportFormat::parse).unwrap_or_default(),
            include_emails: form.checked("include_emails"),
            include_phone_numbers: form.checked("include_phone_numbers"),
        },
        timezone: form.text("timezone"),
    };
    match web.accounts.profile().set_preferences(&viewer.actor(), &input).await {
        Ok(_) => Ok(see_other("/profile?notice=preferences-saved#preferences")),
        Err(SetPreferencesError::Validation(v)) => {
            let mut page = ProfilePage::load(&web, req, &viewer).await?;
            page.pref_errors = FieldErrors::from_domain(&v, &[]);
            Ok(html_status(&page, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e).or_fail(),
    }
}
