//! Authentication: log-in (rule 8), session and API-key checks (rules 3, 16, 17), log-out,
//! the session list (rule 18), and accepting an invitation (rule 4).

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};

use super::common::{
    Denied, acting_member, locked_member, not_impersonating, op_error, session_only,
};
use super::limits::{LoginBudgets, token_tries};
use super::profile::Me;
use super::{Actor, Context, Credential};
use crate::domain::audit::{AuditAction, AuditTarget, Principal};
use crate::domain::email::EmailAddress;
use crate::domain::limits::{Exhausted, rates};
use crate::domain::member::{Member, MemberStatus};
use crate::domain::password::{Password, PasswordAttempt, PasswordError, PasswordHash};
use crate::domain::secret::{Token, TokenKind};
use crate::domain::session::{ImpersonationInfo, Session};
use crate::domain::text::ClientName;
use crate::error::{InternalError, ValidationErrors};
use crate::ids::{ApiKeyId, MemberId, SessionId};
use crate::ports::{Activity, HashError, StoreError, Tx};

/// Activity is recorded at most this often per session or key, so that reads stay reads.
pub const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// Log-in failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password, or no password set yet: the same answer for all three,
    /// after the same work (rule 8).
    #[error("the email or password is wrong")]
    InvalidCredentials,
    /// The password is right but the member is disabled (rule 3).
    #[error("this account is disabled; ask your admin to re-enable it")]
    AccountDisabled,
    /// Too many log-ins of this address or from this client (rule 24); the password was not
    /// checked.
    #[error(transparent)]
    Throttled(Exhausted),
    /// Our fault.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl From<StoreError> for LoginError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<crate::ports::HashError> for LoginError {
    fn from(e: crate::ports::HashError) -> Self {
        Self::Internal(e.into())
    }
}

/// A token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown, malformed, revoked, or belonging to a member who may no longer act.
    #[error("the credentials are not valid")]
    InvalidToken,
    /// The session ended (idle or absolute lifetime, or the impersonation's hour is over).
    #[error("the session has expired; log in again")]
    Expired,
    /// Our fault.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// A session operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No such session of the caller's.
    #[error("no such session")]
    NotFound,
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(SessionError);

/// Accepting an invitation failed.
#[derive(Debug, thiserror::Error)]
pub enum AcceptInvitationError {
    /// Unknown or already used token.
    #[error("the invitation is not valid; ask your admin to send a new one")]
    InvalidToken,
    /// Too old.
    #[error("the invitation has expired; ask your admin to send a new one")]
    Expired,
    /// The new password does not meet the policy.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// Too many tokens tried from this client (rule 24); the token was not checked.
    #[error(transparent)]
    Throttled(Exhausted),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}

impl From<StoreError> for AcceptInvitationError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<crate::ports::HashError> for AcceptInvitationError {
    fn from(e: crate::ports::HashError) -> Self {
        Self::Internal(e.into())
    }
}

/// A new session and the token that opens it, shown once.
#[derive(Debug)]
pub struct LoggedIn {
    /// The bearer token; only its digest is stored.
    pub token: String,
    /// The session.
    pub session: Session,
}

/// What an accepted session token stands for. Only authentication makes one: it holds the
/// member it checked, which use cases taking an `Authenticated` rely on without reading it
/// again.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who acts.
    pub actor: Actor,
    /// The session used.
    pub session: Session,
    /// The member acted as, as read with the session and checked (enabled, in the session's
    /// organisation; for an impersonation, a sub-user of an enabled admin's organisation).
    member: Member,
}

impl Authenticated {
    /// The member acted as, as authentication read and checked it.
    #[must_use]
    pub fn member(&self) -> &Member {
        &self.member
    }

    /// Set while impersonating: the admin, the reason, and when it ends (for the banner).
    #[must_use]
    pub fn impersonation(&self) -> Option<(&ImpersonationInfo, DateTime<Utc>)> {
        self.session.impersonation.as_ref().map(|i| (i, self.session.expires_at))
    }
}

/// A session as its owner sees it in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// Its id.
    pub id: SessionId,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_seen_at: DateTime<Utc>,
    /// When it ends at the latest.
    pub expires_at: DateTime<Utc>,
    /// The client it was opened from.
    pub client: Option<ClientName>,
    /// True for the session making the request.
    pub current: bool,
}

