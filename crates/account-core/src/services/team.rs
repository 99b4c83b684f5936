//! The admin's team page: licence summary per plan, member lists, adding sub-users within a
//! plan's licences (rules 1, 4, 23), editing profiles, disabling and re-enabling (rules 1 to 3),
//! roles and plans.

use std::collections::HashMap;

use super::auth::end_all_sessions;
use super::common::{
    Denied, acting_admin, locked_admin, member_of_org, op_error, session_only, throttled,
};
use super::credits::{Balance, balances_of, reclaim_unspent};
use super::idempotency::Scope;
use super::limits::{mails_by_member, mails_to};
use super::profile::{AccessError, ProfileInput, StaleVersion, parse_profile, store_profile};
use super::{Actor, Context, templates};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::email::EmailAddress;
use crate::domain::idempotency::{IdempotencyKey, KeyConflict, Outcome};
use crate::domain::limits::{Budget, Exhausted};
use crate::domain::mail::MailKind;
use crate::domain::member::{Invitation, Member, MemberStatus, Profile, Role};
use crate::domain::organisation::{LastAdmin, MemberCounts, NoFreeLicence, Organisation};
use crate::domain::preferences::Preferences;
use crate::domain::secret::{Token, TokenKind};
use crate::domain::text::{PersonName, PlanName, Reason};
use crate::domain::username::Username;
use crate::error::{InternalError, ValidationErrors};
use crate::ids::{MemberId, OrganisationId};
use crate::ports::{Page, StoreError, Tx, UniqueKey};

/// Adding a sub-user failed.
#[derive(Debug, thiserror::Error)]
pub enum AddMemberError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// Every licence of the plan is taken (rules 1, 23).
    #[error(transparent)]
    NoFreeLicence(NoFreeLicence),
    /// The email is already someone's login.
    #[error("this email address is already used by an account")]
    EmailTaken,
    /// The Idempotency-Key cannot be used for this request.
    #[error(transparent)]
    IdempotencyKey(KeyConflict),
    /// Too many invitations to this address or by this admin (rule 24).
    #[error(transparent)]
    Throttled(Exhausted),
    /// A retry with the Idempotency-Key of an earlier call: the member it added has since
    /// been deleted.
    #[error("the member this Idempotency-Key added has since been deleted")]
    AddedMemberGone,
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(AddMemberError);
throttled!(AddMemberError, ChangeMemberError);

impl From<KeyConflict> for AddMemberError {
    fn from(e: KeyConflict) -> Self {
        Self::IdempotencyKey(e)
    }
}

impl From<NoFreeLicence> for AddMemberError {
    fn from(e: NoFreeLicence) -> Self {
        Self::NoFreeLicence(e)
    }
}

/// Changing a member failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeMemberError {
    /// No such member in the caller's organisation.
    #[error("no such member in your organisation")]
    MemberNotFound,
    /// The organisation's last enabled admin cannot be disabled, demoted or deleted (rule 2).
    #[error("this is the last enabled admin; make another member admin first")]
    LastAdmin,
    /// Every licence of the member's plan is taken (rules 1, 23).
    #[error(transparent)]
    NoFreeLicence(NoFreeLicence),
    /// The member has already set a password: there is no invitation to resend.
    #[error("the member has already accepted the invitation")]
    NotInvited,
    /// Too many invitations to this address or by this admin (rule 24).
    #[error(transparent)]
    Throttled(Exhausted),
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(ChangeMemberError);

impl From<NoFreeLicence> for ChangeMemberError {
    fn from(e: NoFreeLicence) -> Self {
        Self::NoFreeLicence(e)
    }
}

/// Moving a member to another plan failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangePlanError {
    /// The plan is not one of the organisation's; the choices are named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// No such member in the caller's organisation.
    #[error("no such member in your organisation")]
    MemberNotFound,
    /// Every licence of the new plan is taken by enabled members (rule 23).
    #[error(transparent)]
    NoFreeLicence(NoFreeLicence),
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(ChangePlanError);

