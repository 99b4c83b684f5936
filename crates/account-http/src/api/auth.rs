//! Log-in (throttled), log-out, the caller's sessions, accepting an invitation, and password
//! reset (rule 22).

use crate::json::Json;
use account_core::ids::SessionId;
use poem::Request;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use uuid::Uuid;

use super::{ApiTags, State};
use crate::auth::SessionAuth;
use crate::body::JsonBody;
use crate::dto::Done;
use crate::dto::auth::{
    AcceptInvitationRequest, AcceptedInvitation, CompletePasswordResetRequest, LoggedIn,
    LoginRequest, PasswordResetDone, PasswordResetRequest, RevokedSessions, Session, SessionPage,
};
use crate::pagination;
use crate::responses::responses;

responses! {
    /// Responses of `login`.
    pub enum LoginResponse {
        /// Logged in: the session token, shown once.
        #[oai(status = 200)]
        Ok(Json<LoggedIn>),
    }
    errors: [400, 401, 403, 413, 415, 429]
}

responses! {
    /// Responses of `logout`.
    pub enum LogoutResponse {
        /// The session ended (for an impersonation session: the impersonation ended).
        #[oai(status = 204)]
        NoContent,
    }
    errors: [401, 403, 404]
}

responses! {
    /// Responses of `listSessions`.
    pub enum ListSessionsResponse {
        /// The caller's live log-in sessions.
        #[oai(status = 200)]
        Ok(Json<SessionPage>),
    }
    errors: [400, 401, 403, 404]
}

responses! {
    /// Responses of `revokeSession`.
    pub enum RevokeSessionResponse {
        /// The session ended.
        #[oai(status = 204)]
        NoContent,
    }
    errors: [400, 401, 403, 404]
}

responses! {
    /// Responses of `revokeOtherSessions`.
    pub enum RevokeOtherSessionsResponse {
        /// Every other session of the caller ended.
        #[oai(status = 200)]
        Ok(Json<RevokedSessions>),
    }
    errors: [401, 403, 404]
}

responses! {
    /// Responses of `acceptInvitation`.
    pub enum AcceptInvitationResponse {
        /// The password is set; the member can log in.
        #[oai(status = 200)]
        Ok(Json<AcceptedInvitation>),
    }
    errors: [400, 413, 415, 422, 429]
}

responses! {
    /// Responses of `requestPasswordReset`.
    pub enum RequestPasswordResetResponse {
        /// Taken: if an account may reset with this address, a mail is on its way. The same
        /// answer whether or not it exists.
        #[oai(status = 202)]
        Accepted(Json<Done>),
    }
    errors: [400, 413, 415, 422, 429]
}

responses! {
    /// Responses of `completePasswordReset`.
    pub enum CompletePasswordResetResponse {
        /// The password is set; every session of the member ended (API keys still work).
        #[oai(status = 200)]
        Ok(Json<PasswordResetDone>),
    }
    errors: [400, 413, 415, 422, 429]
}

/// The answer to every accepted reset request, known address or not.
pub(crate) const RESET_REQUESTED: &str =
    "if an account uses this address, a mail with a link to reset its password is on its way";

/// Log-in, sessions and invitations.
#[derive(Debug)]
pub(crate) struct AuthApi;

#[OpenApi]
impl AuthApi {
    /// Log in
    ///
    /// Exchanges a login email and password for a session token (send it as
    /// `Authorization: Bearer <token>`). A wrong email and a wrong password get the same
    /// answer. Log-ins are limited per address and client, per client, and per address from
    /// clients that never logged into it: past a limit the answer is 429 with `Retry-After`,
    /// and the password is not checked.
    #[oai(path = "/auth/login", method = "post", operation_id = "login", tag = "ApiTags::Auth")]
    async fn login(
        &self,
        state: State<'_>,
        req: &Request,
        body: JsonBody<LoginRequest>,
    ) -> LoginResponse {
        let state = *state;
        let client = req.header("user-agent");
        // The same client address as the access log's: the peer, or behind a trusted proxy the
        // address it forwards. The core counts the attempt against it (rule 24).
        let from = crate::client_addr::of(req, &state.trusted_proxies);
        LoginResponse::from_result(
            state
                .accounts
                .auth()
                .login(&body.email, &body.password, client, from)
                .await
                .map(|done| LoginResponse::Ok(Json(LoggedIn::new(done.token, &done.session))))
                .map_err(Into::into),
        )
    }

    /// Log out
    ///
    /// Ends the session making the request (and any impersonation hanging on it). With an
    /// impersonation token, ends only the impersonation.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout", tag = "ApiTags::Auth")]
    async fn logout(&self, state: State<'_>, auth: SessionAuth) -> LogoutResponse {
        LogoutResponse::from_result(
            state
                .accounts
                .auth()
                .logout(&auth.actor())
                .await
                .map(|()| LogoutResponse::NoContent)
                .map_err(Into::into),
        )
    }