/// Log-in, sessions, invitations.
#[derive(Debug)]
pub struct AuthService<'a> {
    ctx: &'a Context,
}

impl<'a> AuthService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// Logs in with email and password, from the client named `client` (its user agent) at
    /// the address `from`. Unknown email, wrong password and a pending invitation give the
    /// same error after the same password-hashing work. Attempts are limited per address and
    /// client, per client, and per address from clients that never logged into it (rule 24,
    /// `domain::limits::rates`); a right password gives its attempt back.
    ///
    /// # Errors
    /// [`LoginError`].
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: Option<&str>,
        from: Option<IpAddr>,
    ) -> Result<LoggedIn, LoginError> {
        let ctx = self.ctx;
        let attempt = PasswordAttempt::new(password);
        let budgets = LoginBudgets::new(ctx, email, from);
        // Rule 24: the attempt is counted, in the database, before the password is checked,
        // so however many arrive at once, at most the budgets' number of hashes run.
        let (member, spent) = {
            let mut tx = ctx.ports.store.write().await?;
            let known = tx.limits().known(&budgets.known, ctx.now()).await?;
            let spent = budgets.spent(known);
            ctx.take(tx.as_mut(), &spent).await?.map_err(LoginError::Throttled)?;
            let member = match EmailAddress::parse(email) {
                Ok(email) => tx.members().find_by_email(&email).await?,
                Err(_) => None,
            };
            tx.commit().await?;
            (member, spent)
        };
        let hash = member.as_ref().and_then(|m| m.password.clone());
        let verified = match &attempt {
            Some(attempt) => ctx.ports.passwords.verify(attempt, hash.as_ref()).await?,
            None => {
                // Same work for an empty or oversized attempt as for a real one.
                let filler = PasswordAttempt::new("-").ok_or(LoginError::InvalidCredentials)?;
                ctx.ports.passwords.verify(&filler, None).await?;
                false
            }
        };
        let member = match member {
            Some(m) if verified => m,
            _ => return Err(LoginError::InvalidCredentials),
        };
        if member.status != MemberStatus::Enabled {
            return Err(LoginError::AccountDisabled);
        }
        let mut tx = ctx.ports.store.write().await?;
        // The member may have changed while the hash was checked: check again under lock.
        let current = tx.members().lock(member.id).await?;
        match current {
            Some(m) if m.password == member.password && m.status == MemberStatus::Enabled => {}
            Some(m) if m.status != MemberStatus::Enabled => {
                return Err(LoginError::AccountDisabled);
            }
            _ => return Err(LoginError::InvalidCredentials),
        }
        let client = client.and_then(ClientName::lossy);
        let expires_at = ctx.now() + ctx.settings.session_absolute;
        let (session, token) = new_session(ctx, &member, None, client, expires_at);
        tx.sessions().insert(&session).await?;
        ctx.audit(
            tx.as_mut(),
            Some(member.org_id),
            Principal::Member(member.id),
            None,
            AuditAction::LoggedIn,
            AuditTarget::Session(session.id),
            "",
        )
        .await?;
        // The right password: the attempt's share goes back, and this client is known for
        // the address, so others' failures never lock it out (only its own budget applies).
        ctx.refund(tx.as_mut(), &spent).await?;
        tx.limits().remember(&budgets.known, ctx.now() + rates::KNOWN_CLIENT).await?;
        tx.commit().await?;
        Ok(LoggedIn { token: token.reveal(), session })
    }

    /// Checks a session token and says who it acts as. Records activity at most once a
    /// minute (for an impersonation, on the admin's session too).
    ///
    /// # Errors
    /// [`AuthError`].
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, AuthError> {
        self.authenticate_reading(token, false).await.map(|(auth, _)| auth)
    }

    /// [`Self::authenticate`], and the caller's member record and organisation, read in the
    /// same statement as the session: what [`ProfileService::me`] returns for the actor, as of
    /// this authentication, without a second read (`GET /me`).
    ///
    /// [`ProfileService::me`]: super::profile::ProfileService::me
    ///
    /// # Errors
    /// [`AuthError`].
    pub async fn authenticate_me(&self, token: &str) -> Result<(Authenticated, Me), AuthError> {
        match self.authenticate_reading(token, true).await? {
            (auth, Some(me)) => Ok((auth, me)),
            (_, None) => Err(AuthError::InvalidToken),
        }
    }

    /// [`Self::authenticate`]; with `with_organisation`, also the actor's [`Me`] (`None` only
    /// if its organisation is missing).
    async fn authenticate_reading(
        &self,
        token: &str,
        with_organisation: bool,
    ) -> Result<(Authenticated, Option<Me>), AuthError> {
        let ctx = self.ctx;
        let token = Token::parse(TokenKind::Session, token).ok_or(AuthError::InvalidToken)?;
        let now = ctx.now();
        let id = SessionId::from_uuid(token.id());
        // Read: the session, its member and (for `GET /me`) their organisation, by key. A
        // store may answer from what it read before while nothing committed since.
        let mut tx = ctx.ports.store.lookup().await?;
        let (session, member, organisation) = if with_organisation {
            tx.session_member_and_organisation(id).await?
        } else {
            tx.session_and_member(id).await?.map(|(session, member)| (session, member, None))
        }
        .ok_or(AuthError::InvalidToken)?;
        // Pure checks, on every request.
        if !ctx.ports.keyring.verify(TokenKind::Session.context(), token.secret(), &session.secret)
        {
            return Err(AuthError::InvalidToken);
        }
        if !self.is_live(&session, now) {
            return Err(AuthError::Expired);
        }
        let member = member
            .filter(|m| m.status == MemberStatus::Enabled && m.org_id == session.org_id)
            .ok_or(AuthError::InvalidToken)?;
        let stale = |s: &Session| now - s.last_seen_at >= TOUCH_INTERVAL;
        let mut parent = None;
        if let Some(info) = &session.impersonation {
            let admin_session =
                tx.sessions().get(info.admin_session_id).await?.ok_or(AuthError::InvalidToken)?;
            if !self.is_live(&admin_session, now) {
                return Err(AuthError::Expired);
            }
            // Rule 16 on every request: the impersonation still holds.
            let holds = tx
                .members()
                .get(info.admin_id)
                .await?
                .is_some_and(|admin| admin.may_impersonate(&member).is_ok());
            if !holds || admin_session.member_id != info.admin_id {
                return Err(AuthError::InvalidToken);
            }
            parent = Some(admin_session);
        }
        drop(tx);
        // Touch: activity is recorded at most once a minute (for an impersonation, on the
        // admin's session too).
        if stale(&session) || parent.as_ref().is_some_and(stale) {
            let mut used = vec![Activity::Session(session.id)];
            used.extend(parent.as_ref().map(|p| Activity::Session(p.id)));
            ctx.ports.store.record_activity(&used, now).await?;
        }
        let impersonator = session.impersonation.as_ref().map(|i| i.admin_id);
        let actor =
            Actor::new(member.id, member.org_id, impersonator, Credential::Session(session.id));
        let me = organisation
            .filter(|o| o.id == member.org_id && with_organisation)
            .map(|organisation| Me { member: member.clone(), organisation });
        Ok((Authenticated { actor, session, member }, me))
    }

    fn is_live(&self, session: &Session, now: DateTime<Utc>) -> bool {
        now < session.expires_at && now < session.last_seen_at + self.ctx.settings.session_idle
    }

    /// Checks an API key (`X-Api-Key`) and says whose it is. Keys of disabled members are
    /// refused (rule 3). Records use at most once a minute.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for unknown, revoked or refused keys.
    pub async fn authenticate_api_key(&self, key: &str) -> Result<Actor, AuthError> {
        let ctx = self.ctx;
        let token = Token::parse(TokenKind::ApiKey, key).ok_or(AuthError::InvalidToken)?;
        let now = ctx.now();
        let mut tx = ctx.ports.store.lookup().await?;
        let (key, member) = tx
            .api_key_and_member(ApiKeyId::from_uuid(token.id()))
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if !ctx.ports.keyring.verify(TokenKind::ApiKey.context(), token.secret(), &key.secret) {
            return Err(AuthError::InvalidToken);
        }
        let member = member
            .filter(|m| m.status == MemberStatus::Enabled && m.org_id == key.org_id)
            .ok_or(AuthError::InvalidToken)?;
        drop(tx);
        if key.last_used_at.is_none_or(|t| now - t >= TOUCH_INTERVAL) {
            ctx.ports.store.record_activity(&[Activity::ApiKey(key.id)], now).await?;
        }
        Ok(Actor::new(member.id, member.org_id, None, Credential::ApiKey(key.id)))
    }

    /// Ends the caller's session (and any impersonation hanging on it). Ending an
    /// impersonation session ends only the impersonation.
    ///
    /// # Errors
    /// [`SessionError::Denied`] for API keys.
    pub async fn logout(&self, actor: &Actor) -> Result<(), SessionError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let Some(session_id) = actor.session() else { return Err(Denied::NeedsSession.into()) };
        let mut tx = ctx.ports.store.write().await?;
        tx.sessions().delete(session_id).await?;
        let action = if actor.impersonator().is_some() {
            AuditAction::ImpersonationEnded
        } else {
            AuditAction::LoggedOut
        };
        ctx.audit_by(tx.as_mut(), actor, action, AuditTarget::Session(session_id), "").await?;
        tx.commit().await?;
        Ok(())
    }

    /// The caller's own log-in sessions (impersonation sessions are not listed).
    ///
    /// # Errors
    /// [`SessionError::Denied`].
    pub async fn sessions(&self, actor: &Actor) -> Result<Vec<SessionView>, SessionError> {
        session_only(actor)?;
        let now = self.ctx.now();
        let mut tx = self.ctx.ports.store.read().await?;
        acting_member(tx.as_mut(), actor).await?;
        let sessions = tx.sessions().list_for_member(actor.member()).await?;
        Ok(sessions
            .into_iter()
            .filter(|s| s.impersonation.is_none() && self.is_live(s, now))
            .map(|s| SessionView {
                current: Some(s.id) == actor.session(),
                id: s.id,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
                client: s.client,
            })
            .collect())
    }

    /// Ends one of the caller's sessions.
    ///
    /// # Errors
    /// [`SessionError::NotFound`] if it is not one of theirs; [`SessionError::Denied`] under an
    /// impersonation (rule 16).
    pub async fn revoke_session(&self, actor: &Actor, id: SessionId) -> Result<(), SessionError> {
        let ctx = self.ctx;
        session_only(actor)?;
        // Rule 16: an impersonating admin does not end the sub-user's own sessions.
        not_impersonating(actor)?;
        let mut tx = ctx.ports.store.write().await?;
        locked_member(tx.as_mut(), actor).await?;
        let session = tx.sessions().get(id).await?;
        if !session.is_some_and(|s| s.member_id == actor.member() && s.impersonation.is_none()) {
            return Err(SessionError::NotFound);
        }
        tx.sessions().delete(id).await?;
        ctx.audit_by(tx.as_mut(), actor, AuditAction::SessionRevoked, AuditTarget::Session(id), "")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of the caller's but the current one; returns how many ended.
    ///
    /// # Errors
    /// [`SessionError::Denied`], also under an impersonation (rule 16).
    pub async fn revoke_other_sessions(&self, actor: &Actor) -> Result<u64, SessionError> {
        let ctx = self.ctx;
        session_only(actor)?;
        not_impersonating(actor)?;
        let mut tx = ctx.ports.store.write().await?;
        let member = locked_member(tx.as_mut(), actor).await?;
        let ended = tx.sessions().delete_for_member(member.id, actor.session()).await?;
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::OtherSessionsRevoked,
            AuditTarget::Member(member.id),
            format!("ended={ended}"),
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Sets the first password of an invited member (rule 4). The member then logs in.
    ///
    /// # Errors
    /// [`AcceptInvitationError`].
    pub async fn accept_invitation(
        &self,
        token: &str,
        new_password: &str,
        from: Option<IpAddr>,
    ) -> Result<MemberId, AcceptInvitationError> {
        let ctx = self.ctx;
        let (token, hash, member) = token_password(
            ctx,
            TokenKind::Invitation,
            (token, new_password, from),
            |member, token| self.check_invitation(member, token),
        )
        .await?;
        let member_id = member.id;
        let mut tx = ctx.ports.store.write().await?;
        // Lock order: the organisation (the member's licence is counted under it), then the
        // member, whose invitation is checked again: it may have been used, replaced or the
        // member disabled while the password was hashed.
        tx.organisations().lock(member.org_id).await?.ok_or(AcceptInvitationError::InvalidToken)?;
        let mut member = self.check_invitation(tx.members().lock(member_id).await?, &token)?;
        member.password = Some(hash);
        member.invitation = None;
        tx.members().update(&member).await?;
        ctx.audit(
            tx.as_mut(),
            Some(member.org_id),
            Principal::Member(member.id),
            None,
            AuditAction::InvitationAccepted,
            AuditTarget::Member(member.id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(member.id)
    }

    fn check_invitation(
        &self,
        member: Option<Member>,
        token: &Token,
    ) -> Result<Member, AcceptInvitationError> {
        // A disabled member holds no licence (rule 1): their invitation waits until re-enabled.
        let member = member
            .filter(|m| m.status == MemberStatus::Enabled)
            .ok_or(AcceptInvitationError::InvalidToken)?;
        let invitation = member.invitation.as_ref().ok_or(AcceptInvitationError::InvalidToken)?;
        let context = TokenKind::Invitation.context();
        if !self.ctx.ports.keyring.verify(context, token.secret(), &invitation.secret) {
            return Err(AcceptInvitationError::InvalidToken);
        }
        if self.ctx.now() >= invitation.expires_at {
            return Err(AcceptInvitationError::Expired);
        }
        Ok(member)
    }
}

/// An error of setting a password with a mailed single-use token (accepting an invitation,
/// completing a reset).
pub(crate) trait TokenPasswordError:
    From<StoreError> + From<HashError> + From<Exhausted>
{
    /// The token is not one (well formed) of its kind.
    fn invalid_token() -> Self;
    /// The new password breaks rule 8.
    fn validation(errors: ValidationErrors) -> Self;
}

/// What comes before the write unit when a password is set with a mailed token of `kind`
/// (`token`, the new password, the client it came from): the try is counted first (rule 24),
/// the token is parsed and `check`ed against the member as read, and the password is checked
/// (rule 8) and hashed outside any unit. Answers the parsed token, the hash and the member as
/// read; the caller locks the member, checks the token again with `check` (it may have been
/// used or replaced while the password was hashed) and writes.
pub(crate) async fn token_password<E: TokenPasswordError>(
    ctx: &Context,
    kind: TokenKind,
    (token, new_password, from): (&str, &str, Option<IpAddr>),
    check: impl Fn(Option<Member>, &Token) -> Result<Member, E>,
) -> Result<(Token, PasswordHash, Member), E> {
    ctx.take_committed(&[token_tries(from)]).await??;
    let token = Token::parse(kind, token).ok_or_else(E::invalid_token)?;
    let member = {
        let mut tx = ctx.ports.store.read().await?;
        tx.members().get(MemberId::from_uuid(token.id())).await?
    };
    let member = check(member, &token)?;
    let password = check_new_password(new_password, &member, "password").map_err(E::validation)?;
    let hash = ctx.ports.passwords.hash(&password).await?;
    Ok((token, hash, member))
}

impl TokenPasswordError for AcceptInvitationError {
    fn invalid_token() -> Self {
        Self::InvalidToken
    }
    fn validation(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<Exhausted> for AcceptInvitationError {
    fn from(e: Exhausted) -> Self {
        Self::Throttled(e)
    }
}

/// Checks a new password against the policy and the member's own identifiers; errors are
/// reported under `field`.
pub(crate) fn check_new_password(
    input: &str,
    member: &Member,
    field: &str,
) -> Result<Password, ValidationErrors> {
    let check = Password::parse(input).and_then(|p| {
        p.check_not_containing(&[
            member.email.as_str(),
            member.email.local_part(),
            member.username.as_str(),
        ])
        .map(|()| p)
    });
    check.map_err(|e: PasswordError| ValidationErrors::single(field, e))
}

/// A new session for `member`, and its token.
pub(crate) fn new_session(
    ctx: &Context,
    member: &Member,
    impersonation: Option<ImpersonationInfo>,
    client: Option<ClientName>,
    expires_at: DateTime<Utc>,
) -> (Session, Token) {
    let id: SessionId = ctx.new_id();
    let token = Token::generate(TokenKind::Session, id.as_uuid(), ctx.ports.random.as_ref());
    let now = ctx.now();
    let session = Session {
        id,
        member_id: member.id,
        org_id: member.org_id,
        secret: ctx.ports.keyring.digest(TokenKind::Session.context(), token.secret()),
        created_at: now,
        last_seen_at: now,
        expires_at,
        client,
        impersonation,
    };
    (session, token)
}

/// Ends every session of `member` (used when they are disabled or deleted).
pub(crate) async fn end_all_sessions(tx: &mut dyn Tx, member: MemberId) -> Result<u64, StoreError> {
    tx.sessions().delete_for_member(member, None).await
}
