//! Changing the login email (rules 9, 10): a code to the current address; then the new
//! address typed twice and a code to it; only when both are confirmed does the login switch,
//! the old address is told, and other sessions end. One error enum serves the flow's steps,
//! which share their failure modes (see `docs/decisions/0002-error-enums.md`).

use chrono::{DateTime, Utc};

use super::common::{
    Denied, acting_member, locked_member, not_impersonating, op_error, session_only, throttled,
};
use super::limits::{mails_by_member, mails_to, member_code_tries};
use super::{Actor, Context, templates};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::email::EmailAddress;
use crate::domain::email_change::{EmailChange, EmailChangeStage, FLOW_TTL};
use crate::domain::limits::{Budget, Exhausted};
use crate::domain::mail::{MailKind, MailMessage};
use crate::domain::member::Member;
use crate::domain::secret::VerificationCode;
use crate::domain::verification::{
    CodeError, MAX_WRONG_TRIES, PendingCode, RESEND_INTERVAL, ResendError,
};
use crate::error::{InternalError, ValidationErrors};
use crate::ports::{StoreError, Tx, UniqueKey};

/// A step of the email change failed.
#[derive(Debug, thiserror::Error)]
pub enum EmailChangeError {
    /// No flow in progress (never started, finished, cancelled or older than an hour).
    #[error("no email change is in progress; start one")]
    NoFlow,
    /// The flow is at another step.
    #[error("the email change is at another step ({stage})")]
    WrongStage {
        /// Where the flow stands.
        stage: &'static str,
    },
    /// The code was not accepted.
    #[error(transparent)]
    Code(CodeError),
    /// No new code was sent.
    #[error(transparent)]
    Resend(ResendError),
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// The new address is already someone's login (found when the change is confirmed;
    /// when it is submitted, the answer does not say).
    #[error("this email address is already used by an account")]
    EmailTaken,
    /// Too many codes tried or mails sent (rule 24).
    #[error(transparent)]
    Throttled(Exhausted),
    /// The caller may not (impersonating, API key).
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(EmailChangeError);
throttled!(EmailChangeError);

/// Where the caller's flow stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailChangeView {
    /// `awaiting_current_code`, `awaiting_new_address` or `awaiting_new_code`.
    pub stage: &'static str,
    /// The new address, once submitted.
    pub new_email: Option<EmailAddress>,
    /// When the code sent last stops working.
    pub code_expires_at: Option<DateTime<Utc>>,
    /// Wrong tries left.
    pub tries_left: Option<u8>,
    /// When the whole flow stops being usable.
    pub expires_at: DateTime<Utc>,
}

impl From<&EmailChange> for EmailChangeView {
    fn from(flow: &EmailChange) -> Self {
        let new_email = match &flow.stage {
            EmailChangeStage::AwaitingNewCode { new_email } => Some(new_email.clone()),
            _ => None,
        };
        Self {
            stage: flow.stage.as_str(),
            new_email,
            code_expires_at: flow.code.as_ref().map(|c| c.expires_at),
            tries_left: flow.code.as_ref().map(|c| MAX_WRONG_TRIES.saturating_sub(c.wrong_tries)),
            expires_at: flow.expires_at,
        }
    }
}

/// Changing the login email.
#[derive(Debug)]
pub struct EmailChangeService<'a> {
    ctx: &'a Context,
}

