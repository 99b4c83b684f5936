//! Members: role, status, plan, identity (username, login email, password), profile, invitation and
//! pending password reset.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::email::EmailAddress;
use super::linkedin::LinkedInUrl;
use super::password::PasswordHash;
use super::phone::PhoneNumber;
use super::preferences::Preferences;
use super::products::Offering;
use super::secret::SecretDigest;
use super::text::{CompanyName, JobTitle, PersonName, PlanName};
use super::username::Username;
use crate::ids::{MemberId, OrganisationId};

/// What a member may do in their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages the organisation: licences, sub-users, credits, contacts, impersonation.
    Admin,
    /// Manages their own profile and sees their own credits and usage.
    SubUser,
}

impl Role {
    /// Stable name, as stored and as shown in the API.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::SubUser => "sub_user",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "sub_user" => Some(Self::SubUser),
            _ => None,
        }
    }
}

/// Whether a member holds a licence and may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Holds a licence (pending invitations included) and may log in once a password is set.
    Enabled,
    /// Holds no licence; cannot log in; sessions ended; API keys refused. Data is kept.
    Disabled,
}

impl MemberStatus {
    /// Stable name, as stored and as shown in the API.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enabled" => Some(Self::Enabled),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// The editable profile (rule 5). The login email is not part of it: it changes only through
/// the verified email-change flow (rule 9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// First name (required).
    pub first_name: PersonName,
    /// Last name.
    pub last_name: Option<PersonName>,
    /// Phone in E.164.
    pub phone: Option<PhoneNumber>,
    /// Company.
    pub company: Option<CompanyName>,
    /// Job title.
    pub job_title: Option<JobTitle>,
    /// LinkedIn profile.
    pub linkedin: Option<LinkedInUrl>,
}

impl Profile {
    /// A profile with only a name, as an admin creates it.
    #[must_use]
    pub fn named(first_name: PersonName, last_name: Option<PersonName>) -> Self {
        Self { first_name, last_name, phone: None, company: None, job_title: None, linkedin: None }
    }

    /// "First Last", for lists and mail greetings.
    #[must_use]
    pub fn display_name(&self) -> String {
        match &self.last_name {
            Some(last) => format!("{} {}", self.first_name, last),
            None => self.first_name.to_string(),
        }
    }
}

/// A pending invitation to set a password (rule 4).
#[derive(Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Keyed digest of the invitation token's secret.
    pub secret: SecretDigest,
    /// When the invitation stops working.
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for Invitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invitation").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// How long a password-reset token works (rule 22).
pub const PASSWORD_RESET_TTL: chrono::Duration = chrono::Duration::minutes(30);

/// A pending password reset (rule 22): the digest of the mailed token's secret. The newest
/// request replaces an older one; setting the password removes it, so a token works once.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordReset {
    /// Keyed digest of the reset token's secret.
    pub secret: SecretDigest,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for PasswordReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordReset")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A member of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its id.
    pub id: MemberId,
    /// Its organisation.
    pub org_id: OrganisationId,
    /// Admin or sub-user.
    pub role: Role,
    /// Enabled or disabled.
    pub status: MemberStatus,
    /// The plan of the seat the member holds while enabled (rule 23); one of the
    /// organisation's plans.
    pub plan: PlanName,
    /// Unique username (rule 7: changed by support only).
    pub username: Username,
    /// Login email, unique case-insensitively.
    pub email: EmailAddress,
    /// Password hash; `None` until the invitation is accepted.
    pub password: Option<PasswordHash>,
    /// Pending invitation, if the member has not set a password yet.
    pub invitation: Option<Invitation>,
    /// Pending password reset, if one was asked for (rule 22).
    pub password_reset: Option<PasswordReset>,
    /// Profile.
    pub profile: Profile,
    /// Version of the profile, for `If-Match` (rule 6).
    pub profile_version: u64,
    /// Preferences (rule 19).
    pub preferences: Preferences,
    /// Products and services (rule 20).
    pub offerings: Vec<Offering>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl Member {
    /// Whether a password-reset mail may be sent to the member (rule 22): enabled, with a
    /// password set. Disabled members get nothing; an invited member without a password yet
    /// sets one through the invitation.
    #[must_use]
    pub fn may_reset_password(&self) -> bool {
        self.status == MemberStatus::Enabled && self.password.is_some()
    }

    /// True for an enabled admin.
    #[must_use]
    pub fn is_enabled_admin(&self) -> bool {
        self.role == Role::Admin && self.status == MemberStatus::Enabled
    }

    /// Rule 16: an enabled admin may act as an enabled sub-user of their own organisation,
    /// never as another admin. Checked when an impersonation starts and again on every
    /// request made through it, so it ends as soon as either member no longer qualifies.
    ///
    /// # Errors
    /// [`ImpersonationRefusal`] says which condition fails.
    pub fn may_impersonate(&self, target: &Member) -> Result<(), ImpersonationRefusal> {
        if !self.is_enabled_admin() {
            Err(ImpersonationRefusal::NotAnEnabledAdmin)
        } else if target.org_id != self.org_id {
            Err(ImpersonationRefusal::OtherOrganisation)
        } else if target.role == Role::Admin {
            Err(ImpersonationRefusal::TargetIsAdmin)
        } else if target.status != MemberStatus::Enabled {
            Err(ImpersonationRefusal::TargetDisabled)
        } else {
            Ok(())
        }
    }
}

/// Why an admin may not act as a member (rule 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImpersonationRefusal {
    /// The would-be impersonator is not (or no longer) an enabled admin.
    #[error("only an enabled admin may impersonate")]
    NotAnEnabledAdmin,
    /// The member belongs to another organisation.
    #[error("the member belongs to another organisation")]
    OtherOrganisation,
    /// Admins cannot be impersonated.
    #[error("admins cannot be impersonated")]
    TargetIsAdmin,
    /// Disabled members cannot be impersonated.
    #[error("disabled members cannot be impersonated")]
    TargetDisabled,
}
