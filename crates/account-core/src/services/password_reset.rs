//! Password reset (rule 22): anyone asks by address and gets the same answer after the same
//! work; an enabled member with a password gets a single-use token (link and code) valid 30
//! minutes; setting the new password follows rule 8, ends every session (API keys stay) and
//! mails a notice. Admins (for their sub-users) and support can send the mail too.

use std::net::IpAddr;

use super::auth::{TokenPasswordError, end_all_sessions, token_password};
use super::common::{Denied, Failure, locked_admin, op_error, session_only, throttled};
use super::limits::{mails_by_client, mails_by_member, mails_to};
use super::{Actor, Context, templates};
use crate::domain::audit::{AuditAction, AuditTarget, Principal};
use crate::domain::email::EmailAddress;
use crate::domain::limits::{Budget, Exhausted};
use crate::domain::mail::{MailKind, MailMessage};
use crate::domain::member::{Member, PASSWORD_RESET_TTL, PasswordReset, Role};
use crate::domain::secret::{Token, TokenKind};
use crate::error::{InternalError, ValidationErrors};
use crate::ids::MemberId;
use crate::ports::{StoreError, Tx};

/// Asking for a reset failed. Nothing here depends on whether the address has an account.
#[derive(Debug, thiserror::Error)]
pub enum RequestResetError {
    /// The address is not an email address.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// Too many resets asked for this address or by this client (rule 24).
    #[error(transparent)]
    Throttled(Exhausted),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}

/// Setting a new password with a reset token failed.
#[derive(Debug, thiserror::Error)]
pub enum CompleteResetError {
    /// Unknown, malformed, used or replaced token, or the member may no longer log in.
    #[error("the reset link is not valid; ask for a new one")]
    InvalidToken,
    /// Older than 30 minutes.
    #[error("the reset link has expired; ask for a new one")]
    Expired,
    /// The new password does not meet the policy (rule 8).
    #[error(transparent)]
    Validation(ValidationErrors),
    /// Too many tokens tried from this client (rule 24); the token was not checked.
    #[error(transparent)]
    Throttled(Exhausted),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}

/// An admin or support could not send a reset mail.
#[derive(Debug, thiserror::Error)]
pub enum SendResetError {
    /// No such member (in the admin's organisation).
    #[error("no such member in your organisation")]
    MemberNotFound,
    /// Admins reset their own password from the log-in page; an admin sends resets to
    /// sub-users only.
    #[error("an admin's password is reset from the log-in page, not by another admin")]
    TargetIsAdmin,
    /// The member is disabled, or has not set a password yet (resend the invitation).
    #[error("this member cannot reset a password: disabled, or still invited")]
    NotResettable,
    /// Too many mails to this address or by this admin (rule 24).
    #[error(transparent)]
    Throttled(Exhausted),
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(SendResetError);

impl TokenPasswordError for CompleteResetError {
    fn invalid_token() -> Self {
        Self::InvalidToken
    }
    fn validation(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}
throttled!(RequestResetError, CompleteResetError, SendResetError);

macro_rules! internal_from {
    ($($t:ty),*) => {
        $(impl From<StoreError> for $t {
            fn from(e: StoreError) -> Self {
                Self::Internal(e.into())
            }
        }
        impl From<crate::ports::HashError> for $t {
            fn from(e: crate::ports::HashError) -> Self {
                Self::Internal(e.into())
            }
        }
        impl From<crate::ports::KeyringError> for $t {
            fn from(e: crate::ports::KeyringError) -> Self {
                Self::Internal(e.into())
            }
        }
        impl From<Failure> for $t {
            fn from(f: Failure) -> Self {
                match f {
                    Failure::Internal(i) => Self::Internal(i),
                    Failure::Denied(d) => Self::Internal(InternalError::new(d.to_string())),
                }
            }
        })*
    };
}
internal_from!(RequestResetError, CompleteResetError);

/// What a completed reset did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetDone {
    /// The member whose password was set.
    pub member: MemberId,
    /// How many of their sessions ended.
    pub sessions_ended: u64,
}

/// Password resets.
#[derive(Debug)]
pub struct PasswordResetService<'a> {
    ctx: &'a Context,
}