impl From<NoFreeLicence> for ChangePlanError {
    fn from(e: NoFreeLicence) -> Self {
        Self::NoFreeLicence(e)
    }
}

impl From<LastAdmin> for ChangeMemberError {
    fn from(LastAdmin: LastAdmin) -> Self {
        Self::LastAdmin
    }
}

/// An admin editing a member's profile failed.
#[derive(Debug, thiserror::Error)]
pub enum EditMemberProfileError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// No such member in the caller's organisation.
    #[error("no such member in your organisation")]
    MemberNotFound,
    /// The profile changed since it was read (rule 6).
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
op_error!(EditMemberProfileError);

impl From<StaleVersion> for EditMemberProfileError {
    fn from(s: StaleVersion) -> Self {
        Self::StaleVersion { current: s.current }
    }
}

/// The licence summary at the top of the team page, in all and per plan (rule 23).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSummary {
    /// Enabled members (pending invitations included).
    pub enabled: u32,
    /// Disabled members.
    pub disabled: u32,
    /// Licences, all plans together.
    pub licences: u32,
    /// Each plan's use, in the organisation's order.
    pub plans: Vec<PlanSummary>,
}

/// One plan's use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanSummary {
    /// The plan.
    pub plan: PlanName,
    /// Its licences.
    pub licences: u32,
    /// Enabled members on it (pending invitations included).
    pub enabled: u32,
    /// Disabled members on it.
    pub disabled: u32,
}

/// A row of the member lists.
#[derive(Debug, Clone)]
pub struct MemberRow {
    /// The member.
    pub member: Member,
    /// Their credits, one balance per kind.
    pub balances: Vec<Balance>,
}

/// A sub-user added, or for a retry with the same Idempotency-Key the one added then (as it
/// is now).
#[derive(Debug, Clone)]
pub struct AddedMember {
    /// The member.
    pub member: Member,
    /// True when this is the replay of an earlier call with the same Idempotency-Key.
    pub replayed: bool,
}

/// A sub-user to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: Option<String>,
    /// Login email; the invitation goes there.
    pub email: String,
    /// The plan of the seat; may be left out when the organisation has one plan.
    pub plan: Option<String>,
}

/// The admin's team page.
#[derive(Debug)]
pub struct TeamService<'a> {
    ctx: &'a Context,
}

