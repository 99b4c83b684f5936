//! The organisation (the "account" of the product pages): customer info, registration
//! number, plan and licence count.

use chrono::{DateTime, Utc};
use serde::Serialize;

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
    pub licences: u32,
    /// Customer information.
    pub customer_info: CustomerInfo,
    /// Version of the customer information, for `If-Match` (rule 6 applies to it too).
    pub customer_info_version: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The smallest licence count an operator may set: the first admin holds one.
pub const MIN_LICENCES: u32 = 1;
/// The largest licence count an operator may set.
pub const MAX_LICENCES: u32 = 100_000;
