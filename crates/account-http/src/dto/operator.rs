//! Bodies of the operator (support staff) endpoints.

use std::fmt;

use account_core::domain::mail::OutboxMail;
use account_core::domain::member::Member as CoreMember;
use account_core::services::operator::{
    CreatedOrganisation as CoreCreated, NewOrganisation, OrganisationDetail as CoreDetail,
};
use poem_openapi::Object;
use uuid::Uuid;

use super::organisation::Organisation;
use super::team::PoolOverview;
use super::{CreditKind, MemberStatus, Role, Timestamp, page, ts};

/// An organisation to create, with its first admin.
#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct CreateOrganisationRequest {
    /// Display name.
    pub name: String,
    /// Organisation or personal number.
    pub registration_number: String,
    /// Plan.
    pub plan: String,
    /// Licences (at least 1, for the admin).
    pub licences: u32,
    /// The admin's first name.
    pub admin_first_name: String,
    /// The admin's last name.
    pub admin_last_name: Option<String>,
    /// The admin's login email; it also becomes the sole, verified contact address.
    pub admin_email: String,
    /// A first password for the admin; without one, the admin gets an invitation mail.
    pub admin_password: Option<String>,
}

impl fmt::Debug for CreateOrganisationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateOrganisationRequest")
            .field("licences", &self.licences)
            .finish_non_exhaustive()
    }
}

impl CreateOrganisationRequest {
    pub(crate) fn to_input(&self) -> NewOrganisation {
        NewOrganisation {
            name: self.name.clone(),
            registration_number: self.registration_number.clone(),
            plan: self.plan.clone(),
            licences: self.licences,
            admin_first_name: self.admin_first_name.clone(),
            admin_last_name: self.admin_last_name.clone(),
            admin_email: self.admin_email.clone(),
            admin_password: self.admin_password.clone(),
        }
    }
}

/// A member as support sees them.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct OperatorMember {
    /// Its id.
    pub id: Uuid,
    /// The organisation.
    pub organisation_id: Uuid,
    /// Username.
    pub username: String,
    /// Login email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Status.
    pub status: MemberStatus,
    /// True until the invitation is accepted.
    pub invitation_pending: bool,
    /// When the member was created.
    pub created_at: Timestamp,
}

impl From<&CoreMember> for OperatorMember {
    fn from(m: &CoreMember) -> Self {
        Self {
            id: m.id.as_uuid(),
            organisation_id: m.org_id.as_uuid(),
            username: m.username.as_str().to_owned(),
            email: m.email.as_str().to_owned(),
            name: m.profile.display_name(),
            role: m.role.into(),
            status: m.status.into(),
            invitation_pending: m.password.is_none(),
            created_at: m.created_at.into(),
        }
    }
}

/// A created organisation and its first admin.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct CreatedOrganisation {
    /// The organisation.
    pub organisation: Organisation,
    /// Its first admin.
    pub admin: OperatorMember,
}

impl From<&CoreCreated> for CreatedOrganisation {
    fn from(c: &CoreCreated) -> Self {
        Self { organisation: (&c.organisation).into(), admin: (&c.admin).into() }
    }
}

/// An organisation with member counts and pools.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct OrganisationDetail {
    /// The organisation.
    pub organisation: Organisation,
    /// Enabled members, pending invitations included.
    pub enabled: u32,
    /// Disabled members.
    pub disabled: u32,
    /// Enabled admins.
    pub enabled_admins: u32,
    /// The pools.
    pub pools: Vec<PoolOverview>,
}

impl From<&CoreDetail> for OrganisationDetail {
    fn from(d: &CoreDetail) -> Self {
        Self {
            organisation: (&d.organisation).into(),
            enabled: d.counts.enabled,
            disabled: d.counts.disabled,
            enabled_admins: d.counts.enabled_admins,
            pools: d.pools.iter().map(Into::into).collect(),
        }
    }
}

/// An organisation's licences per plan, replacing the ones it has.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct SetSeatsRequest {
    /// One entry per plan, in the order pages show them; at least one, names distinct
    /// (case-insensitively), licences adding up to at least 1.
    pub plans: Vec<PlanSeatsRequest>,
}

/// One plan's licences.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct PlanSeatsRequest {
    /// The plan's name, such as `Professional`.
    pub plan: String,
    /// How many members on it may be enabled at once; never below those enabled on it now.
    pub licences: u32,
    /// A plan of the organisation that this one replaces: its members move to this plan (to
    /// rename a plan, or move a whole team to another).
    pub replaces: Option<String>,
}

/// A new registration number (a transfer).
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct SetRegistrationNumberRequest {
    /// Organisation or personal number.
    pub registration_number: String,
}

/// Credits to grant to, or expire from, a pool.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct PoolChangeRequest {
    /// The kind.
    pub kind: CreditKind,
    /// How many, 1 to 1 000 000 000.
    pub amount: i64,
    /// Why (required), for the ledger.
    pub reason: String,
}

/// A member to find by login email or username (sent in a body, to keep it out of URLs and
/// access logs).
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct FindMemberRequest {
    /// A login email or a username.
    pub query: String,
}

/// A new username.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct RenameUsernameRequest {
    /// 3 to 32 lower-case letters, digits, dots, hyphens or underscores.
    pub username: String,
}

/// A catalogue entry to add.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct CreateProductRequest {
    /// Its name, unique case-insensitively.
    pub name: String,
}

/// Changes to a catalogue entry; absent fields stay as they are.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct UpdateProductRequest {
    /// A new name.
    pub name: Option<String>,
    /// Whether members can still pick it.
    pub active: Option<bool>,
}

/// A mail waiting in the outbox (never its content).
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct PendingMail {
    /// Its id (also its Message-ID).
    pub id: Uuid,
    /// What it is for, like `invitation`.
    pub kind: String,
    /// When it was requested.
    pub created_at: Timestamp,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Earliest next attempt.
    pub next_attempt_at: Timestamp,
    /// The last delivery error.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    /// When it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub sent_at: Option<Timestamp>,
}

impl From<&OutboxMail> for PendingMail {
    fn from(m: &OutboxMail) -> Self {
        Self {
            id: m.id.as_uuid(),
            kind: m.kind.as_str().to_owned(),
            created_at: m.created_at.into(),
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at.into(),
            last_error: m.last_error.clone(),
            sent_at: ts(m.sent_at),
        }
    }
}

page!(
    /// Mails not yet sent, oldest first.
    PendingMailPage,
    PendingMail
);

/// How many due digests to send at most.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct RunDigestsRequest {
    /// At most this many (default 100).
    pub limit: Option<u32>,
}

/// What a digest run did.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct DigestRun {
    /// Digests sent.
    pub sent: u32,
}