impl<'a> PasswordResetService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// Asks for a reset of the account whose login is `address`, from the client `from`.
    /// The answer is the same whether or not such an account exists, may reset, or is
    /// throttled for another reason than this address and client: the budgets (per address,
    /// per client) are taken before the address is looked up, and an unknown address costs
    /// the same token, digest and sealed mail, which are then dropped. Only an enabled member
    /// with a password gets the mail; a new request replaces an older token.
    ///
    /// # Errors
    /// [`RequestResetError`].
    pub async fn request(
        &self,
        address: &str,
        from: Option<IpAddr>,
    ) -> Result<(), RequestResetError> {
        let ctx = self.ctx;
        let email = EmailAddress::parse(address)
            .map_err(|e| RequestResetError::Validation(ValidationErrors::single("email", e)))?;
        // Rule 24: counted, and committed, before the address is looked up, so a throttled
        // answer says nothing about the account either. In a unit of its own: budgets come
        // after member rows in the lock order (`docs/architecture.md`), and this unit has
        // not locked the member yet.
        ctx.take_committed(&[mails_to(ctx, email.as_str()), mails_by_client(from)]).await??;
        let mut tx = ctx.ports.store.write().await?;
        let found = match tx.members().find_by_email(&email).await? {
            Some(m) => tx.members().lock(m.id).await?,
            None => None,
        };
        let target = found.filter(Member::may_reset_password);
        match target {
            Some(member) => {
                issue(ctx, tx.as_mut(), member, Principal::Member, None).await?;
            }
            None => {
                // The same work as `issue` does before it writes: a token, its digest and a
                // sealed mail, thrown away.
                let id = ctx.new_uuid();
                let token =
                    Token::generate(TokenKind::PasswordReset, id, ctx.ports.random.as_ref());
                let reset = new_reset(ctx, &token);
                let mail = reset_mail(ctx, &email, "there", &token, &reset);
                ctx.ports.keyring.seal(&mail.encode())?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets a new password with a reset token from `from` (rule 22): the token is counted
    /// before it is checked (rule 24), checked again under the member's lock, and works once;
    /// the password follows rule 8; every session of the member ends, API keys stay, and a
    /// notice is mailed.
    ///
    /// # Errors
    /// [`CompleteResetError`].
    pub async fn complete(
        &self,
        token: &str,
        new_password: &str,
        from: Option<IpAddr>,
    ) -> Result<ResetDone, CompleteResetError> {
        let ctx = self.ctx;
        let (token, hash, member) = token_password(
            ctx,
            TokenKind::PasswordReset,
            (token, new_password, from),
            |member, token| self.check(member, token),
        )
        .await?;
        let member_id = member.id;
        let mut tx = ctx.ports.store.write().await?;
        // Only the member's row is relied on (lock order: members come after the
        // organisation, which is not needed here). Checked again: the token may have been
        // used or replaced, or the member disabled, while the password was hashed.
        let mut member = self.check(tx.members().lock(member_id).await?, &token)?;
        member.password = Some(hash);
        member.password_reset = None;
        tx.members().update(&member).await?;
        let sessions_ended = end_all_sessions(tx.as_mut(), member.id).await?;
        let mail = templates::notice(
            &ctx.settings,
            &member.email,
            "Your password was reset",
            "The password of your account was just reset with a link sent to this address. \
             Every session of yours was ended: log in again with the new password. Your API \
             keys still work; revoke them on the API keys page if someone else may have them.",
        );
        ctx.send_mail(tx.as_mut(), MailKind::PasswordWasReset, &mail).await?;
        ctx.audit(
            tx.as_mut(),
            Some(member.org_id),
            Principal::Member(member.id),
            None,
            AuditAction::PasswordReset,
            AuditTarget::Member(member.id),
            format!("sessions_ended={sessions_ended}"),
        )
        .await?;
        tx.commit().await?;
        Ok(ResetDone { member: member.id, sessions_ended })
    }

    fn check(&self, member: Option<Member>, token: &Token) -> Result<Member, CompleteResetError> {
        let member =
            member.filter(Member::may_reset_password).ok_or(CompleteResetError::InvalidToken)?;
        let reset = member.password_reset.as_ref().ok_or(CompleteResetError::InvalidToken)?;
        let context = TokenKind::PasswordReset.context();
        if !self.ctx.ports.keyring.verify(context, token.secret(), &reset.secret) {
            return Err(CompleteResetError::InvalidToken);
        }
        if self.ctx.now() >= reset.expires_at {
            return Err(CompleteResetError::Expired);
        }
        Ok(member)
    }

    /// An admin sends a reset mail to a sub-user of their organisation (rule 22): the admin
    /// never learns or sets the password.
    ///
    /// # Errors
    /// [`SendResetError`].
    pub async fn send_by_admin(&self, actor: &Actor, id: MemberId) -> Result<(), SendResetError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let mut tx = ctx.ports.store.write().await?;
        let locked = locked_admin(tx.as_mut(), actor, &[id]).await?;
        let member = locked.member(id).cloned().ok_or(SendResetError::MemberNotFound)?;
        if member.role == Role::Admin {
            return Err(SendResetError::TargetIsAdmin);
        }
        if !member.may_reset_password() {
            return Err(SendResetError::NotResettable);
        }
        let budgets: [Budget; 2] =
            [mails_to(ctx, member.email.as_str()), mails_by_member(actor.member())];
        ctx.take(tx.as_mut(), &budgets).await??;
        issue(ctx, tx.as_mut(), member, |_| actor.principal(), actor.acting_as()).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Support sends a reset mail to any member who may reset (rule 22), in `tx`, where the
/// member is locked. The mail to the address is still counted (rule 24).
pub(crate) async fn send_by_support(
    ctx: &Context,
    tx: &mut dyn Tx,
    member: Member,
) -> Result<(), SendResetError> {
    if !member.may_reset_password() {
        return Err(SendResetError::NotResettable);
    }
    ctx.take(tx, &[mails_to(ctx, member.email.as_str())]).await??;
    Ok(issue(ctx, tx, member, |_| Principal::Operator, None).await?)
}

fn new_reset(ctx: &Context, token: &Token) -> PasswordReset {
    PasswordReset {
        secret: ctx.ports.keyring.digest(TokenKind::PasswordReset.context(), token.secret()),
        expires_at: ctx.now() + PASSWORD_RESET_TTL,
    }
}

fn reset_mail(
    ctx: &Context,
    to: &EmailAddress,
    name: &str,
    token: &Token,
    reset: &PasswordReset,
) -> MailMessage {
    templates::password_reset(&ctx.settings, to, name, &token.reveal(), reset.expires_at)
}

/// Gives the (locked) `member` a fresh reset token, replacing any older one, and queues its
/// mail and an audit entry by `by` in `tx`.
async fn issue(
    ctx: &Context,
    tx: &mut dyn Tx,
    mut member: Member,
    by: impl FnOnce(MemberId) -> Principal + Send,
    acting_as: Option<MemberId>,
) -> Result<(), Failure> {
    let token =
        Token::generate(TokenKind::PasswordReset, member.id.as_uuid(), ctx.ports.random.as_ref());
    let reset = new_reset(ctx, &token);
    let mail = reset_mail(ctx, &member.email, &member.profile.display_name(), &token, &reset);
    member.password_reset = Some(reset);
    tx.members().update(&member).await?;
    ctx.send_mail(tx, MailKind::PasswordReset, &mail).await?;
    ctx.audit(
        tx,
        Some(member.org_id),
        by(member.id),
        acting_as,
        AuditAction::PasswordResetSent,
        AuditTarget::Member(member.id),
        "",
    )
    .await?;
    Ok(())
}
