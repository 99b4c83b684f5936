//! Contact addresses (rule 15): add (a code is sent), verify, change roles, remove; every role
//! stays held by a verified address. One error enum serves these operations, which share
//! their failure modes.

use super::common::{
    Denied, Failure, acting_admin, locked_admin, op_error, session_only, throttled,
};
use super::limits::{contact_code_tries, mails_by_member, mails_to};
use super::team::lock_organisation;
use super::{Actor, Context, templates};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::contact::{ContactAddress, ContactRole, ContactRoles, unheld_roles};
use crate::domain::email::EmailAddress;
use crate::domain::limits::{Budget, Exhausted};
use crate::domain::mail::MailKind;
use crate::domain::organisation::Organisation;
use crate::domain::verification::{CodeError, PendingCode, ResendError};
use crate::error::{InternalError, ValidationErrors};
use crate::ids::ContactId;
use crate::ports::{StoreError, Tx, UniqueKey};

/// Most contact addresses one organisation may have.
pub const MAX_CONTACTS: usize = 20;

/// A contact operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// No such address in the caller's organisation.
    #[error("no such contact address")]
    NotFound,
    /// The organisation already has this address.
    #[error("this address is already a contact address")]
    AlreadyExists,
    /// The organisation has the most addresses allowed.
    #[error("an organisation may have at most {max} contact addresses")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// Already verified: no code to enter or resend.
    #[error("this address is already verified")]
    AlreadyVerified,
    /// Roles need a verified address.
    #[error("verify this address with its code before giving it roles")]
    NotVerified,
    /// The change would leave these roles without a verified address.
    #[error("no other verified address holds the role(s): {}", roles_list(.roles))]
    RolesUnheld {
        /// The roles that would be left unheld.
        roles: Vec<ContactRole>,
    },
    /// The code was not accepted.
    #[error(transparent)]
    Code(CodeError),
    /// No new code was sent.
    #[error(transparent)]
    Resend(ResendError),
    /// Too many codes tried or mails sent (rule 24).
    #[error(transparent)]
    Throttled(Exhausted),
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(ContactError);
throttled!(ContactError);

fn roles_list(roles: &[ContactRole]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
}

/// Contact addresses.
#[derive(Debug)]
pub struct ContactService<'a> {
    ctx: &'a Context,
}

