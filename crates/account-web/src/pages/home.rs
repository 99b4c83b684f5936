//! `/`: the profile for a logged-in viewer, the log-in page otherwise.

use std::sync::Arc;

use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::layout::see_other;

/// `GET /`.
#[handler]
pub(crate) async fn index(req: &Request, web: Data<&Arc<Web>>) -> poem::Result<Response> {
    let logged_in = crate::session::viewer(&web, req).await?.is_some();
    Ok(see_other(if logged_in { "/profile" } else { "/login" }))
}
