//! Organisations, for support: create one with its first admin, list and read them, set their
//! licences per plan (rule 23) and registration number.

use super::{Operator, OperatorError, OperatorService, validation};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::contact::{ContactAddress, ContactRoles};
use crate::domain::credits::{CreditKind, CreditPool};
use crate::domain::email::EmailAddress;
use crate::domain::mail::MailKind;
use crate::domain::member::{Member, Profile, Role};
use crate::domain::organisation::{CustomerInfo, Licences, Organisation, PlanSeats, Seats};
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
    /// Its first plan, which the admin's seat takes.
    pub plan: String,
    /// The plan's licences (at least 1, for the admin); support may split them among more
    /// plans later ([`OperatorService::set_seats`]).
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
            seats: Seats::single(plan.clone(), licences),
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
            (Role::Admin, plan),
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
            format!("seats={}", org.seats),
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

    /// Replaces an organisation's licences per plan (rule 23). Each plan keeps at least as
    /// many licences as members enabled on it; a plan that members are on stays, unless a new
    /// plan `replaces` it: its members then move to the new plan in the same unit (how support
    /// renames a plan, or upgrades a whole team).
    ///
    /// # Errors
    /// [`OperatorError`]: invalid plans (each named), no such organisation, or
    /// [`OperatorError::SeatsBelowMembers`].
    pub async fn set_seats(
        &self,
        _op: &Operator,
        id: OrganisationId,
        plans: &[NewPlanSeats],
    ) -> Result<Organisation, OperatorError> {
        let (seats, replaces) = parse_seats(plans)?;
        let mut tx = self.ctx.ports.store.write().await?;
        let mut org = self.lock_org(tx.as_mut(), id).await?;
        let before = std::mem::replace(&mut org.seats, seats);
        for (i, to, from) in &replaces {
            let Some(from) = before.find(from) else {
                let field = format!("plans[{i}].replaces");
                return Err(validation(&field, "is not one of the organisation's plans"));
            };
            if org.seats.plans().iter().any(|p| p.plan == from.plan) {
                let field = format!("plans[{i}].replaces");
                return Err(validation(&field, "names a plan that stays; leave it out"));
            }
            let moved = tx.members().move_to_plan(id, &from.plan, to).await?;
            self.audit(
                tx.as_mut(),
                Some(id),
                AuditAction::PlanChanged,
                AuditTarget::Organisation(id),
                format!("from={} to={to} members={moved}", from.plan),
            )
            .await?;
        }
        org.seats.ensure_covers(&tx.members().counts(id).await?)?;
        tx.organisations().update(&org).await?;
        self.audit(
            tx.as_mut(),
            Some(id),
            AuditAction::LicencesChanged,
            AuditTarget::Organisation(id),
            format!("from={before} to={}", org.seats),
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

/// One plan's licences as support sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlanSeats {
    /// The plan's name.
    pub plan: String,
    /// Its licences.
    pub licences: u32,
    /// A plan of the organisation whose members move to this one (it then goes).
    pub replaces: Option<String>,
}

/// A new plan that replaces an old one: its index in the request, its name, the old name as
/// sent.
type Replacement = (usize, PlanName, String);

/// The seats support sent, checked, and which new plans replace old ones.
fn parse_seats(plans: &[NewPlanSeats]) -> Result<(Seats, Vec<Replacement>), OperatorError> {
    let mut e = ValidationErrors::new();
    let mut parsed = Vec::with_capacity(plans.len());
    let mut replaces = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        if let Some(plan) = e.check(&format!("plans[{i}].plan"), PlanName::parse(&p.plan)) {
            if let Some(from) = p.replaces.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
                replaces.push((i, plan.clone(), from.to_owned()));
            }
            parsed.push(PlanSeats { plan, licences: p.licences });
        }
    }
    e.finish().map_err(OperatorError::Validation)?;
    let seats = Seats::new(parsed).map_err(|err| validation(&err.field, err.message))?;
    Ok((seats, replaces))
}