impl<'a> TeamService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// Enabled, disabled and licence counts, in all and per plan.
    ///
    /// # Errors
    /// [`AccessError`].
    pub async fn summary(&self, actor: &Actor) -> Result<TeamSummary, AccessError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let admin = acting_admin(tx.as_mut(), actor).await?;
        let org = organisation(tx.as_mut(), admin.org_id).await?;
        let counts = tx.members().counts(org.id).await?;
        Ok(team_summary(&org, &counts))
    }

    /// The enabled or disabled tab (or both), with each member's credits.
    ///
    /// # Errors
    /// [`AccessError`].
    pub async fn members(
        &self,
        actor: &Actor,
        status: Option<MemberStatus>,
        page: Page<MemberId>,
    ) -> Result<Vec<MemberRow>, AccessError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let admin = acting_admin(tx.as_mut(), actor).await?;
        let members = tx.members().list(admin.org_id, status, page).await?;
        let allocations = tx.credits().allocations_of_org(admin.org_id).await?;
        let mut by_member: HashMap<MemberId, Vec<_>> = HashMap::new();
        for a in allocations {
            by_member.entry(a.member_id()).or_default().push(a);
        }
        Ok(members
            .into_iter()
            .map(|m| {
                let balances = balances_of(
                    m.id,
                    m.org_id,
                    by_member.get(&m.id).map_or(&[][..], Vec::as_slice),
                );
                MemberRow { member: m, balances }
            })
            .collect())
    }

    /// One member of the caller's organisation.
    ///
    /// # Errors
    /// [`ChangeMemberError::MemberNotFound`], access errors.
    pub async fn member(
        &self,
        actor: &Actor,
        id: MemberId,
    ) -> Result<MemberRow, ChangeMemberError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let admin = acting_admin(tx.as_mut(), actor).await?;
        let member = member_of_org(tx.as_mut(), admin.org_id, id)
            .await?
            .ok_or(ChangeMemberError::MemberNotFound)?;
        let allocations = tx.credits().allocations_of_member(id).await?;
        let balances = balances_of(id, member.org_id, &allocations);
        Ok(MemberRow { member, balances })
    }

    /// Adds a sub-user with name and email, within the licence count; they get no credits and
    /// an invitation to set a password (rules 1, 4). With an idempotency key, a retry of the
    /// same request answers with the member added the first time.
    ///
    /// # Errors
    /// [`AddMemberError`].
    pub async fn add_member(
        &self,
        actor: &Actor,
        new: &NewMember,
        key: Option<&IdempotencyKey>,
    ) -> Result<AddedMember, AddMemberError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let mut e = ValidationErrors::new();
        let first_name = e.check("first_name", PersonName::parse(&new.first_name));
        let last_name = e.check_opt(
            "last_name",
            new.last_name.as_deref().filter(|s| !s.trim().is_empty()).map(PersonName::parse),
        );
        let email = e.check("email", EmailAddress::parse(&new.email));
        let (Some(first_name), Some(last_name), Some(email)) = (first_name, last_name, email)
        else {
            return Err(AddMemberError::Validation(e));
        };
        let plan = new.plan.as_deref().map(str::trim).filter(|p| !p.is_empty());
        let keyed = ctx.keyed(
            key,
            Scope::Member(actor.member(), "addMember"),
            &[
                first_name.as_str(),
                last_name.as_ref().map_or("", PersonName::as_str),
                email.as_str(),
                plan.unwrap_or(""),
            ],
        );
        let mut tx = ctx.ports.store.write().await?;
        // Lock order: the key, the organisation (its licences and member counts), the admin.
        if let Some(keyed) = &keyed
            && let Some(outcome) = ctx.reserve::<AddMemberError>(tx.as_mut(), keyed).await?
        {
            let Outcome::MemberAdded { member } = outcome else {
                return Err(KeyConflict::Reused.into());
            };
            let member = tx.members().get(member).await?.ok_or(AddMemberError::AddedMemberGone)?;
            return Ok(AddedMember { member, replayed: true });
        }
        let org = lock_organisation(tx.as_mut(), actor.org()).await?;
        locked_admin(tx.as_mut(), actor, &[]).await?;
        let plan = org
            .seats
            .choose(plan)
            .map_err(|e| AddMemberError::Validation(ValidationErrors::single("plan", e)))?;
        let counts = tx.members().counts(org.id).await?;
        org.seats.ensure_free(&plan, &counts)?;
        // Rule 24: the invitation is counted (to the address, by the admin) before anything
        // answers whether the address already has an account.
        ctx.take(tx.as_mut(), &invitation_budgets(ctx, actor, &email)).await??;
        let profile = Profile::named(first_name, last_name);
        let seat = (Role::SubUser, plan);
        let invited = invite_member(ctx, tx.as_mut(), &org, seat, email, profile).await;
        let (member, token) = match invited {
            Ok(done) => done,
            Err(StoreError::Conflict(UniqueKey::LoginEmail)) => {
                return Err(AddMemberError::EmailTaken);
            }
            Err(other) => return Err(other.into()),
        };
        send_invitation(ctx, tx.as_mut(), &org, &member, &token).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::MemberAdded,
            AuditTarget::Member(member.id),
            format!("role=sub_user plan={}", member.plan),
        )
        .await?;
        ctx.complete(tx.as_mut(), keyed.as_ref(), &Outcome::MemberAdded { member: member.id })
            .await?;
        tx.commit().await?;
        Ok(AddedMember { member, replayed: false })
    }

    /// Sends a fresh invitation to a member who has not set a password yet (the old one stops
    /// working).
    ///
    /// # Errors
    /// [`ChangeMemberError`].
    pub async fn resend_invitation(
        &self,
        actor: &Actor,
        id: MemberId,
    ) -> Result<(), ChangeMemberError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let mut tx = ctx.ports.store.write().await?;
        let org = organisation(tx.as_mut(), actor.org()).await?;
        let locked = locked_admin(tx.as_mut(), actor, &[id]).await?;
        let mut member = locked.member(id).cloned().ok_or(ChangeMemberError::MemberNotFound)?;
        if member.password.is_some() || member.status != MemberStatus::Enabled {
            return Err(ChangeMemberError::NotInvited);
        }
        let token =
            Token::generate(TokenKind::Invitation, member.id.as_uuid(), ctx.ports.random.as_ref());
        member.invitation = Some(new_invitation(ctx, &token));
        tx.members().update(&member).await?;
        ctx.take(tx.as_mut(), &invitation_budgets(ctx, actor, &member.email)).await??;
        send_invitation(ctx, tx.as_mut(), &org, &member, &token).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::InvitationResent,
            AuditTarget::Member(id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An admin saves a member's profile, guarded by its version like the member's own save.
    ///
    /// # Errors
    /// [`EditMemberProfileError`].
    pub async fn edit_profile(
        &self,
        actor: &Actor,
        id: MemberId,
        input: &ProfileInput,
        expected_version: u64,
    ) -> Result<Member, EditMemberProfileError> {
        session_only(actor)?;
        let profile = parse_profile(input).map_err(EditMemberProfileError::Validation)?;
        let mut tx = self.ctx.ports.store.write().await?;
        let locked = locked_admin(tx.as_mut(), actor, &[id]).await?;
        let member = locked.member(id).cloned().ok_or(EditMemberProfileError::MemberNotFound)?;
        let saved = store_profile::<EditMemberProfileError>(
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

    /// Disables a member: their data stays, their sessions end and their API keys stop working
    /// at once; the licence is freed (rules 1, 3). The last enabled admin cannot be disabled
    /// (rule 2). Disabling a disabled member changes nothing.
    ///
    /// # Errors
    /// [`ChangeMemberError`].
    pub async fn disable(&self, actor: &Actor, id: MemberId) -> Result<Member, ChangeMemberError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let mut tx = ctx.ports.store.write().await?;
        let (org, mut member) = lock_organisation_and_member(tx.as_mut(), actor, id).await?;
        if member.status == MemberStatus::Disabled {
            return Ok(member);
        }
        tx.members().counts(org.id).await?.ensure_admin_remains_without(&member)?;
        member.status = MemberStatus::Disabled;
        // A pending password reset dies with the status: re-enabling does not revive it.
        member.password_reset = None;
        tx.members().update(&member).await?;
        let ended = end_all_sessions(tx.as_mut(), member.id).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::MemberDisabled,
            AuditTarget::Member(id),
            format!("sessions_ended={ended}"),
        )
        .await?;
        tx.commit().await?;
        Ok(member)
    }

    /// Re-enables a member if a licence of their plan is free (rules 1, 23).
    ///
    /// # Errors
    /// [`ChangeMemberError`].
    pub async fn enable(&self, actor: &Actor, id: MemberId) -> Result<Member, ChangeMemberError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let mut tx = ctx.ports.store.write().await?;
        let (org, mut member) = lock_organisation_and_member(tx.as_mut(), actor, id).await?;
        if member.status == MemberStatus::Enabled {
            return Ok(member);
        }
        org.seats.ensure_free(&member.plan, &tx.members().counts(org.id).await?)?;
        member.status = MemberStatus::Enabled;
        tx.members().update(&member).await?;
        ctx.audit_by(tx.as_mut(), actor, AuditAction::MemberEnabled, AuditTarget::Member(id), "")
            .await?;
        tx.commit().await?;
        Ok(member)
    }

    /// Makes a member admin or sub-user. The last enabled admin cannot be demoted (rule 2); a
    /// promoted sub-user's unspent credits return to the pool, since admins spend it directly.
    ///
    /// # Errors
    /// [`ChangeMemberError`].
    pub async fn set_role(
        &self,
        actor: &Actor,
        id: MemberId,
        role: Role,
    ) -> Result<Member, ChangeMemberError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let mut tx = ctx.ports.store.write().await?;
        let (org, mut member) = lock_organisation_and_member(tx.as_mut(), actor, id).await?;
        if member.role == role {
            return Ok(member);
        }
        tx.members().counts(org.id).await?.ensure_admin_remains_without(&member)?;
        if role == Role::Admin {
            reclaim_unspent(
                ctx,
                tx.as_mut(),
                actor,
                &member,
                Reason::parse("promoted to admin").ok(),
            )
            .await?;
        }
        member.role = role;
        tx.members().update(&member).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::RoleChanged,
            AuditTarget::Member(id),
            format!("role={}", role.as_str()),
        )
        .await?;
        tx.commit().await?;
        Ok(member)
    }

    /// Moves a member's seat to another of the organisation's plans. An enabled member (a
    /// pending invitation too) needs a free licence of the new plan (rule 23); a disabled one
    /// holds none and moves freely. Moving to the plan the member is on changes nothing.
    ///
    /// # Errors
    /// [`ChangePlanError`].
    pub async fn set_plan(
        &self,
        actor: &Actor,
        id: MemberId,
        plan: &str,
    ) -> Result<MemberRow, ChangePlanError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let mut tx = ctx.ports.store.write().await?;
        let org = lock_organisation(tx.as_mut(), actor.org()).await?;
        let locked = locked_admin(tx.as_mut(), actor, &[id]).await?;
        let mut member = locked.member(id).cloned().ok_or(ChangePlanError::MemberNotFound)?;
        let plan = org
            .seats
            .choose(Some(plan))
            .map_err(|e| ChangePlanError::Validation(ValidationErrors::single("plan", e)))?;
        if member.plan != plan {
            if member.status == MemberStatus::Enabled {
                org.seats.ensure_free(&plan, &tx.members().counts(org.id).await?)?;
            }
            let before = std::mem::replace(&mut member.plan, plan);
            tx.members().update(&member).await?;
            ctx.audit_by(
                tx.as_mut(),
                actor,
                AuditAction::MemberPlanChanged,
                AuditTarget::Member(id),
                format!("from={before} to={}", member.plan),
            )
            .await?;
        }
        let allocations = tx.credits().allocations_of_member(id).await?;
        tx.commit().await?;
        let balances = balances_of(id, member.org_id, &allocations);
        Ok(MemberRow { member, balances })
    }
}

