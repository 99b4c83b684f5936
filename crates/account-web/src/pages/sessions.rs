//! Active sessions on the profile page (rule 18): log out one, or all the others.

use std::sync::Arc;

use account_core::ids::SessionId;
use poem::web::{Data, Path};
use poem::{Response, handler};

use crate::app::Web;
use crate::layout::see_other;
use crate::pages::{OrFail, id};
use crate::session::Viewer;

/// `POST /profile/sessions/:id/revoke`.
#[handler]
pub(crate) async fn revoke(
    web: Data<&Arc<Web>>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> poem::Result<Response> {
    let session: SessionId = id(&raw)?;
    web.accounts.auth().revoke_session(&viewer.actor(), session).await.or_fail()?;
    Ok(see_other("/profile?notice=session-revoked#sessions"))
}

/// `POST /profile/sessions/revoke-others`.
#[handler]
pub(crate) async fn revoke_others(web: Data<&Arc<Web>>, viewer: Viewer) -> poem::Result<Response> {
    web.accounts.auth().revoke_other_sessions(&viewer.actor()).await.or_fail()?;
    Ok(see_other("/profile?notice=sessions-revoked#sessions"))
}
