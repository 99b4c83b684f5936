//! The caller's own account: profile (rules 5, 6), preferences (rule 19), products and
//! services (rule 20), password (rule 8) and deleting the account (rule 11).

use super::auth::{check_new_password, end_all_sessions};
use super::common::{
    Denied, acting_member, acting_member_and_organisation, locked_member, not_impersonating,
    op_error, session_only, throttled,
};
use super::credits::reclaim_unspent;
use super::limits::password_checks;
use super::{Actor, Context, templates};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::digest::{ScheduledDigest, next_monday_morning};
use crate::domain::limits::Exhausted;
use crate::domain::linkedin::LinkedInUrl;
use crate::domain::mail::MailKind;
use crate::domain::member::{Member, Profile};
use crate::domain::organisation::Organisation;
use crate::domain::password::PasswordAttempt;
use crate::domain::phone::PhoneNumber;
use crate::domain::preferences::{ExportDefaults, NotificationSettings, Preferences};
use crate::domain::products::{Offering, OfferingInput, Product, normalise_offerings};
use crate::domain::text::{CompanyName, JobTitle, PersonName, Reason};
use crate::domain::timezone::Timezone;
use crate::error::{InternalError, ValidationErrors};
use crate::ports::Tx;

/// A read the caller may be refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(AccessError);

/// Saving a profile failed.
#[derive(Debug, thiserror::Error)]
pub enum SaveProfileError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// The profile changed since the caller read it (rule 6): reload and re-apply.
    #[error("the profile was changed by someone else (now version {current}); reload it")]
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
op_error!(SaveProfileError);

/// Saving preferences or products failed.
#[derive(Debug, thiserror::Error)]
pub enum SetPreferencesError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(SetPreferencesError);

/// Saving products and services failed.
#[derive(Debug, thiserror::Error)]
pub enum SetOfferingsError {
    /// Entries are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(SetOfferingsError);

/// Changing the password failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// The current password is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// Too many password checks (rule 24); the password was not checked.
    #[error(transparent)]
    Throttled(Exhausted),
    /// The new password does not meet the policy.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// The caller may not (impersonating, API key).
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(ChangePasswordError);
throttled!(ChangePasswordError, DeleteAccountError);

/// Deleting the account failed.
#[derive(Debug, thiserror::Error)]
pub enum DeleteAccountError {
    /// The password or typed confirmation does not match.
    #[error("the confirmation does not match: give your password, or type your username")]
    ConfirmationFailed,
    /// The caller is the organisation's last enabled admin (rule 2).
    #[error("you are the last enabled admin; make another member admin first")]
    LastAdmin,
    /// Too many password checks (rule 24); the password was not checked.
    #[error(transparent)]
    Throttled(Exhausted),
    /// The caller may not (impersonating, API key).
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(DeleteAccountError);

/// Profile fields as sent: empty optional fields clear the value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileInput {
    /// First name (required).
    pub first_name: String,
    /// Last name.
    pub last_name: Option<String>,
    /// Phone, E.164.
    pub phone: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// LinkedIn URL.
    pub linkedin: Option<String>,
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|v| !v.trim().is_empty())
}

/// Validates every field at once, naming each bad one (rule 5).
pub(crate) fn parse_profile(input: &ProfileInput) -> Result<Profile, ValidationErrors> {
    let mut e = ValidationErrors::new();
    let first_name = e.check("first_name", PersonName::parse(&input.first_name));
    let last_name = e.check_opt("last_name", present(&input.last_name).map(PersonName::parse));
    let phone = e.check_opt("phone", present(&input.phone).map(PhoneNumber::parse));
    let company = e.check_opt("company", present(&input.company).map(CompanyName::parse));
    let job_title = e.check_opt("job_title", present(&input.job_title).map(JobTitle::parse));
    let linkedin = e.check_opt("linkedin", present(&input.linkedin).map(LinkedInUrl::parse));
    match (first_name, last_name, phone, company, job_title, linkedin) {
        (
            Some(first_name),
            Some(last_name),
            Some(phone),
            Some(company),
            Some(job_title),
            Some(linkedin),
        ) if e.is_empty() => {
            Ok(Profile { first_name, last_name, phone, company, job_title, linkedin })
        }
        _ => Err(e),
    }
}

