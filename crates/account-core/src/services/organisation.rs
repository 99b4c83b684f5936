//! The organisation page's customer info (versioned like a profile). The registration number
//! is read-only here: only support changes it.

use super::common::{Denied, acting_admin, locked_admin, op_error, session_only};
use super::profile::AccessError;
use super::team::lock_organisation;
use super::{Actor, Context};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::organisation::{CustomerInfo, Organisation};
use crate::domain::text::{CompanyName, FullName, PostalAddress, PurchaseOrderNumber};
use crate::error::{InternalError, ValidationErrors};

/// Saving customer info failed.
#[derive(Debug, thiserror::Error)]
pub enum SaveCustomerInfoError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// It changed since the caller read it.
    #[error("the customer info was changed by someone else (now version {current}); reload it")]
    StaleVersion {
        /// The version now stored.
        current: u64,
    },
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(SaveCustomerInfoError);

/// Customer info as sent; empty fields clear the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerInfoInput {
    /// Contact person.
    pub contact_person: Option<String>,
    /// Postal address, line by line (blank lines are dropped; none clears it).
    pub postal_address: Vec<String>,
    /// Company name.
    pub company_name: Option<String>,
    /// Purchase-order number.
    pub purchase_order_number: Option<String>,
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|v| !v.trim().is_empty())
}

/// The organisation page.
#[derive(Debug)]
pub struct OrganisationService<'a> {
    ctx: &'a Context,
}

impl<'a> OrganisationService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// The caller's organisation (admins).
    ///
    /// # Errors
    /// [`AccessError`].
    pub async fn get(&self, actor: &Actor) -> Result<Organisation, AccessError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let admin = acting_admin(tx.as_mut(), actor).await?;
        Ok(tx.organisations().get(admin.org_id).await?.ok_or(Denied::NotActive)?)
    }

    /// Saves the customer info if `expected_version` is still current.
    ///
    /// # Errors
    /// [`SaveCustomerInfoError`].
    pub async fn save_customer_info(
        &self,
        actor: &Actor,
        input: &CustomerInfoInput,
        expected_version: u64,
    ) -> Result<Organisation, SaveCustomerInfoError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let mut e = ValidationErrors::new();
        let contact_person =
            e.check_opt("contact_person", present(&input.contact_person).map(FullName::parse));
        let postal_address = match PostalAddress::parse(&input.postal_address) {
            Ok(address) => Some(address),
            Err(err) => {
                e.push(&err.field("postal_address"), err);
                None
            }
        };
        let company_name =
            e.check_opt("company_name", present(&input.company_name).map(CompanyName::parse));
        let purchase_order_number = e.check_opt(
            "purchase_order_number",
            present(&input.purchase_order_number).map(PurchaseOrderNumber::parse),
        );
        let (
            Some(contact_person),
            Some(postal_address),
            Some(company_name),
            Some(purchase_order_number),
        ) = (contact_person, postal_address, company_name, purchase_order_number)
        else {
            return Err(SaveCustomerInfoError::Validation(e));
        };
        let mut tx = ctx.ports.store.write().await?;
        // Lock order: the organisation, then the admin.
        let mut org = lock_organisation(tx.as_mut(), actor.org()).await?;
        locked_admin(tx.as_mut(), actor, &[]).await?;
        if org.customer_info_version != expected_version {
            return Err(SaveCustomerInfoError::StaleVersion { current: org.customer_info_version });
        }
        org.customer_info =
            CustomerInfo { contact_person, postal_address, company_name, purchase_order_number };
        org.customer_info_version += 1;
        tx.organisations().update(&org).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::CustomerInfoUpdated,
            AuditTarget::Organisation(org.id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(org)
    }
}
