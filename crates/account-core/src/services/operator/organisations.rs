//! Organisations, for support: create one with its first admin, list and read them, set licences,
//! plan and registration number.

use super::{Operator, OperatorError, OperatorService, validation};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::contact::{ContactAddress, ContactRoles};
use crate::domain::credits::{CreditKind, CreditPool};
use crate::domain::email::EmailAddress;
use crate::domain::mail::MailKind;
use crate::domain::member::{Member, Profile, Role};
use crate::domain::organisation::{CustomerInfo, Licences, Organisation};
use crate::domain::text::{OrganisationName, PersonName, PlanName, RegistrationNumber};
use crate::error::ValidationErrors;
use crate::ids::OrganisationId;
use crate::ports::{MemberCounts, Page, StoreError, UniqueKey};
use crate::services::auth::check_new_password;
use crate::services::credits::{PoolOverview, pool_overview};
use crate::services::team::invite_member;
use crate::services::templates;

/// A new organisation with its first admin.
#[derive(Debug, Clone)]
pub struct NewOrganisation {
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
    /// A first password for the admin; without one, the admin gets an invitation.
    pub admin_password: Option<String>,
}

/// A created organisation.
#[derive(Debug)]
pub struct CreatedOrganisation {
    /// The organisation.
    pub organisation: Organisation,
    /// Its first admin.
    pub admin: Member,
}

/// An organisation as support sees it.
#[derive(Debug, Clone)]
pub struct OrganisationDetail {
    /// The organisation.
    pub organisation: Organisation,
    /// Member counts.
    pub counts: MemberCounts,
    /// Its pools.
    pub pools: Vec<PoolOverview>,
}

