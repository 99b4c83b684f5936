//! Contact addresses (rule 15): addresses with billing, tech and DPO roles, verified by code
//! before they may hold a role; every role is always held by a verified address.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::email::EmailAddress;
use super::verification::PendingCode;
use crate::ids::{ContactId, OrganisationId};

/// A role a contact address can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    /// Receives invoices.
    Billing,
    /// Receives technical notices.
    Tech,
    /// The data protection officer.
    Dpo,
}

impl ContactRole {
    /// Every role.
    pub const ALL: [Self; 3] = [Self::Billing, Self::Tech, Self::Dpo];

    /// Stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Billing => "billing",
            Self::Tech => "tech",
            Self::Dpo => "dpo",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The set of roles an address holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ContactRoles {
    /// Billing.
    pub billing: bool,
    /// Tech.
    pub tech: bool,
    /// DPO.
    pub dpo: bool,
}

impl ContactRoles {
    /// No role.
    pub const NONE: Self = Self { billing: false, tech: false, dpo: false };
    /// Every role.
    pub const ALL: Self = Self { billing: true, tech: true, dpo: true };

    /// The set holding exactly `roles`.
    #[must_use]
    pub fn from_roles(roles: &[ContactRole]) -> Self {
        let has = |r| roles.contains(&r);
        Self {
            billing: has(ContactRole::Billing),
            tech: has(ContactRole::Tech),
            dpo: has(ContactRole::Dpo),
        }
    }

    /// True if `role` is in the set.
    #[must_use]
    pub const fn has(&self, role: ContactRole) -> bool {
        match role {
            ContactRole::Billing => self.billing,
            ContactRole::Tech => self.tech,
            ContactRole::Dpo => self.dpo,
        }
    }

    /// The roles in the set, in [`ContactRole::ALL`] order.
    #[must_use]
    pub fn roles(&self) -> Vec<ContactRole> {
        ContactRole::ALL.into_iter().filter(|r| self.has(*r)).collect()
    }
}

/// A contact address of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactAddress {
    /// Its id.
    pub id: ContactId,
    /// Its organisation.
    pub org_id: OrganisationId,
    /// The address; unique within the organisation, case-insensitively.
    pub email: EmailAddress,
    /// When the code was confirmed; `None` while unverified.
    pub verified_at: Option<DateTime<Utc>>,
    /// Roles held (always none while unverified).
    pub roles: ContactRoles,
    /// The code waiting to be entered, while unverified.
    pub pending: Option<PendingCode>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

impl ContactAddress {
    /// True once verified.
    #[must_use]
    pub const fn is_verified(&self) -> bool {
        self.verified_at.is_some()
    }

    /// The keyring context of this address's verification code.
    #[must_use]
    pub fn code_context(&self) -> String {
        format!("contact:{}", self.id)
    }
}

/// Roles that no verified address in `addresses` holds, in [`ContactRole::ALL`] order.
#[must_use]
pub fn unheld_roles<'a>(
    addresses: impl IntoIterator<Item = &'a ContactAddress> + Clone,
) -> Vec<ContactRole> {
    ContactRole::ALL
        .into_iter()
        .filter(|role| {
            !addresses.clone().into_iter().any(|a| a.is_verified() && a.roles.has(*role))
        })
        .collect()
}
