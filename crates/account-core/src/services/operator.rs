//! What support staff do with the operator credential: create organisations, set licences
//! and plan, grant and expire credits, rename usernames (rule 7), rotate and revoke API keys,
//! change registration numbers, and manage the products catalogue. One error enum serves
//! the operator's operations.

use super::api_keys::{CreatedApiKey, issue_key};
use super::auth::check_new_password;
use super::credits::{PoolOverview, ledger_entry, lock_pool, pool_overview};
use super::idempotency::Scope;
use super::team::invite_member;
use super::{Context, templates};
use crate::domain::audit::{AuditAction, AuditTarget, Principal};
use crate::domain::contact::{ContactAddress, ContactRoles};
use crate::domain::credits::{CreditAmount, CreditKind, CreditPool, EntryType};
use crate::domain::email::EmailAddress;
use crate::domain::idempotency::{IdempotencyKey, KeyConflict, Outcome};
use crate::domain::mail::MailKind;
use crate::domain::member::{Member, Profile, Role};
use crate::domain::organisation::{CustomerInfo, Licences, Organisation};
use crate::domain::products::{Product, ProductName};
use crate::domain::session::ApiKey;
use crate::domain::text::{OrganisationName, PersonName, PlanName, Reason, RegistrationNumber};
use crate::domain::username::Username;
use crate::error::{InternalError, ValidationErrors};
use crate::ids::{ApiKeyId, LedgerEntryId, MemberId, OrganisationId, ProductId};
use crate::ports::{MemberCounts, Page, StoreError, Tx, UniqueKey};

/// Support staff, authenticated by the operator credential of the server's configuration.
/// The name labels logs; the audit log records [`Principal::Operator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    name: String,
}

impl Operator {
    /// An operator known as `name` (for example `cli` or `api`).
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self { name: name.to_owned() }
    }

    /// The operator's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// An operator operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// No such organisation.
    #[error("no such organisation")]
    OrganisationNotFound,
    /// No such member.
    #[error("no such member")]
    MemberNotFound,
    /// No such API key.
    #[error("no such API key")]
    ApiKeyNotFound,
    /// No such catalogue entry.
    #[error("no such product")]
    ProductNotFound,
    /// The email is already someone's login.
    #[error("this email address is already used by an account")]
    EmailTaken,
    /// The username is taken.
    #[error("this username is taken")]
    UsernameTaken,
    /// A catalogue entry has this name.
    #[error("a product with this name exists")]
    ProductNameTaken,
    /// Fewer licences than enabled members (rule 1).
    #[error("{enabled} members are enabled; disable some before lowering the licences below that")]
    LicencesBelowEnabled {
        /// Enabled members now.
        enabled: u32,
    },
    /// Not enough unallocated credits to expire.
    #[error("only {available} {kind} credits are unallocated", kind = .kind.as_str())]
    InsufficientHeadroom {
        /// The kind.
        kind: CreditKind,
        /// Unallocated credits.
        available: i64,
    },
    /// The Idempotency-Key cannot be used for this request.
    #[error(transparent)]
    IdempotencyKey(KeyConflict),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}

impl From<KeyConflict> for OperatorError {
    fn from(e: KeyConflict) -> Self {
        Self::IdempotencyKey(e)
    }
}

impl From<StoreError> for OperatorError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<crate::ports::HashError> for OperatorError {
    fn from(e: crate::ports::HashError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<super::common::Failure> for OperatorError {
    fn from(f: super::common::Failure) -> Self {
        match f {
            super::common::Failure::Internal(i) => Self::Internal(i),
            super::common::Failure::Denied(_) => Self::OrganisationNotFound,
        }
    }
}

fn validation(field: &str, e: impl std::fmt::Display) -> OperatorError {
    OperatorError::Validation(ValidationErrors::single(field, e))
}

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

/// A pool after a grant or an expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolChange {
    /// The pool afterwards.
    pub pool: CreditPool,
    /// The ledger entry written.
    pub entry_id: LedgerEntryId,
    /// True when this is the replay of an earlier call with the same Idempotency-Key.
    pub replayed: bool,
}

/// What support staff do.
#[derive(Debug)]
pub struct OperatorService<'a> {
    ctx: &'a Context,
}