impl OperatorService<'_> {
    /// Creates an organisation, its four empty pools, its first admin (invited, or with the
    /// given password) and its sole contact address (the admin's, verified, all roles).
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn create_organisation(
        &self,
        _op: &Operator,
        new: &NewOrganisation,
    ) -> Result<CreatedOrganisation, OperatorError> {
        let ctx = self.ctx;
        let mut e = ValidationErrors::new();
        let name = e.check("name", OrganisationName::parse(&new.name));
        let number =
            e.check("registration_number", RegistrationNumber::parse(&new.registration_number));
        let plan = e.check("plan", PlanName::parse(&new.plan));
        let licences = e.check("licences", Licences::new(new.licences));
        let first = e.check("admin_first_name", PersonName::parse(&new.admin_first_name));
        let last = e.check_opt(
            "admin_last_name",
            new.admin_last_name.as_deref().filter(|s| !s.trim().is_empty()).map(PersonName::parse),
        );
        let email = e.check("admin_email", EmailAddress::parse(&new.admin_email));
        let (
            Some(name),
            Some(number),
            Some(plan),
            Some(licences),
            Some(first),
            Some(last),
            Some(email),
        ) = (name, number, plan, licences, first, last, email)
        else {
            return Err(OperatorError::Validation(e));
        };
        let now = ctx.now();
        let org = Organisation {
            id: ctx.new_id(),
            name,
            registration_number: number,
            plan,
            licences,
            customer_info: CustomerInfo::default(),
            customer_info_version: 1,
            created_at: now,
        };
        let mut tx = ctx.ports.store.write().await?;
        tx.organisations().insert(&org).await?;
        for kind in CreditKind::ALL {
            tx.credits().insert_pool(&CreditPool::empty(org.id, kind)).await?;
        }
        let profile = Profile::named(first, last);
        let (mut admin, token) = match invite_member(
            ctx,
            tx.as_mut(),
            &org,
            Role::Admin,
            email.clone(),
            profile,
        )
        .await
        {
            Ok(done) => done,
            Err(StoreError::Conflict(UniqueKey::LoginEmail)) => {
                return Err(OperatorError::EmailTaken);
            }
            Err(other) => return Err(other.into()),
        };
        if let Some(password) = &new.admin_password {
            let password = check_new_password(password, &admin, "admin_password")
                .map_err(OperatorError::Validation)?;
            admin.password = Some(ctx.ports.passwords.hash(&password).await?);
            admin.invitation = None;
            tx.members().update(&admin).await?;
        } else {
            let expires_at = admin.invitation.as_ref().map_or(now, |i| i.expires_at);
            let mail = templates::invitation(
                &ctx.settings,
                &admin.email,
                &admin.profile.display_name(),
                org.name.as_str(),
                &token.reveal(),
                expires_at,
            );
            ctx.send_mail(tx.as_mut(), MailKind::Invitation, &mail).await?;
        }
        let contact = ContactAddress {
            id: ctx.new_id(),
            org_id: org.id,
            email,
            verified_at: Some(now),
            roles: ContactRoles::ALL,
            pending: None,
            created_at: now,
        };
        tx.contacts().insert(&contact).await?;
        self.audit(
            tx.as_mut(),
            Some(org.id),
            AuditAction::OrganisationCreated,
            AuditTarget::Organisation(org.id),
            format!("licences={}", org.licences),
        )
        .await?;
        self.audit(
            tx.as_mut(),
            Some(org.id),
            AuditAction::MemberAdded,
            AuditTarget::Member(admin.id),
            "role=admin".into(),
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedOrganisation { organisation: org, admin })
    }

    /// Organisations by id.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_organisations(
        &self,
        _op: &Operator,
        page: Page<OrganisationId>,
    ) -> Result<Vec<Organisation>, OperatorError> {
        let mut tx = self.ctx.ports.store.read().await?;
        Ok(tx.organisations().list(page).await?)
    }

    /// One organisation with counts and pools.
    ///
    /// # Errors
    /// [`OperatorError::OrganisationNotFound`].
    pub async fn organisation(
        &self,
        _op: &Operator,
        id: OrganisationId,
    ) -> Result<OrganisationDetail, OperatorError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let organisation =
            tx.organisations().get(id).await?.ok_or(OperatorError::OrganisationNotFound)?;
        let counts = tx.members().counts(id).await?;
        let pools = pool_overview(tx.as_mut(), id).await?;
        Ok(OrganisationDetail { organisation, counts, pools })
    }

    /// Sets the licence count; never below the enabled members (rule 1).
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn set_licences(
        &self,
        _op: &Operator,
        id: OrganisationId,
        licences: u32,
    ) -> Result<Organisation, OperatorError> {
        let licences = Licences::new(licences).map_err(|e| validation("licences", e))?;
        let mut tx = self.ctx.ports.store.write().await?;
        let mut org = self.lock_org(tx.as_mut(), id).await?;
        let counts = tx.members().counts(id).await?;
        licences
            .ensure_covers(&counts)
            .map_err(|e| OperatorError::LicencesBelowEnabled { enabled: e.enabled })?;
        let before = org.licences;
        org.licences = licences;
        tx.organisations().update(&org).await?;
        self.audit(
            tx.as_mut(),
            Some(id),
            AuditAction::LicencesChanged,
            AuditTarget::Organisation(id),
            format!("from={before} to={licences}"),
        )
        .await?;
        tx.commit().await?;
        Ok(org)
    }

    /// Sets the plan.
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn set_plan(
        &self,
        _op: &Operator,
        id: OrganisationId,
        plan: &str,
    ) -> Result<Organisation, OperatorError> {
        let plan = PlanName::parse(plan).map_err(|e| validation("plan", e))?;
        let mut tx = self.ctx.ports.store.write().await?;
        let mut org = self.lock_org(tx.as_mut(), id).await?;
        org.plan = plan;
        tx.organisations().update(&org).await?;
        self.audit(
            tx.as_mut(),
            Some(id),
            AuditAction::PlanChanged,
            AuditTarget::Organisation(id),
            format!("plan={}", org.plan),
        )
        .await?;
        tx.commit().await?;
        Ok(org)
    }

    /// Changes the registration number (a transfer).
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn change_registration_number(
        &self,
        _op: &Operator,
        id: OrganisationId,
        number: &str,
    ) -> Result<Organisation, OperatorError> {
        let number =
            RegistrationNumber::parse(number).map_err(|e| validation("registration_number", e))?;
        let mut tx = self.ctx.ports.store.write().await?;
        let mut org = self.lock_org(tx.as_mut(), id).await?;
        org.registration_number = number;
        tx.organisations().update(&org).await?;
        self.audit(
            tx.as_mut(),
            Some(id),
            AuditAction::RegistrationNumberChanged,
            AuditTarget::Organisation(id),
            String::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(org)
    }
}
