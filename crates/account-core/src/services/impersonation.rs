//! Impersonation (rule 16): an enabled admin acts as an enabled sub-user of the same
//! organisation, with a reason, for at most an hour, on a session hanging on their own.

use super::auth::new_session;
use super::common::{Denied, locked_admin, op_error, session_only};
use super::{Actor, Context};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::member::{ImpersonationRefusal, Member};
use crate::domain::session::{ImpersonationInfo, MAX_IMPERSONATION, Session};
use crate::domain::text::Reason;
use crate::error::{InternalError, ValidationErrors};
use crate::ids::MemberId;

/// Starting or stopping an impersonation failed.
#[derive(Debug, thiserror::Error)]
pub enum ImpersonationError {
    /// The reason is missing or too long.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// No such member in the caller's organisation.
    #[error("no such member in your organisation")]
    MemberNotFound,
    /// Admins cannot be impersonated.
    #[error("admins cannot be impersonated")]
    TargetIsAdmin,
    /// Disabled members cannot be impersonated.
    #[error("disabled members cannot be impersonated")]
    TargetDisabled,
    /// Already impersonating: stop first (impersonations never nest).
    #[error("you are already impersonating a member; stop first")]
    Nested,
    /// Stop was asked outside an impersonation.
    #[error("this session is not an impersonation")]
    NotImpersonating,
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(ImpersonationError);

/// A started impersonation.
#[derive(Debug)]
pub struct StartedImpersonation {
    /// The bearer token of the impersonation session.
    pub token: String,
    /// The impersonation session.
    pub session: Session,
    /// The sub-user acted as.
    pub target: Member,
}

/// Impersonation.
#[derive(Debug)]
pub struct ImpersonationService<'a> {
    ctx: &'a Context,
}

impl<'a> ImpersonationService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// Starts acting as `target`. A previous impersonation on the same admin session ends.
    ///
    /// # Errors
    /// [`ImpersonationError`].
    pub async fn start(
        &self,
        actor: &Actor,
        target: MemberId,
        reason: &str,
    ) -> Result<StartedImpersonation, ImpersonationError> {
        let ctx = self.ctx;
        session_only(actor)?;
        if actor.impersonator().is_some() {
            return Err(ImpersonationError::Nested);
        }
        let reason = Reason::parse(reason)
            .map_err(|e| ImpersonationError::Validation(ValidationErrors::single("reason", e)))?;
        let Some(admin_session_id) = actor.session() else {
            return Err(Denied::NeedsSession.into());
        };
        let mut tx = ctx.ports.store.write().await?;
        let locked = locked_admin(tx.as_mut(), actor, &[target]).await?;
        let admin = &locked.actor;
        let target = locked.member(target).cloned().ok_or(ImpersonationError::MemberNotFound)?;
        admin.may_impersonate(&target).map_err(|refusal| match refusal {
            ImpersonationRefusal::TargetIsAdmin => ImpersonationError::TargetIsAdmin,
            ImpersonationRefusal::TargetDisabled => ImpersonationError::TargetDisabled,
            ImpersonationRefusal::OtherOrganisation => ImpersonationError::MemberNotFound,
            ImpersonationRefusal::NotAnEnabledAdmin => Denied::NotAdmin.into(),
        })?;
        let admin_session = tx.sessions().get(admin_session_id).await?.ok_or(Denied::NotActive)?;
        for child in tx.sessions().children(admin_session_id).await? {
            tx.sessions().delete(child.id).await?;
        }
        let expires_at = (ctx.now() + MAX_IMPERSONATION).min(admin_session.expires_at);
        let info =
            ImpersonationInfo { admin_id: admin.id, admin_session_id, reason: reason.clone() };
        let (session, token) =
            new_session(ctx, &target, Some(info), admin_session.client.clone(), expires_at);
        tx.sessions().insert(&session).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::ImpersonationStarted,
            AuditTarget::Member(target.id),
            format!("session={} reason={}", session.id, reason),
        )
        .await?;
        tx.commit().await?;
        Ok(StartedImpersonation { token: token.reveal(), session, target })
    }

    /// Ends the impersonation the caller is in; the admin's own session goes on.
    ///
    /// # Errors
    /// [`ImpersonationError::NotImpersonating`].
    pub async fn stop(&self, actor: &Actor) -> Result<(), ImpersonationError> {
        let ctx = self.ctx;
        let (Some(_), Some(session)) = (actor.impersonator(), actor.session()) else {
            return Err(ImpersonationError::NotImpersonating);
        };
        let mut tx = ctx.ports.store.write().await?;
        tx.sessions().delete(session).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::ImpersonationEnded,
            AuditTarget::Member(actor.member()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