/// Names of the profile fields that differ, for the audit log (never the values).
pub(crate) fn changed_fields(old: &Profile, new: &Profile) -> String {
    let mut fields = Vec::new();
    if old.first_name != new.first_name {
        fields.push("first_name");
    }
    if old.last_name != new.last_name {
        fields.push("last_name");
    }
    if old.phone != new.phone {
        fields.push("phone");
    }
    if old.company != new.company {
        fields.push("company");
    }
    if old.job_title != new.job_title {
        fields.push("job_title");
    }
    if old.linkedin != new.linkedin {
        fields.push("linkedin");
    }
    format!("fields={}", fields.join(","))
}

/// Preferences as sent (a full replacement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferencesInput {
    /// Notification switches.
    pub notifications: NotificationSettings,
    /// Export defaults.
    pub export: ExportDefaults,
    /// IANA time zone name.
    pub timezone: String,
}

/// How the caller confirms deleting their account.
#[derive(Clone)]
pub enum DeleteConfirmation {
    /// Their password.
    Password(String),
    /// Their username, typed out.
    TypedUsername(String),
}

impl std::fmt::Debug for DeleteConfirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(REDACTED)"),
            Self::TypedUsername(u) => f.debug_tuple("TypedUsername").field(u).finish(),
        }
    }
}

/// The caller and their organisation.
#[derive(Debug, Clone)]
pub struct Me {
    /// The member the caller acts as.
    pub member: Member,
    /// Their organisation.
    pub organisation: Organisation,
}

/// The caller's own account.
#[derive(Debug)]
pub struct ProfileService<'a> {
    ctx: &'a Context,
}

