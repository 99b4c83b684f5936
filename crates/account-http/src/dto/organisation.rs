//! Bodies of the organisation page: the organisation, its customer info and contact addresses.

use account_core::domain::contact::ContactAddress;
use account_core::domain::organisation::Organisation as CoreOrganisation;
use account_core::services::organisation::CustomerInfoInput;
use poem_openapi::Object;
use uuid::Uuid;

use super::{ContactRole, Timestamp, page, ts};

/// An organisation (the "account").
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Organisation {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Organisation or personal number; read-only here (support changes it: a transfer).
    pub registration_number: String,
    /// Its licences per plan, in the order support set them.
    pub plans: Vec<PlanSeats>,
    /// How many members may be enabled at once: every plan's licences together.
    pub licences: u32,
    /// Customer info; read `/organisation/customer-info` for its ETag.
    pub customer_info: CustomerInfo,
    /// When it was created.
    pub created_at: Timestamp,
}

impl From<&CoreOrganisation> for Organisation {
    fn from(o: &CoreOrganisation) -> Self {
        Self {
            id: o.id.as_uuid(),
            name: o.name.as_str().to_owned(),
            registration_number: o.registration_number.as_str().to_owned(),
            plans: o
                .seats
                .plans()
                .iter()
                .map(|p| PlanSeats { plan: p.plan.as_str().to_owned(), licences: p.licences })
                .collect(),
            licences: o.seats.total(),
            customer_info: o.into(),
            created_at: o.created_at.into(),
        }
    }
}

/// One plan's licences.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct PlanSeats {
    /// The plan.
    pub plan: String,
    /// How many members on it may be enabled at once.
    pub licences: u32,
}

page!(
    /// A page of organisations.
    OrganisationPage,
    Organisation
);

/// Customer info (a full replacement on save: absent or empty fields clear the value).
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct CustomerInfo {
    /// The person to contact about the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_person: Option<String>,
    /// The postal address, one string per line (at most 6 lines of 100 characters; blank
    /// lines are dropped; absent or empty clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_address: Option<Vec<String>>,
    /// The company name used on invoices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// The purchase-order number printed on invoices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_order_number: Option<String>,
}

impl From<&CoreOrganisation> for CustomerInfo {
    fn from(o: &CoreOrganisation) -> Self {
        let c = &o.customer_info;
        Self {
            contact_person: c.contact_person.as_ref().map(|v| v.as_str().to_owned()),
            postal_address: c.postal_address.as_ref().map(|v| v.lines().to_vec()),
            company_name: c.company_name.as_ref().map(|v| v.as_str().to_owned()),
            purchase_order_number: c.purchase_order_number.as_ref().map(|v| v.as_str().to_owned()),
        }
    }
}

impl CustomerInfo {
    pub(crate) fn to_input(&self) -> CustomerInfoInput {
        CustomerInfoInput {
            contact_person: self.contact_person.clone(),
            postal_address: self.postal_address.clone().unwrap_or_default(),
            company_name: self.company_name.clone(),
            purchase_order_number: self.purchase_order_number.clone(),
        }
    }
}

/// A contact address of the organisation.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Contact {
    /// Its id.
    pub id: Uuid,
    /// The address.
    pub email: String,
    /// True once its code was entered.
    pub verified: bool,
    /// When it was verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub verified_at: Option<Timestamp>,
    /// Roles it holds (none while unverified).
    pub roles: Vec<ContactRole>,
    /// While unverified: when the code sent last stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub code_expires_at: Option<Timestamp>,
    /// When it was added.
    pub created_at: Timestamp,
}

impl From<&ContactAddress> for Contact {
    fn from(c: &ContactAddress) -> Self {
        Self {
            id: c.id.as_uuid(),
            email: c.email.as_str().to_owned(),
            verified: c.is_verified(),
            verified_at: ts(c.verified_at),
            roles: c.roles.roles().into_iter().map(Into::into).collect(),
            code_expires_at: c.pending.as_ref().map(|p| p.expires_at.into()),
            created_at: c.created_at.into(),
        }
    }
}

page!(
    /// A page of contact addresses.
    ContactPage,
    Contact
);

/// A contact address to add; a code is sent to it.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct AddContactRequest {
    /// The address.
    pub email: String,
}

/// The roles a verified address should hold (replacing its roles).
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct SetRolesRequest {
    /// The roles.
    pub roles: Vec<ContactRole>,
}
