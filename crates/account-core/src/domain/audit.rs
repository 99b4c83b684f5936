//! The audit log (rule 21): who, acting as whom, did what, on what, when. Entries hold ids and
//! field names, never personal values, so that erasing a member erases them from the log too.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::credits::CreditKind;
use crate::ids::{
    ApiKeyId, AuditEntryId, ContactId, MemberId, OrganisationId, ProductId, SessionId,
};

/// Who did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal {
    /// A member (the admin, when they were impersonating: see `acting_as`).
    Member(MemberId),
    /// Support staff with the operator credential.
    Operator,
    /// The system itself (scheduled jobs).
    System,
}

impl Principal {
    /// The member, if a member did it.
    #[must_use]
    pub const fn member(&self) -> Option<MemberId> {
        match self {
            Self::Member(id) => Some(*id),
            Self::Operator | Self::System => None,
        }
    }
}

macro_rules! audit_actions {
    ($($variant:ident => $name:literal,)*) => {
        /// What was done. The names are stable: stores and clients rely on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction { $(#[doc = $name] $variant,)* }

        impl AuditAction {
            /// Every action.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// Stable name, like `member.disabled`.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }

            /// Parses [`as_str`](Self::as_str)'s output.
            #[must_use]
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

audit_actions! {
    OrganisationCreated => "organisation.created",
    LicencesChanged => "organisation.licences_changed",
    PlanChanged => "organisation.plan_changed",
    RegistrationNumberChanged => "organisation.registration_number_changed",
    CustomerInfoUpdated => "organisation.customer_info_updated",
    MemberAdded => "member.added",
    InvitationResent => "member.invitation_resent",
    InvitationAccepted => "member.invitation_accepted",
    ProfileUpdated => "member.profile_updated",
    PreferencesUpdated => "member.preferences_updated",
    OfferingsUpdated => "member.offerings_updated",
    PasswordChanged => "member.password_changed",
    PasswordResetSent => "member.password_reset_sent",
    PasswordReset => "member.password_reset",
    EmailChangeStarted => "member.email_change_started",
    EmailChangeCurrentConfirmed => "member.email_change_current_confirmed",
    EmailChangeNewSubmitted => "member.email_change_new_submitted",
    EmailChanged => "member.email_changed",
    MemberDisabled => "member.disabled",
    MemberEnabled => "member.enabled",
    RoleChanged => "member.role_changed",
    MemberPlanChanged => "member.plan_changed",
    UsernameChanged => "member.username_changed",
    MemberDeleted => "member.deleted",
    LoggedIn => "session.created",
    LoggedOut => "session.ended",
    SessionRevoked => "session.revoked",
    OtherSessionsRevoked => "session.others_revoked",
    ApiKeyCreated => "api_key.created",
    ApiKeyRotated => "api_key.rotated",
    ApiKeyRevoked => "api_key.revoked",
    CreditsGranted => "credits.granted",
    CreditsExpired => "credits.expired",
    CreditsAllocated => "credits.allocated",
    CreditsReclaimed => "credits.reclaimed",
    CreditsConsumed => "credits.consumed",
    ContactAdded => "contact.added",
    ContactCodeResent => "contact.code_resent",
    ContactVerified => "contact.verified",
    ContactRolesChanged => "contact.roles_changed",
    ContactRemoved => "contact.removed",
    ImpersonationStarted => "impersonation.started",
    ImpersonationEnded => "impersonation.ended",
    ProductCreated => "product.created",
    ProductUpdated => "product.updated",
    DigestSent => "digest.sent",
}

/// What something was done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditTarget {
    /// An organisation.
    Organisation(OrganisationId),
    /// A member.
    Member(MemberId),
    /// A contact address.
    Contact(ContactId),
    /// A session.
    Session(SessionId),
    /// An API key.
    ApiKey(ApiKeyId),
    /// The organisation's pool of one kind.
    CreditPool(CreditKind),
    /// A catalogue entry.
    Product(ProductId),
}

impl fmt::Display for AuditTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Organisation(id) => write!(f, "organisation:{id}"),
            Self::Member(id) => write!(f, "member:{id}"),
            Self::Contact(id) => write!(f, "contact:{id}"),
            Self::Session(id) => write!(f, "session:{id}"),
            Self::ApiKey(id) => write!(f, "api_key:{id}"),
            Self::CreditPool(kind) => write!(f, "credit_pool:{}", kind.as_str()),
            Self::Product(id) => write!(f, "product:{id}"),
        }
    }
}

impl AuditTarget {
    /// Parses the [`Display`](fmt::Display) form back.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let (kind, id) = s.split_once(':')?;
        let uuid = || id.parse::<uuid::Uuid>().ok();
        Some(match kind {
            "organisation" => Self::Organisation(uuid()?.into()),
            "member" => Self::Member(uuid()?.into()),
            "contact" => Self::Contact(uuid()?.into()),
            "session" => Self::Session(uuid()?.into()),
            "api_key" => Self::ApiKey(uuid()?.into()),
            "credit_pool" => Self::CreditPool(CreditKind::parse(id)?),
            "product" => Self::Product(uuid()?.into()),
            _ => return None,
        })
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its id.
    pub id: AuditEntryId,
    /// The organisation it belongs to (`None` for catalogue changes, which are global).
    pub org_id: Option<OrganisationId>,
    /// When.
    pub at: DateTime<Utc>,
    /// Who really did it: under impersonation, the admin.
    pub actor: Principal,
    /// Under impersonation, the sub-user the admin acted as.
    pub acting_as: Option<MemberId>,
    /// What.
    pub action: AuditAction,
    /// On what.
    pub target: AuditTarget,
    /// Non-personal detail, such as `kind=export amount=100` or `fields=phone,company`.
    pub detail: String,
}

/// Where a page of the audit log starts (exclusive), newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AuditCursor {
    /// Time of the last entry seen.
    pub at: DateTime<Utc>,
    /// Id of the last entry seen.
    pub id: AuditEntryId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_and_target_names_round_trip() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(*action));
        }
        let t = AuditTarget::CreditPool(CreditKind::DirectDial);
        assert_eq!(AuditTarget::parse(&t.to_string()), Some(t));
        let m = AuditTarget::Member(MemberId::from_uuid(uuid::Uuid::from_u128(7)));
        assert_eq!(AuditTarget::parse(&m.to_string()), Some(m));
    }
}