/// The team summary of an organisation from its member counts.
pub(crate) fn team_summary(org: &Organisation, counts: &MemberCounts) -> TeamSummary {
    TeamSummary {
        enabled: counts.enabled,
        disabled: counts.disabled,
        licences: org.seats.total(),
        plans: org
            .seats
            .plans()
            .iter()
            .map(|p| {
                let c = counts.plan(&p.plan);
                PlanSummary {
                    plan: p.plan.clone(),
                    licences: p.licences,
                    enabled: c.map_or(0, |c| c.enabled),
                    disabled: c.map_or(0, |c| c.disabled),
                }
            })
            .collect(),
    }
}

pub(crate) async fn organisation(
    tx: &mut dyn Tx,
    id: OrganisationId,
) -> Result<Organisation, Denied> {
    match tx.organisations().get(id).await {
        Ok(Some(org)) => Ok(org),
        _ => Err(Denied::NotActive),
    }
}

/// Locks the caller's organisation; every change to membership takes this lock first.
pub(crate) async fn lock_organisation(
    tx: &mut dyn Tx,
    id: OrganisationId,
) -> Result<Organisation, crate::services::common::Failure> {
    Ok(tx.organisations().lock(id).await?.ok_or(Denied::NotActive)?)
}

/// A change of membership by an admin, in the domain's lock order: the organisation (its
/// licences and member counts), then the admin and the member `id` (one batch, by id).
async fn lock_organisation_and_member(
    tx: &mut dyn Tx,
    actor: &Actor,
    id: MemberId,
) -> Result<(Organisation, Member), ChangeMemberError> {
    let org = lock_organisation(tx, actor.org()).await?;
    let locked = locked_admin(tx, actor, &[id]).await?;
    let member = locked.member(id).cloned().ok_or(ChangeMemberError::MemberNotFound)?;
    Ok((org, member))
}