impl<'a> EmailChangeService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    async fn begin(&self, actor: &Actor) -> Result<(Box<dyn Tx>, Member), EmailChangeError> {
        session_only(actor)?;
        not_impersonating(actor)?;
        let mut tx = self.ctx.ports.store.write().await?;
        let member = locked_member(tx.as_mut(), actor).await?;
        Ok((tx, member))
    }

    /// The budgets a mail of the flow to `to` spends: the recipient's and the member's.
    fn mail_budgets(&self, member: &Member, to: &EmailAddress) -> [Budget; 2] {
        [mails_to(self.ctx, to.as_str()), mails_by_member(member.id)]
    }

    /// The mail to a new address: its code; or, when the address is already someone's login,
    /// a notice to it and no code, so that the answer to the member is the same either way
    /// (rule 24: whether an address has an account is not told; the change cannot complete).
    async fn new_address_mail(
        &self,
        tx: &mut dyn Tx,
        member: &Member,
        new_email: &EmailAddress,
        code: &VerificationCode,
    ) -> Result<MailMessage, StoreError> {
        let taken = tx.members().find_by_email(new_email).await?.is_some_and(|m| m.id != member.id);
        Ok(if taken {
            templates::notice(
                &self.ctx.settings,
                new_email,
                "Someone asked to use your address",
                "Someone asked to log in with this address, which is already the login of an \
                 account here. Nothing was changed, and nothing needs doing. If you know who it \
                 was, they may have mistyped their address.",
            )
        } else {
            templates::code(
                &self.ctx.settings,
                new_email,
                "Confirm your new email address",
                "You asked to log in with this address from now on. To confirm it, enter this \
                 code:",
                code,
            )
        })
    }

    async fn current_flow(
        &self,
        tx: &mut dyn Tx,
        member: &Member,
    ) -> Result<EmailChange, EmailChangeError> {
        let flow = tx.email_changes().get(member.id).await?.ok_or(EmailChangeError::NoFlow)?;
        if self.ctx.now() >= flow.expires_at {
            return Err(EmailChangeError::NoFlow);
        }
        Ok(flow)
    }

    /// Where the caller's flow stands, if one is in progress.
    ///
    /// # Errors
    /// Access errors.
    pub async fn status(&self, actor: &Actor) -> Result<Option<EmailChangeView>, EmailChangeError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let member = acting_member(tx.as_mut(), actor).await?;
        let flow = tx.email_changes().get(member.id).await?;
        Ok(flow.filter(|f| self.ctx.now() < f.expires_at).as_ref().map(EmailChangeView::from))
    }

    /// Starts (or restarts) the flow: a code goes to the current address. Restarting within a
    /// minute of the last code is refused, like a resend.
    ///
    /// # Errors
    /// [`EmailChangeError`].
    pub async fn start(&self, actor: &Actor) -> Result<EmailChangeView, EmailChangeError> {
        let ctx = self.ctx;
        let (mut tx, member) = self.begin(actor).await?;
        let now = ctx.now();
        if let Some(code) = tx.email_changes().get(member.id).await?.and_then(|f| f.code)
            && now < code.sent_at + RESEND_INTERVAL
        {
            let secs = (code.sent_at + RESEND_INTERVAL - now).num_seconds().max(1);
            return Err(EmailChangeError::Resend(ResendError::TooSoon {
                retry_after_secs: u64::try_from(secs).unwrap_or(60),
            }));
        }
        let mut flow = EmailChange {
            id: ctx.new_id(),
            member_id: member.id,
            stage: EmailChangeStage::AwaitingCurrentCode,
            code: None,
            started_at: now,
            expires_at: now + FLOW_TTL,
        };
        let (pending, code) = PendingCode::issue(
            now,
            &flow.code_context(),
            ctx.ports.random.as_ref(),
            ctx.ports.keyring.as_ref(),
        );
        flow.code = Some(pending);
        tx.email_changes().put(&flow).await?;
        ctx.take(tx.as_mut(), &self.mail_budgets(&member, &member.email)).await??;
        let mail = templates::code(
            &ctx.settings,
            &member.email,
            "Confirm your email change",
            "You asked to change the email address you log in with. To confirm that this address is yours, enter this code:",
            &code,
        );
        ctx.send_mail(tx.as_mut(), MailKind::EmailChangeCurrentCode, &mail).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::EmailChangeStarted,
            AuditTarget::Member(member.id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(EmailChangeView::from(&flow))
    }

    /// Checks a code of the current stage; a wrong code is counted (and stored) before the
    /// error is returned.
    async fn check_code(
        &self,
        tx: &mut Box<dyn Tx>,
        flow: &mut EmailChange,
        typed: &str,
    ) -> Result<bool, EmailChangeError> {
        let context = flow.code_context();
        let Some(code) = flow.code.as_mut() else {
            return Err(EmailChangeError::WrongStage { stage: flow.stage.as_str() });
        };
        // Rule 24: counted before it is checked, across every flow of the member, so that
        // starting again gives no new tries.
        self.ctx.take(tx.as_mut(), &[member_code_tries(flow.member_id)]).await??;
        match code.check(self.ctx.now(), &context, typed, self.ctx.ports.keyring.as_ref()) {
            Ok(()) => Ok(true),
            Err(e @ CodeError::Wrong { .. } | e @ CodeError::TooManyTries) => {
                tx.email_changes().put(flow).await?;
                Err(EmailChangeError::Code(e))
            }
            Err(e @ CodeError::Expired) => Err(EmailChangeError::Code(e)),
        }
    }

    /// Confirms the code sent to the current address.
    ///
    /// # Errors
    /// [`EmailChangeError`]; a wrong code is counted even though an error is returned.
    pub async fn confirm_current(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<EmailChangeView, EmailChangeError> {
        let ctx = self.ctx;
        let (mut tx, member) = self.begin(actor).await?;
        let mut flow = self.current_flow(tx.as_mut(), &member).await?;
        if flow.stage != EmailChangeStage::AwaitingCurrentCode {
            return Err(EmailChangeError::WrongStage { stage: flow.stage.as_str() });
        }
        match self.check_code(&mut tx, &mut flow, code).await {
            Ok(_) => {}
            Err(e) => {
                tx.commit().await?;
                return Err(e);
            }
        }
        flow.stage = EmailChangeStage::AwaitingNewAddress;
        flow.code = None;
        tx.email_changes().put(&flow).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::EmailChangeCurrentConfirmed,
            AuditTarget::Member(member.id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(EmailChangeView::from(&flow))
    }

    /// Takes the new address, typed twice, and sends a code to it. While waiting for that
    /// code, a corrected address may be submitted again (throttled like a resend).
    ///
    /// # Errors
    /// [`EmailChangeError`].
    pub async fn submit_new(
        &self,
        actor: &Actor,
        new_email: &str,
        new_email_repeat: &str,
    ) -> Result<EmailChangeView, EmailChangeError> {
        let ctx = self.ctx;
        let mut e = ValidationErrors::new();
        let parsed = e.check("new_email", EmailAddress::parse(new_email));
        if new_email.trim() != new_email_repeat.trim() {
            e.push("new_email_repeat", "must be the same address as new_email");
        }
        let (mut tx, member) = self.begin(actor).await?;
        if let Some(p) = &parsed
            && p.same_as(&member.email)
        {
            e.push("new_email", "is already your login email");
        }
        let Some(new_email) = parsed.filter(|_| e.is_empty()) else {
            return Err(EmailChangeError::Validation(e));
        };
        let mut flow = self.current_flow(tx.as_mut(), &member).await?;
        let now = ctx.now();
        let previous = match &flow.stage {
            EmailChangeStage::AwaitingNewAddress => None,
            EmailChangeStage::AwaitingNewCode { .. } => flow.code.clone(),
            EmailChangeStage::AwaitingCurrentCode => {
                return Err(EmailChangeError::WrongStage { stage: flow.stage.as_str() });
            }
        };
        // Rule 24: mails are counted before anything depends on whether the address exists.
        ctx.take(tx.as_mut(), &self.mail_budgets(&member, &new_email)).await??;
        flow.stage = EmailChangeStage::AwaitingNewCode { new_email: new_email.clone() };
        let context = flow.code_context();
        let (random, keyring) = (ctx.ports.random.as_ref(), ctx.ports.keyring.as_ref());
        let (pending, code) = match previous {
            Some(old) => {
                old.reissue(now, &context, random, keyring).map_err(EmailChangeError::Resend)?
            }
            None => PendingCode::issue(now, &context, random, keyring),
        };
        flow.code = Some(pending);
        tx.email_changes().put(&flow).await?;
        let mail = self.new_address_mail(tx.as_mut(), &member, &new_email, &code).await?;
        ctx.send_mail(tx.as_mut(), MailKind::EmailChangeNewCode, &mail).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::EmailChangeNewSubmitted,
            AuditTarget::Member(member.id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(EmailChangeView::from(&flow))
    }

    /// Confirms the code sent to the new address: the login email switches, the old address is
    /// told, every other session ends.
    ///
    /// # Errors
    /// [`EmailChangeError`]; a wrong code is counted even though an error is returned.
    pub async fn confirm_new(&self, actor: &Actor, code: &str) -> Result<Member, EmailChangeError> {
        let ctx = self.ctx;
        let (mut tx, mut member) = self.begin(actor).await?;
        let mut flow = self.current_flow(tx.as_mut(), &member).await?;
        let EmailChangeStage::AwaitingNewCode { new_email } = flow.stage.clone() else {
            return Err(EmailChangeError::WrongStage { stage: flow.stage.as_str() });
        };
        if let Err(e) = self.check_code(&mut tx, &mut flow, code).await {
            tx.commit().await?;
            return Err(e);
        }
        if tx.members().find_by_email(&new_email).await?.is_some_and(|m| m.id != member.id) {
            return Err(EmailChangeError::EmailTaken);
        }
        let old_email = std::mem::replace(&mut member.email, new_email);
        // A reset link mailed to the old address no longer opens the account.
        member.password_reset = None;
        match tx.members().update(&member).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueKey::LoginEmail)) => {
                return Err(EmailChangeError::EmailTaken);
            }
            Err(other) => return Err(other.into()),
        }
        tx.email_changes().delete(member.id).await?;
        tx.sessions().delete_for_member(member.id, actor.session()).await?;
        let text = format!(
            "The email address you log in with was changed to {}. This address will no longer \
             receive mail about your account.",
            member.email
        );
        let mail =
            templates::notice(&ctx.settings, &old_email, "Your login email was changed", &text);
        ctx.send_mail(tx.as_mut(), MailKind::EmailChanged, &mail).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::EmailChanged,
            AuditTarget::Member(member.id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(member)
    }

    /// Sends a new code for the current stage; the old code stops working (rule 10).
    ///
    /// # Errors
    /// [`EmailChangeError::Resend`] when throttled or exhausted.
    pub async fn resend(&self, actor: &Actor) -> Result<EmailChangeView, EmailChangeError> {
        let ctx = self.ctx;
        let (mut tx, member) = self.begin(actor).await?;
        let mut flow = self.current_flow(tx.as_mut(), &member).await?;
        let (to, kind) = match &flow.stage {
            EmailChangeStage::AwaitingCurrentCode => {
                (member.email.clone(), MailKind::EmailChangeCurrentCode)
            }
            EmailChangeStage::AwaitingNewCode { new_email } => {
                (new_email.clone(), MailKind::EmailChangeNewCode)
            }
            EmailChangeStage::AwaitingNewAddress => {
                return Err(EmailChangeError::WrongStage { stage: flow.stage.as_str() });
            }
        };
        let Some(old) = flow.code.clone() else {
            return Err(EmailChangeError::WrongStage { stage: flow.stage.as_str() });
        };
        let (pending, code) = old
            .reissue(
                ctx.now(),
                &flow.code_context(),
                ctx.ports.random.as_ref(),
                ctx.ports.keyring.as_ref(),
            )
            .map_err(EmailChangeError::Resend)?;
        flow.code = Some(pending);
        tx.email_changes().put(&flow).await?;
        ctx.take(tx.as_mut(), &self.mail_budgets(&member, &to)).await??;
        let mail = if kind == MailKind::EmailChangeNewCode {
            self.new_address_mail(tx.as_mut(), &member, &to, &code).await?
        } else {
            templates::code(
                &ctx.settings,
                &to,
                "Your new code",
                "Here is a new code; the previous one no longer works:",
                &code,
            )
        };
        ctx.send_mail(tx.as_mut(), kind, &mail).await?;
        tx.commit().await?;
        Ok(EmailChangeView::from(&flow))
    }

    /// Abandons the flow.
    ///
    /// # Errors
    /// Access errors.
    pub async fn cancel(&self, actor: &Actor) -> Result<(), EmailChangeError> {
        let (mut tx, member) = self.begin(actor).await?;
        tx.email_changes().delete(member.id).await?;
        tx.commit().await?;
        Ok(())
    }
}