impl<'a> ContactService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// The organisation's addresses (admins).
    ///
    /// # Errors
    /// Access errors.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<ContactAddress>, ContactError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let admin = acting_admin(tx.as_mut(), actor).await?;
        Ok(tx.contacts().list(admin.org_id).await?)
    }

    async fn begin(
        &self,
        actor: &Actor,
    ) -> Result<(Box<dyn Tx>, Organisation, Vec<ContactAddress>), ContactError> {
        session_only(actor)?;
        let mut tx = self.ctx.ports.store.write().await?;
        // Lock order: the organisation (its contacts change under it), then the admin.
        let org = lock_organisation(tx.as_mut(), actor.org()).await?;
        locked_admin(tx.as_mut(), actor, &[]).await?;
        let contacts = tx.contacts().list(org.id).await?;
        Ok((tx, org, contacts))
    }

    /// Adds an address and sends it a verification code; it holds no role until verified.
    ///
    /// # Errors
    /// [`ContactError`].
    pub async fn add(&self, actor: &Actor, email: &str) -> Result<ContactAddress, ContactError> {
        let ctx = self.ctx;
        let email = EmailAddress::parse(email)
            .map_err(|e| ContactError::Validation(ValidationErrors::single("email", e)))?;
        let (mut tx, org, contacts) = self.begin(actor).await?;
        if contacts.iter().any(|c| c.email.same_as(&email)) {
            return Err(ContactError::AlreadyExists);
        }
        if contacts.len() >= MAX_CONTACTS {
            return Err(ContactError::TooMany { max: MAX_CONTACTS });
        }
        let now = ctx.now();
        let mut contact = ContactAddress {
            id: ctx.new_id(),
            org_id: actor.org(),
            email,
            verified_at: None,
            roles: ContactRoles::NONE,
            pending: None,
            created_at: now,
        };
        let (pending, code) = PendingCode::issue(
            now,
            &contact.code_context(),
            ctx.ports.random.as_ref(),
            ctx.ports.keyring.as_ref(),
        );
        contact.pending = Some(pending);
        match tx.contacts().insert(&contact).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueKey::ContactEmail)) => {
                return Err(ContactError::AlreadyExists);
            }
            Err(other) => return Err(other.into()),
        }
        ctx.take(tx.as_mut(), &code_mail_budgets(ctx, actor, &contact)).await??;
        send_code(ctx, tx.as_mut(), &org, &contact, &code).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::ContactAdded,
            AuditTarget::Contact(contact.id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Sends a new code to an unverified address; the old one stops working.
    ///
    /// # Errors
    /// [`ContactError`]; once exhausted, remove the address and add it again.
    pub async fn resend_code(
        &self,
        actor: &Actor,
        id: ContactId,
    ) -> Result<ContactAddress, ContactError> {
        let ctx = self.ctx;
        let (mut tx, org, contacts) = self.begin(actor).await?;
        let mut contact = find(contacts, id)?;
        let Some(old) = contact.pending.as_ref().filter(|_| !contact.is_verified()) else {
            return Err(ContactError::AlreadyVerified);
        };
        let (pending, code) = old
            .reissue(
                ctx.now(),
                &contact.code_context(),
                ctx.ports.random.as_ref(),
                ctx.ports.keyring.as_ref(),
            )
            .map_err(ContactError::Resend)?;
        contact.pending = Some(pending);
        tx.contacts().update(&contact).await?;
        ctx.take(tx.as_mut(), &code_mail_budgets(ctx, actor, &contact)).await??;
        send_code(ctx, tx.as_mut(), &org, &contact, &code).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::ContactCodeResent,
            AuditTarget::Contact(id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Verifies an address with its code. A wrong code is counted even though an error is
    /// returned.
    ///
    /// # Errors
    /// [`ContactError`].
    pub async fn verify(
        &self,
        actor: &Actor,
        id: ContactId,
        code: &str,
    ) -> Result<ContactAddress, ContactError> {
        let ctx = self.ctx;
        let (mut tx, _, contacts) = self.begin(actor).await?;
        let mut contact = find(contacts, id)?;
        if contact.is_verified() {
            return Err(ContactError::AlreadyVerified);
        }
        let context = contact.code_context();
        // Rule 24: counted before it is checked, for this address across every time it is
        // added, so that removing and adding it again gives no new tries.
        let tries = contact_code_tries(ctx, contact.org_id, contact.email.as_str());
        ctx.take(tx.as_mut(), &[tries]).await??;
        let Some(pending) = contact.pending.as_mut() else {
            return Err(ContactError::Code(CodeError::TooManyTries));
        };
        if let Err(e) = pending.check(ctx.now(), &context, code, ctx.ports.keyring.as_ref()) {
            if e != CodeError::Expired {
                tx.contacts().update(&contact).await?;
                tx.commit().await?;
            }
            return Err(ContactError::Code(e));
        }
        contact.pending = None;
        contact.verified_at = Some(ctx.now());
        tx.contacts().update(&contact).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::ContactVerified,
            AuditTarget::Contact(id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Sets the roles of a verified address. Refused, naming the roles, if a role held now
    /// would be left without a verified address.
    ///
    /// # Errors
    /// [`ContactError`].
    pub async fn set_roles(
        &self,
        actor: &Actor,
        id: ContactId,
        roles: &[ContactRole],
    ) -> Result<ContactAddress, ContactError> {
        let ctx = self.ctx;
        let (mut tx, _, mut contacts) = self.begin(actor).await?;
        let before = unheld_roles(&contacts);
        let index = contacts.iter().position(|c| c.id == id).ok_or(ContactError::NotFound)?;
        if !contacts[index].is_verified() && !roles.is_empty() {
            return Err(ContactError::NotVerified);
        }
        contacts[index].roles = ContactRoles::from_roles(roles);
        check_coverage(&before, &contacts)?;
        let contact = contacts.swap_remove(index);
        tx.contacts().update(&contact).await?;
        let names = contact.roles.roles().iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",");
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::ContactRolesChanged,
            AuditTarget::Contact(id),
            format!("roles={names}"),
        )
        .await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Removes an address, unless a role it holds would be left without a verified address.
    ///
    /// # Errors
    /// [`ContactError`].
    pub async fn remove(&self, actor: &Actor, id: ContactId) -> Result<(), ContactError> {
        let ctx = self.ctx;
        let (mut tx, _, mut contacts) = self.begin(actor).await?;
        let before = unheld_roles(&contacts);
        let index = contacts.iter().position(|c| c.id == id).ok_or(ContactError::NotFound)?;
        contacts.swap_remove(index);
        check_coverage(&before, &contacts)?;
        tx.contacts().delete(id).await?;
        ctx.audit_by(tx.as_mut(), actor, AuditAction::ContactRemoved, AuditTarget::Contact(id), "")
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The budgets a code mail to `contact` spends: the address's and the admin's.
fn code_mail_budgets(ctx: &Context, actor: &Actor, contact: &ContactAddress) -> [Budget; 2] {
    [mails_to(ctx, contact.email.as_str()), mails_by_member(actor.member())]
}

fn find(contacts: Vec<ContactAddress>, id: ContactId) -> Result<ContactAddress, ContactError> {
    contacts.into_iter().find(|c| c.id == id).ok_or(ContactError::NotFound)
}

/// Refuses a change that leaves a role unheld which was held before it.
fn check_coverage(before: &[ContactRole], after: &[ContactAddress]) -> Result<(), ContactError> {
    let lost: Vec<ContactRole> =
        unheld_roles(after).into_iter().filter(|r| !before.contains(r)).collect();
    if lost.is_empty() { Ok(()) } else { Err(ContactError::RolesUnheld { roles: lost }) }
}

/// The code mail names the organisation, so that the recipient knows whose contact they are
/// asked to become. Not its registration number: for an individual that is a personal number,
/// and the address is not verified yet.
async fn send_code(
    ctx: &Context,
    tx: &mut dyn Tx,
    org: &Organisation,
    contact: &ContactAddress,
    code: &crate::domain::secret::VerificationCode,
) -> Result<(), Failure> {
    let purpose = format!(
        "This address was added as a contact address of the organisation \"{name}\". To \
         confirm it, enter this code:",
        name = org.name,
    );
    let mail = templates::code(
        &ctx.settings,
        &contact.email,
        "Please confirm your new address",
        &purpose,
        code,
    );
    ctx.send_mail(tx, MailKind::ContactVerification, &mail).await
}