/// The budgets an invitation mail spends: the recipient's and the admin's.
fn invitation_budgets(ctx: &Context, actor: &Actor, to: &EmailAddress) -> [Budget; 2] {
    [mails_to(ctx, to.as_str()), mails_by_member(actor.member())]
}

fn new_invitation(ctx: &Context, token: &Token) -> Invitation {
    Invitation {
        secret: ctx.ports.keyring.digest(TokenKind::Invitation.context(), token.secret()),
        expires_at: ctx.now() + ctx.settings.invitation_ttl,
    }
}

/// Creates an enabled member with a pending invitation and a free username derived from the
/// email, on `plan`. The caller checked the plan's licences under the organisation's lock.
pub(crate) async fn invite_member(
    ctx: &Context,
    tx: &mut dyn Tx,
    org: &Organisation,
    (role, plan): (Role, PlanName),
    email: EmailAddress,
    profile: Profile,
) -> Result<(Member, Token), StoreError> {
    if tx.members().find_by_email(&email).await?.is_some() {
        return Err(StoreError::Conflict(UniqueKey::LoginEmail));
    }
    let id: MemberId = ctx.new_id();
    let token = Token::generate(TokenKind::Invitation, id.as_uuid(), ctx.ports.random.as_ref());
    let mut member = Member {
        id,
        org_id: org.id,
        role,
        status: MemberStatus::Enabled,
        plan,
        username: Username::derive_from(email.local_part(), 0),
        email,
        password: None,
        invitation: Some(new_invitation(ctx, &token)),
        password_reset: None,
        profile,
        profile_version: 1,
        preferences: Preferences::default(),
        offerings: Vec::new(),
        created_at: ctx.now(),
    };
    // Walk `jane`, `jane1`, `jane2`… to a free one. Another unit may take the name between
    // the look-up and the insert: the store then refuses the insert (leaving the unit usable)
    // and the walk goes on.
    for suffix in 0..1000 {
        member.username = Username::derive_from(member.email.local_part(), suffix);
        if tx.members().find_by_username(&member.username).await?.is_some() {
            continue;
        }
        match tx.members().insert(&member).await {
            Ok(()) => return Ok((member, token)),
            Err(StoreError::Conflict(UniqueKey::Username)) => {}
            Err(other) => return Err(other),
        }
    }
    Err(StoreError::Conflict(UniqueKey::Username))
}

async fn send_invitation(
    ctx: &Context,
    tx: &mut dyn Tx,
    org: &Organisation,
    member: &Member,
    token: &Token,
) -> Result<(), crate::services::common::Failure> {
    let expires_at = member.invitation.as_ref().map_or_else(|| ctx.now(), |i| i.expires_at);
    let mail = templates::invitation(
        &ctx.settings,
        &member.email,
        &member.profile.display_name(),
        org.name.as_str(),
        &token.reveal(),
        expires_at,
    );
    ctx.send_mail(tx, MailKind::Invitation, &mail).await
}