impl<'a> ProfileService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// The caller's member record and organisation. "Reset" on the profile page is this read.
    ///
    /// # Errors
    /// [`AccessError`].
    pub async fn me(&self, actor: &Actor) -> Result<Me, AccessError> {
        // Two rows read together: no transaction needed (and none to begin and end per
        // request).
        let mut tx = self.ctx.ports.store.lookup().await?;
        let (member, organisation) = acting_member_and_organisation(tx.as_mut(), actor).await?;
        Ok(Me { member, organisation })
    }

    /// Saves the profile if `expected_version` is still the stored one (rule 6).
    ///
    /// # Errors
    /// [`SaveProfileError`].
    pub async fn save_profile(
        &self,
        actor: &Actor,
        input: &ProfileInput,
        expected_version: u64,
    ) -> Result<Member, SaveProfileError> {
        session_only(actor)?;
        let profile = parse_profile(input).map_err(SaveProfileError::Validation)?;
        let mut tx = self.ctx.ports.store.write().await?;
        let member = locked_member(tx.as_mut(), actor).await?;
        let saved = store_profile::<SaveProfileError>(
            self.ctx,
            tx.as_mut(),
            actor,
            member,
            profile,
            expected_version,
        )
        .await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Replaces the preferences. A time-zone change applies from now on: a digest already
    /// scheduled keeps its zone (rule 19).
    ///
    /// # Errors
    /// [`SetPreferencesError`].
    pub async fn set_preferences(
        &self,
        actor: &Actor,
        input: &PreferencesInput,
    ) -> Result<Preferences, SetPreferencesError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let timezone = Timezone::parse(&input.timezone).map_err(|e| {
            SetPreferencesError::Validation(ValidationErrors::single("timezone", e))
        })?;
        let mut tx = ctx.ports.store.write().await?;
        let mut member = locked_member(tx.as_mut(), actor).await?;
        let preferences =
            Preferences { notifications: input.notifications, export: input.export, timezone };
        member.preferences = preferences;
        tx.members().update(&member).await?;
        let scheduled = tx.digests().get(member.id).await?;
        match (preferences.notifications.weekly_usage_digest, scheduled) {
            (true, None) => {
                let due_at = next_monday_morning(ctx.now(), timezone);
                tx.digests()
                    .put(&ScheduledDigest { member_id: member.id, due_at, timezone })
                    .await?;
            }
            (false, Some(_)) => tx.digests().delete(member.id).await?,
            // Already scheduled: it keeps the zone it was scheduled in.
            (true, Some(_)) | (false, None) => {}
        }
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::PreferencesUpdated,
            AuditTarget::Member(member.id),
            format!("timezone={}", timezone.name()),
        )
        .await?;
        tx.commit().await?;
        Ok(preferences)
    }

    /// The active entries of the products catalogue, to pick from.
    ///
    /// # Errors
    /// [`AccessError`].
    pub async fn catalogue(&self, actor: &Actor) -> Result<Vec<Product>, AccessError> {
        let mut tx = self.ctx.ports.store.read().await?;
        acting_member(tx.as_mut(), actor).await?;
        let mut products = tx.catalogue().list().await?;
        products.retain(|p| p.active);
        Ok(products)
    }

    /// Every catalogue entry, active or not, to name the entries a member listed before one
    /// was deactivated (members keep them; they can no longer pick them anew).
    ///
    /// # Errors
    /// [`AccessError`].
    pub async fn catalogue_names(&self, actor: &Actor) -> Result<Vec<Product>, AccessError> {
        let mut tx = self.ctx.ports.store.read().await?;
        acting_member(tx.as_mut(), actor).await?;
        Ok(tx.catalogue().list().await?)
    }

    /// Replaces the caller's products and services, de-duplicated (rule 20).
    ///
    /// # Errors
    /// [`SetOfferingsError`].
    pub async fn set_offerings(
        &self,
        actor: &Actor,
        inputs: &[OfferingInput],
    ) -> Result<Vec<Offering>, SetOfferingsError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let mut tx = ctx.ports.store.write().await?;
        let mut member = locked_member(tx.as_mut(), actor).await?;
        let catalogue = tx.catalogue().list().await?;
        let offerings = normalise_offerings(inputs, &catalogue, &member.offerings)
            .map_err(SetOfferingsError::Validation)?;
        member.offerings.clone_from(&offerings);
        tx.members().update(&member).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::OfferingsUpdated,
            AuditTarget::Member(member.id),
            format!("count={}", offerings.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(offerings)
    }

    /// Changes the password: needs the current one; ends every other session; tells the
    /// member by mail (rule 8). Not possible under impersonation (rule 16).
    ///
    /// # Errors
    /// [`ChangePasswordError`].
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: &str,
        new: &str,
    ) -> Result<(), ChangePasswordError> {
        let ctx = self.ctx;
        session_only(actor)?;
        not_impersonating(actor)?;
        let member = {
            let mut tx = ctx.ports.store.read().await?;
            acting_member(tx.as_mut(), actor).await?
        };
        // Rule 24: counted before the current password is checked.
        ctx.take_committed(&[password_checks(member.id)]).await??;
        let attempt = PasswordAttempt::new(current).ok_or(ChangePasswordError::WrongPassword)?;
        if !ctx.ports.passwords.verify(&attempt, member.password.as_ref()).await? {
            return Err(ChangePasswordError::WrongPassword);
        }
        let password = check_new_password(new, &member, "new_password")
            .map_err(ChangePasswordError::Validation)?;
        let hash = ctx.ports.passwords.hash(&password).await?;
        let mut tx = ctx.ports.store.write().await?;
        let mut locked = locked_member(tx.as_mut(), actor).await?;
        if locked.password != member.password {
            // Changed meanwhile by another request: the current password checked is stale.
            return Err(ChangePasswordError::WrongPassword);
        }
        locked.password = Some(hash);
        // The member knows their password: a pending reset link stops working.
        locked.password_reset = None;
        tx.members().update(&locked).await?;
        tx.sessions().delete_for_member(locked.id, actor.session()).await?;
        let mail = templates::notice(
            &ctx.settings,
            &locked.email,
            "Your password was changed",
            "The password of your account was just changed, and every other session was ended.",
        );
        ctx.send_mail(tx.as_mut(), MailKind::PasswordChanged, &mail).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::PasswordChanged,
            AuditTarget::Member(locked.id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the caller's account after confirmation (rule 11): personal data is erased,
    /// sessions and keys end, unspent allocations return to the pool; the ledger keeps the
    /// amounts under an id that no longer leads to the person. The last enabled admin cannot
    /// delete themselves (rule 2).
    ///
    /// # Errors
    /// [`DeleteAccountError`].
    pub async fn delete_account(
        &self,
        actor: &Actor,
        confirmation: &DeleteConfirmation,
    ) -> Result<(), DeleteAccountError> {
        let ctx = self.ctx;
        session_only(actor)?;
        not_impersonating(actor)?;
        let member = {
            let mut tx = ctx.ports.store.read().await?;
            acting_member(tx.as_mut(), actor).await?
        };
        let confirmed = match confirmation {
            DeleteConfirmation::Password(p) => {
                // Rule 24: counted before the password is checked.
                ctx.take_committed(&[password_checks(member.id)]).await??;
                match PasswordAttempt::new(p) {
                    Some(a) => ctx.ports.passwords.verify(&a, member.password.as_ref()).await?,
                    None => false,
                }
            }
            DeleteConfirmation::TypedUsername(u) => {
                u.trim().eq_ignore_ascii_case(member.username.as_str())
            }
        };
        if !confirmed {
            return Err(DeleteAccountError::ConfirmationFailed);
        }
        let mut tx = ctx.ports.store.write().await?;
        // Lock order: the organisation (its admins are counted), then the member; their
        // pools and allocations follow in `erase_member`.
        tx.organisations().lock(actor.org()).await?.ok_or(Denied::NotActive)?;
        let locked = locked_member(tx.as_mut(), actor).await?;
        let by_password = matches!(confirmation, DeleteConfirmation::Password(_));
        if by_password && locked.password != member.password {
            // Changed meanwhile by another request: the password confirmed is stale.
            return Err(DeleteAccountError::ConfirmationFailed);
        }
        let member = locked;
        tx.members()
            .counts(member.org_id)
            .await?
            .ensure_admin_remains_without(&member)
            .map_err(|_| DeleteAccountError::LastAdmin)?;
        erase_member(ctx, tx.as_mut(), actor, &member).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Checks the version, stores the profile with the next version, audits. The caller holds the
/// member's lock.
pub(crate) async fn store_profile<E>(
    ctx: &Context,
    tx: &mut dyn Tx,
    actor: &Actor,
    mut member: Member,
    profile: Profile,
    expected_version: u64,
) -> Result<Member, E>
where
    E: From<StaleVersion> + From<crate::ports::StoreError>,
{
    if member.profile_version != expected_version {
        return Err(StaleVersion { current: member.profile_version }.into());
    }
    let detail = changed_fields(&member.profile, &profile);
    member.profile = profile;
    member.profile_version += 1;
    tx.members().update(&member).await?;
    ctx.audit_by(tx, actor, AuditAction::ProfileUpdated, AuditTarget::Member(member.id), detail)
        .await?;
    Ok(member)
}

/// A stale `If-Match` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaleVersion {
    /// The version now stored.
    pub current: u64,
}

impl From<StaleVersion> for SaveProfileError {
    fn from(s: StaleVersion) -> Self {
        Self::StaleVersion { current: s.current }
    }
}

/// Erases a member (rule 11). The caller holds the organisation's lock.
async fn erase_member(
    ctx: &Context,
    tx: &mut dyn Tx,
    actor: &Actor,
    member: &Member,
) -> Result<(), crate::services::common::Failure> {
    let reason = Reason::parse("account deleted").ok();
    reclaim_unspent(ctx, tx, actor, member, reason).await?;
    end_all_sessions(tx, member.id).await?;
    tx.api_keys().delete_for_member(member.id).await?;
    tx.email_changes().delete(member.id).await?;
    tx.digests().delete(member.id).await?;
    let mail = templates::notice(
        &ctx.settings,
        &member.email,
        "Your account was deleted",
        "Your account and its personal data were deleted, as you asked.",
    );
    ctx.send_mail(tx, MailKind::AccountDeleted, &mail).await?;
    tx.members().erase(member.id, ctx.now()).await?;
    ctx.audit_by(tx, actor, AuditAction::MemberDeleted, AuditTarget::Member(member.id), "").await?;
    Ok(())
}
