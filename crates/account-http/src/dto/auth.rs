//! Bodies of log-in, sessions, invitations and password resets.

use std::fmt;

use account_core::domain::session::Session as CoreSession;
use account_core::services::auth::SessionView;
use poem_openapi::Object;
use uuid::Uuid;

use super::{Timestamp, page};

/// Email and password.
#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct LoginRequest {
    /// The login email.
    pub email: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginRequest { .. }")
    }
}

/// A session as its owner sees it.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Session {
    /// Its id.
    pub id: Uuid,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it was last used (updated at most once a minute).
    pub last_seen_at: Timestamp,
    /// When it ends at the latest.
    pub expires_at: Timestamp,
    /// The client (user agent) it was opened from.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub client: Option<String>,
    /// True for the session making this request.
    pub current: bool,
}

impl From<&SessionView> for Session {
    fn from(s: &SessionView) -> Self {
        Self {
            id: s.id.as_uuid(),
            created_at: s.created_at.into(),
            last_seen_at: s.last_seen_at.into(),
            expires_at: s.expires_at.into(),
            client: s.client.as_ref().map(|c| c.as_str().to_owned()),
            current: s.current,
        }
    }
}

page!(
    /// A page of sessions.
    SessionPage,
    Session
);

/// A new session and its bearer token, shown this once.
#[derive(serde::Serialize, Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct LoggedIn {
    /// Send as `Authorization: Bearer <token>`. Only a digest of it is stored.
    pub token: String,
    /// The member logged in.
    pub member_id: Uuid,
    /// The session.
    pub session: Session,
}

impl fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoggedIn").field("session", &self.session).finish_non_exhaustive()
    }
}

impl LoggedIn {
    pub(crate) fn new(token: String, s: &CoreSession) -> Self {
        Self {
            token,
            member_id: s.member_id.as_uuid(),
            session: Session {
                id: s.id.as_uuid(),
                created_at: s.created_at.into(),
                last_seen_at: s.last_seen_at.into(),
                expires_at: s.expires_at.into(),
                client: s.client.as_ref().map(|c| c.as_str().to_owned()),
                current: true,
            },
        }
    }
}

/// How many sessions ended.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct RevokedSessions {
    /// Sessions ended.
    pub ended: u64,
}

/// The invitation token from the mail, and a first password.
#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct AcceptInvitationRequest {
    /// The token (`aci_…`) from the invitation mail.
    pub token: String,
    /// The new password: 12 to 128 characters, not a common one.
    pub password: String,
}

impl fmt::Debug for AcceptInvitationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AcceptInvitationRequest { .. }")
    }
}

/// The member who can now log in.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct AcceptedInvitation {
    /// The member.
    pub member_id: Uuid,
}

/// The address of the account whose password was forgotten.
#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct PasswordResetRequest {
    /// The login email.
    pub email: String,
}

impl fmt::Debug for PasswordResetRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordResetRequest { .. }")
    }
}

/// The reset token from the mail (link or code), and the new password.
#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct CompletePasswordResetRequest {
    /// The token (`acr_…`) from the reset mail.
    pub token: String,
    /// The new password: 12 to 128 characters, not a common one, not containing the email
    /// or username.
    pub password: String,
}

impl fmt::Debug for CompletePasswordResetRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CompletePasswordResetRequest { .. }")
    }
}

/// The password is set; every session ended, API keys still work.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct PasswordResetDone {
    /// The member, who can now log in with the new password.
    pub member_id: Uuid,
    /// How many of the member's sessions ended.
    pub sessions_ended: u64,
}
