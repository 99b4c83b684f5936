//! Impersonation: an admin acts as a sub-user of their organisation, with a reason, for at most
//! an hour, on a session hanging on their own. Every response made under it carries the
//! `Accounts-Impersonation` header.

use crate::json::Json;
use account_core::ids::MemberId;
use poem_openapi::OpenApi;
use poem_openapi::param::Path;
use uuid::Uuid;

use super::{ApiTags, State};
use crate::auth::SessionAuth;
use crate::body::JsonBody;
use crate::dto::team::{Impersonation, StartImpersonationRequest};
use crate::responses::responses;

responses! {
    /// Responses of `startImpersonation`.
    pub enum StartImpersonationResponse {
        /// Started: the impersonation token, shown once.
        #[oai(status = 201)]
        Created(Json<Impersonation>),
    }
    errors: [400, 401, 403, 404, 409, 413, 415, 422]
}

responses! {
    /// Responses of `stopImpersonation`.
    pub enum StopImpersonationResponse {
        /// Ended; the admin's own session goes on.
        #[oai(status = 204)]
        NoContent,
    }
    errors: [401, 403, 404, 409, 422]
}

/// Impersonation.
#[derive(Debug)]
pub(crate) struct ImpersonationApi;

#[OpenApi]
impl ImpersonationApi {
    /// Impersonate a sub-user
    ///
    /// An enabled admin acts as an enabled sub-user of the same organisation, giving a reason
    /// (audited). Never another admin, never nested; it ends after 60 minutes, or with the
    /// admin's session. Under it, the sub-user's password, email, API keys, sessions and
    /// account deletion cannot be touched.
    #[oai(
        path = "/team/members/:member_id/impersonation",
        method = "post",
        operation_id = "startImpersonation",
        tag = "ApiTags::Impersonation"
    )]
    async fn start(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The sub-user.
        member_id: Path<Uuid>,
        body: JsonBody<StartImpersonationRequest>,
    ) -> StartImpersonationResponse {
        StartImpersonationResponse::from_result(
            state
                .accounts
                .impersonation()
                .start(&auth.actor(), MemberId::from_uuid(member_id.0), &body.reason)
                .await
                .map(|s| StartImpersonationResponse::Created(Json((&s).into())))
                .map_err(Into::into),
        )
    }

    /// Stop impersonating
    ///
    /// Called with the impersonation token: ends the impersonation and returns to the admin's
    /// own session.
    #[oai(
        path = "/impersonation",
        method = "delete",
        operation_id = "stopImpersonation",
        tag = "ApiTags::Impersonation"
    )]
    async fn stop(&self, state: State<'_>, auth: SessionAuth) -> StopImpersonationResponse {
        StopImpersonationResponse::from_result(
            state
                .accounts
                .impersonation()
                .stop(&auth.actor())
                .await
                .map(|()| StopImpersonationResponse::NoContent)
                .map_err(Into::into),
        )
    }
}
