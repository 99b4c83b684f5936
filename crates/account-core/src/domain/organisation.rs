//! The organisation (the "account" of the product pages): customer info, registration
//! number, plan and licence count.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::member::Member;
use super::text::{
    CompanyName, FullName, OrganisationName, PlanName, PostalAddress, PurchaseOrderNumber,
    RegistrationNumber,
};
use crate::ids::OrganisationId;

/// The customer information an admin keeps up to date (the "Customer Info" tab).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CustomerInfo {
    /// The person to contact about the account.
    pub contact_person: Option<FullName>,
    /// The postal address.
    pub postal_address: Option<PostalAddress>,
    /// The company name used on invoices.
    pub company_name: Option<CompanyName>,
    /// The customer's purchase-order number, printed on invoices.
    pub purchase_order_number: Option<PurchaseOrderNumber>,
}

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// Its id.
    pub id: OrganisationId,
    /// Its display name.
    pub name: OrganisationName,
    /// Organisation or personal number; changed only by support (a transfer).
    pub registration_number: RegistrationNumber,
    /// The plan every seat is on.
    pub plan: PlanName,
    /// How many members may be enabled at once (rule 1).
    pub licences: Licences,
    /// Customer information.
    pub customer_info: CustomerInfo,
    /// Version of the customer information, for `If-Match` (rule 6 applies to it too).
    pub customer_info_version: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The largest licence count an operator may set.
pub const MAX_LICENCES: u32 = 100_000;

/// How many members an organisation has, by status: what rules 1 and 2 count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberCounts {
    /// Enabled members, pending invitations included: each holds a licence.
    pub enabled: u32,
    /// Disabled members.
    pub disabled: u32,
    /// Enabled admins.
    pub enabled_admins: u32,
}

impl MemberCounts {
    /// Rule 2: an organisation always keeps an enabled admin, so `member` cannot stop being
    /// one (be disabled, demoted or deleted) when they are the last.
    ///
    /// # Errors
    /// [`LastAdmin`] when `member` is the organisation's last enabled admin.
    pub fn ensure_admin_remains_without(&self, member: &Member) -> Result<(), LastAdmin> {
        if member.is_enabled_admin() && self.enabled_admins <= 1 { Err(LastAdmin) } else { Ok(()) }
    }
}

/// The organisation's last enabled admin cannot be disabled, demoted or deleted (rule 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this is the last enabled admin; make another member admin first")]
pub struct LastAdmin;

/// An organisation's licence count: how many members may be enabled at once (rule 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Licences(u32);

/// Why a number is not a licence count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be between 1 and {MAX_LICENCES}")]
pub struct LicenceCountError;

/// Every licence is taken by an enabled member, pending invitations included (rule 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("all {licences} licences are in use; disable a member or buy more licences")]
pub struct NoFreeLicence {
    /// The licence count.
    pub licences: u32,
}

/// A licence count below the members enabled now (rule 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{enabled} members are enabled; disable some before lowering the licences below that")]
pub struct LicencesBelowEnabled {
    /// Enabled members now.
    pub enabled: u32,
}

impl Licences {
    /// A licence count: at least one (for the first admin), at most [`MAX_LICENCES`].
    ///
    /// # Errors
    /// [`LicenceCountError`] outside `1..=MAX_LICENCES`.
    pub fn new(count: u32) -> Result<Self, LicenceCountError> {
        if (1..=MAX_LICENCES).contains(&count) { Ok(Self(count)) } else { Err(LicenceCountError) }
    }

    /// The count.
    #[must_use]
    pub const fn count(self) -> u32 {
        self.0
    }

    /// Rule 1: one more enabled member (a new sub-user, a re-enabled one) needs a free
    /// licence.
    ///
    /// # Errors
    /// [`NoFreeLicence`] when every licence is held.
    pub fn ensure_free(self, counts: &MemberCounts) -> Result<(), NoFreeLicence> {
        if counts.enabled < self.0 { Ok(()) } else { Err(NoFreeLicence { licences: self.0 }) }
    }

    /// Rule 1: the count never goes below the members enabled now.
    ///
    /// # Errors
    /// [`LicencesBelowEnabled`] when fewer licences than enabled members.
    pub fn ensure_covers(self, counts: &MemberCounts) -> Result<(), LicencesBelowEnabled> {
        if self.0 >= counts.enabled {
            Ok(())
        } else {
            Err(LicencesBelowEnabled { enabled: counts.enabled })
        }
    }
}

impl std::fmt::Display for Licences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
