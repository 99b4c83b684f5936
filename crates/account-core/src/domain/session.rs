//! Sessions (rule 18), impersonation sessions hanging on them (rule 16), and API keys (rule 17).

use chrono::{DateTime, Utc};

use super::secret::SecretDigest;
use super::text::{ClientName, KeyLabel, Reason};
use crate::ids::{ApiKeyId, MemberId, OrganisationId, SessionId};

/// Longest an impersonation lasts.
pub const MAX_IMPERSONATION: chrono::Duration = chrono::Duration::minutes(60);

/// What makes a session an impersonation: the admin behind it and the session it hangs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpersonationInfo {
    /// The admin impersonating.
    pub admin_id: MemberId,
    /// The admin's own session; ending it ends the impersonation.
    pub admin_session_id: SessionId,
    /// Why, as the admin gave it.
    pub reason: Reason,
}

/// A session: a login, or an impersonation acting as `member_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id (the public half of its token).
    pub id: SessionId,
    /// The member it acts as.
    pub member_id: MemberId,
    /// Their organisation.
    pub org_id: OrganisationId,
    /// Keyed digest of the token's secret half.
    pub secret: SecretDigest,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it was last used (updated at most once a minute).
    pub last_seen_at: DateTime<Utc>,
    /// Absolute end, whatever the activity.
    pub expires_at: DateTime<Utc>,
    /// The client it was opened from.
    pub client: Option<ClientName>,
    /// Set for an impersonation session.
    pub impersonation: Option<ImpersonationInfo>,
}

/// An API key (rule 17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Its id (the public half of the key).
    pub id: ApiKeyId,
    /// Its owner.
    pub member_id: MemberId,
    /// The owner's organisation.
    pub org_id: OrganisationId,
    /// A label the owner chose.
    pub label: Option<KeyLabel>,
    /// The non-secret prefix shown in lists.
    pub prefix: String,
    /// Keyed digest of the key's secret half.
    pub secret: SecretDigest,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}