impl<'a> OperatorService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    async fn audit(
        &self,
        tx: &mut dyn Tx,
        org: Option<OrganisationId>,
        action: AuditAction,
        target: AuditTarget,
        detail: String,
    ) -> Result<(), StoreError> {
        self.ctx.audit(tx, org, Principal::Operator, None, action, target, detail).await
    }

    async fn lock_org(
        &self,
        tx: &mut dyn Tx,
        id: OrganisationId,
    ) -> Result<Organisation, OperatorError> {
        tx.organisations().lock(id).await?.ok_or(OperatorError::OrganisationNotFound)
    }

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

    /// Adds credits to a pool (billing's effect). With an idempotency key, a retry of the
    /// same request replays the first outcome.
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn grant_credits(
        &self,
        _op: &Operator,
        id: OrganisationId,
        (kind, amount, reason): (CreditKind, i64, &str),
        key: Option<&IdempotencyKey>,
    ) -> Result<PoolChange, OperatorError> {
        self.change_pool(id, (kind, amount, reason), key, EntryType::Grant).await
    }

    /// Removes unallocated credits from a pool. With an idempotency key, a retry of the same
    /// request replays the first outcome.
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn expire_credits(
        &self,
        _op: &Operator,
        id: OrganisationId,
        (kind, amount, reason): (CreditKind, i64, &str),
        key: Option<&IdempotencyKey>,
    ) -> Result<PoolChange, OperatorError> {
        self.change_pool(id, (kind, amount, reason), key, EntryType::Expire).await
    }

    async fn change_pool(
        &self,
        id: OrganisationId,
        (kind, amount, reason): (CreditKind, i64, &str),
        key: Option<&IdempotencyKey>,
        entry_type: EntryType,
    ) -> Result<PoolChange, OperatorError> {
        let ctx = self.ctx;
        let mut e = ValidationErrors::new();
        let amount = e.check("amount", CreditAmount::new(amount));
        let reason = e.check("reason", Reason::parse(reason));
        let (Some(amount), Some(reason)) = (amount, reason) else {
            return Err(OperatorError::Validation(e));
        };
        let operation = match entry_type {
            EntryType::Grant => "grantCredits",
            _ => "expireCredits",
        };
        let keyed = ctx.keyed(
            key,
            Scope::Operator(operation),
            &[&id.to_string(), kind.as_str(), &amount.get().to_string(), reason.as_str()],
        );
        let mut tx = ctx.ports.store.write().await?;
        // Lock order: the key, then the pool. The organisation is only read: organisations
        // are never deleted.
        if let Some(keyed) = &keyed
            && let Some(outcome) = ctx.reserve::<OperatorError>(tx.as_mut(), keyed).await?
        {
            let Outcome::PoolChanged { pool, entry } = outcome else {
                return Err(KeyConflict::Reused.into());
            };
            return Ok(PoolChange { pool, entry_id: entry, replayed: true });
        }
        tx.organisations().get(id).await?.ok_or(OperatorError::OrganisationNotFound)?;
        let mut pool = lock_pool(tx.as_mut(), id, kind).await?;
        let n = amount.get();
        if entry_type == EntryType::Grant {
            pool.grant(amount);
        } else {
            pool.expire(amount).map_err(|short| OperatorError::InsufficientHeadroom {
                kind,
                available: short.available,
            })?;
        }
        tx.credits().update_pool(&pool).await?;
        let entry = ledger_entry(
            ctx,
            (Principal::Operator, None),
            &pool,
            entry_type,
            n,
            None,
            Some(reason),
            None,
        );
        tx.credits().append(&entry).await?;
        let action = if entry_type == EntryType::Grant {
            AuditAction::CreditsGranted
        } else {
            AuditAction::CreditsExpired
        };
        self.audit(
            tx.as_mut(),
            Some(id),
            action,
            AuditTarget::CreditPool(kind),
            format!("kind={} amount={n}", kind.as_str()),
        )
        .await?;
        let outcome = Outcome::PoolChanged { pool, entry: entry.id };
        ctx.complete(tx.as_mut(), keyed.as_ref(), &outcome).await?;
        tx.commit().await?;
        Ok(PoolChange { pool, entry_id: entry.id, replayed: false })
    }

    /// Finds a member by login email or username.
    ///
    /// # Errors
    /// [`OperatorError::MemberNotFound`].
    pub async fn find_member(
        &self,
        _op: &Operator,
        email_or_username: &str,
    ) -> Result<Member, OperatorError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let found = match EmailAddress::parse(email_or_username) {
            Ok(email) => tx.members().find_by_email(&email).await?,
            Err(_) => match Username::parse(email_or_username) {
                Ok(username) => tx.members().find_by_username(&username).await?,
                Err(_) => None,
            },
        };
        found.ok_or(OperatorError::MemberNotFound)
    }

    /// Renames a member's username (rule 7: support only).
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn rename_username(
        &self,
        _op: &Operator,
        id: MemberId,
        username: &str,
    ) -> Result<Member, OperatorError> {
        let username = Username::parse(username).map_err(|e| validation("username", e))?;
        let mut tx = self.ctx.ports.store.write().await?;
        let mut member = tx.members().lock(id).await?.ok_or(OperatorError::MemberNotFound)?;
        if member.username == username {
            return Ok(member);
        }
        if tx.members().find_by_username(&username).await?.is_some() {
            return Err(OperatorError::UsernameTaken);
        }
        member.username = username;
        match tx.members().update(&member).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueKey::Username)) => {
                return Err(OperatorError::UsernameTaken);
            }
            Err(other) => return Err(other.into()),
        }
        self.audit(
            tx.as_mut(),
            Some(member.org_id),
            AuditAction::UsernameChanged,
            AuditTarget::Member(id),
            String::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(member)
    }

    /// A member's API keys.
    ///
    /// # Errors
    /// [`OperatorError::MemberNotFound`].
    pub async fn api_keys(
        &self,
        _op: &Operator,
        member: MemberId,
    ) -> Result<Vec<ApiKey>, OperatorError> {
        let mut tx = self.ctx.ports.store.read().await?;
        tx.members().get(member).await?.ok_or(OperatorError::MemberNotFound)?;
        Ok(tx.api_keys().list_for_member(member).await?)
    }

    /// Regenerates a member's API key: the old one stops working; the new secret is returned
    /// once, for support to hand over.
    ///
    /// # Errors
    /// [`OperatorError::ApiKeyNotFound`].
    pub async fn rotate_api_key(
        &self,
        _op: &Operator,
        id: ApiKeyId,
    ) -> Result<CreatedApiKey, OperatorError> {
        let mut tx = self.ctx.ports.store.write().await?;
        let old = tx.api_keys().get(id).await?.ok_or(OperatorError::ApiKeyNotFound)?;
        // The key's owner must still exist when the new key is issued: locked until the end.
        let member =
            tx.members().lock(old.member_id).await?.ok_or(OperatorError::MemberNotFound)?;
        tx.api_keys().delete(id).await?;
        let created = issue_key(self.ctx, tx.as_mut(), &member, old.label).await?;
        self.audit(
            tx.as_mut(),
            Some(member.org_id),
            AuditAction::ApiKeyRotated,
            AuditTarget::ApiKey(id),
            format!("new={}", created.key.id),
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Revokes an API key.
    ///
    /// # Errors
    /// [`OperatorError::ApiKeyNotFound`].
    pub async fn revoke_api_key(&self, _op: &Operator, id: ApiKeyId) -> Result<(), OperatorError> {
        let mut tx = self.ctx.ports.store.write().await?;
        let key = tx.api_keys().get(id).await?.ok_or(OperatorError::ApiKeyNotFound)?;
        tx.api_keys().delete(id).await?;
        self.audit(
            tx.as_mut(),
            Some(key.org_id),
            AuditAction::ApiKeyRevoked,
            AuditTarget::ApiKey(id),
            String::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every catalogue entry, active or not.
    ///
    /// # Errors
    /// Store failures.
    pub async fn products(&self, _op: &Operator) -> Result<Vec<Product>, OperatorError> {
        let mut tx = self.ctx.ports.store.read().await?;
        Ok(tx.catalogue().list().await?)
    }

    /// Adds a catalogue entry.
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn create_product(
        &self,
        _op: &Operator,
        name: &str,
    ) -> Result<Product, OperatorError> {
        let name = ProductName::parse(name).map_err(|e| validation("name", e))?;
        let mut tx = self.ctx.ports.store.write().await?;
        if tx.catalogue().list().await?.iter().any(|p| p.name.key() == name.key()) {
            return Err(OperatorError::ProductNameTaken);
        }
        let product =
            Product { id: self.ctx.new_id(), name, active: true, created_at: self.ctx.now() };
        match tx.catalogue().insert(&product).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueKey::ProductName)) => {
                return Err(OperatorError::ProductNameTaken);
            }
            Err(other) => return Err(other.into()),
        }
        self.audit(
            tx.as_mut(),
            None,
            AuditAction::ProductCreated,
            AuditTarget::Product(product.id),
            String::new(),
        )
        .await?;
        tx.commit().await?;
        Ok(product)
    }

    /// Renames or (de)activates a catalogue entry.
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn update_product(
        &self,
        _op: &Operator,
        id: ProductId,
        name: Option<&str>,
        active: Option<bool>,
    ) -> Result<Product, OperatorError> {
        let name = name.map(ProductName::parse).transpose().map_err(|e| validation("name", e))?;
        let mut tx = self.ctx.ports.store.write().await?;
        let mut product = tx.catalogue().get(id).await?.ok_or(OperatorError::ProductNotFound)?;
        if let Some(name) = name {
            if tx.catalogue().list().await?.iter().any(|p| p.id != id && p.name.key() == name.key())
            {
                return Err(OperatorError::ProductNameTaken);
            }
            product.name = name;
        }
        if let Some(active) = active {
            product.active = active;
        }
        match tx.catalogue().update(&product).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueKey::ProductName)) => {
                return Err(OperatorError::ProductNameTaken);
            }
            Err(other) => return Err(other.into()),
        }
        self.audit(
            tx.as_mut(),
            None,
            AuditAction::ProductUpdated,
            AuditTarget::Product(id),
            format!("active={}", product.active),
        )
        .await?;
        tx.commit().await?;
        Ok(product)
    }
}