    /// List my sessions
    ///
    /// The caller's live log-in sessions (created, last seen, client), `current` marking the
    /// one making the request. Impersonation sessions are not listed.
    #[oai(
        path = "/auth/sessions",
        method = "get",
        operation_id = "listSessions",
        tag = "ApiTags::Auth"
    )]
    async fn list_sessions(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// Items per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ListSessionsResponse {
        ListSessionsResponse::from_result(
            async {
                let sessions = state.accounts.auth().sessions(&auth.actor()).await?;
                let (items, next_cursor) = pagination::in_memory(
                    sessions,
                    "sessions",
                    cursor.0.as_deref(),
                    pagination::limit(limit.0),
                    |s| s.id.to_string(),
                )?;
                let items = items.iter().map(Session::from).collect();
                Ok(ListSessionsResponse::Ok(Json(SessionPage { items, next_cursor })))
            }
            .await,
        )
    }

    /// Revoke one of my sessions
    ///
    /// Ends one of the caller's log-in sessions (a lost laptop, an unknown client). Not while
    /// impersonating: an admin does not end the sub-user's own sessions.
    #[oai(
        path = "/auth/sessions/:session_id",
        method = "delete",
        operation_id = "revokeSession",
        tag = "ApiTags::Auth"
    )]
    async fn revoke_session(
        &self,
        state: State<'_>,
        auth: SessionAuth,
        /// The session.
        session_id: Path<Uuid>,
    ) -> RevokeSessionResponse {
        RevokeSessionResponse::from_result(
            state
                .accounts
                .auth()
                .revoke_session(&auth.actor(), SessionId::from_uuid(session_id.0))
                .await
                .map(|()| RevokeSessionResponse::NoContent)
                .map_err(Into::into),
        )
    }

    /// Revoke my other sessions
    ///
    /// Ends every session of the caller's except the one making the request. Not while
    /// impersonating.
    #[oai(
        path = "/auth/sessions/revoke-others",
        method = "post",
        operation_id = "revokeOtherSessions",
        tag = "ApiTags::Auth"
    )]
    async fn revoke_other_sessions(
        &self,
        state: State<'_>,
        auth: SessionAuth,
    ) -> RevokeOtherSessionsResponse {
        RevokeOtherSessionsResponse::from_result(
            state
                .accounts
                .auth()
                .revoke_other_sessions(&auth.actor())
                .await
                .map(|ended| RevokeOtherSessionsResponse::Ok(Json(RevokedSessions { ended })))
                .map_err(Into::into),
        )
    }

    /// Accept an invitation
    ///
    /// Sets the first password of an invited member, with the token from the invitation mail.
    /// The member then logs in.
    #[oai(
        path = "/auth/invitation",
        method = "post",
        operation_id = "acceptInvitation",
        tag = "ApiTags::Auth"
    )]
    async fn accept_invitation(
        &self,
        state: State<'_>,
        body: JsonBody<AcceptInvitationRequest>,
    ) -> AcceptInvitationResponse {
        AcceptInvitationResponse::from_result(
            state
                .accounts
                .auth()
                .accept_invitation(&body.token, &body.password, None)
                .await
                .map(|id| {
                    AcceptInvitationResponse::Ok(Json(AcceptedInvitation {
                        member_id: id.as_uuid(),
                    }))
                })
                .map_err(Into::into),
        )
    }

    /// Ask for a password reset
    ///
    /// Mails a link (and the same token as a code) to reset the password of the account whose
    /// login is `email`. The answer is the same, in about the same time, whether or not such an
    /// account exists; disabled members and members still invited get no mail. The token works
    /// once, for 30 minutes; a new request replaces it. Requests are limited per address and
    /// per client: past a limit the answer is 429 with `Retry-After`, for known and unknown
    /// addresses alike.
    #[oai(
        path = "/auth/password-reset",
        method = "post",
        operation_id = "requestPasswordReset",
        tag = "ApiTags::Auth"
    )]
    async fn request_password_reset(
        &self,
        state: State<'_>,
        req: &Request,
        body: JsonBody<PasswordResetRequest>,
    ) -> RequestPasswordResetResponse {
        let state = *state;
        let from = crate::client_addr::of(req, &state.trusted_proxies);
        RequestPasswordResetResponse::from_result(
            state
                .accounts
                .password_reset()
                .request(&body.email, from)
                .await
                .map(|()| RequestPasswordResetResponse::Accepted(Json(Done::new(RESET_REQUESTED))))
                .map_err(Into::into),
        )
    }

    /// Reset a password
    ///
    /// Sets a new password with the token from the reset mail. The password follows the same
    /// policy as a change; every session of the member ends (log in again), API keys keep
    /// working, and a notice is mailed. Tokens tried are limited per client.
    #[oai(
        path = "/auth/password-reset/complete",
        method = "post",
        operation_id = "completePasswordReset",
        tag = "ApiTags::Auth"
    )]
    async fn complete_password_reset(
        &self,
        state: State<'_>,
        req: &Request,
        body: JsonBody<CompletePasswordResetRequest>,
    ) -> CompletePasswordResetResponse {
        let state = *state;
        let from = crate::client_addr::of(req, &state.trusted_proxies);
        CompletePasswordResetResponse::from_result(
            state
                .accounts
                .password_reset()
                .complete(&body.token, &body.password, from)
                .await
                .map(|done| {
                    CompletePasswordResetResponse::Ok(Json(PasswordResetDone {
                        member_id: done.member.as_uuid(),
                        sessions_ended: done.sessions_ended,
                    }))
                })
                .map_err(Into::into),
        )
    }
}
