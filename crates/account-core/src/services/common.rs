//! Helpers every use case shares: who may act, ids and time from the ports, audit entries and
//! mail requests written in the caller's unit of work.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Actor, Context, Credential};
use crate::domain::audit::{AuditAction, AuditEntry, AuditTarget, Principal};
use crate::domain::mail::{MailKind, MailMessage, OutboxMail};
use crate::domain::member::{Member, MemberStatus, Role};
use crate::domain::organisation::Organisation;
use crate::error::InternalError;
use crate::ids::{MemberId, OrganisationId};
use crate::ports::{StoreError, Tx};

/// Why the caller may not do this at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The caller's member is disabled, deleted, or (under impersonation) the admin or the
    /// sub-user no longer qualifies: their credentials no longer work.
    #[error("your session or key is no longer valid; log in again")]
    NotActive,
    /// Only an admin of the organisation may do this.
    #[error("only an admin of the organisation may do this")]
    NotAdmin,
    /// Not allowed while impersonating (password, email, API keys, account deletion).
    #[error("this cannot be done while impersonating a member")]
    Impersonating,
    /// Needs a login session; an API key may only record consumption and read usage.
    #[error("this needs a login session; API keys may only record consumption and read usage")]
    NeedsSession,
}

/// A failure common to all use cases, converted into each operation's own error.
#[derive(Debug)]
pub(crate) enum Failure {
    Denied(Denied),
    Internal(InternalError),
}

impl From<Denied> for Failure {
    fn from(d: Denied) -> Self {
        Self::Denied(d)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<InternalError> for Failure {
    fn from(e: InternalError) -> Self {
        Self::Internal(e)
    }
}

impl From<crate::ports::KeyringError> for Failure {
    fn from(e: crate::ports::KeyringError) -> Self {
        Self::Internal(e.into())
    }
}

/// Gives an operation error with `Denied(Denied)` and `Internal(InternalError)` variants the
/// conversions `?` needs.
macro_rules! op_error {
    ($t:ty) => {
        impl From<$crate::ports::StoreError> for $t {
            fn from(e: $crate::ports::StoreError) -> Self {
                Self::Internal(e.into())
            }
        }
        impl From<$crate::ports::HashError> for $t {
            fn from(e: $crate::ports::HashError) -> Self {
                Self::Internal(e.into())
            }
        }
        impl From<$crate::ports::KeyringError> for $t {
            fn from(e: $crate::ports::KeyringError) -> Self {
                Self::Internal(e.into())
            }
        }
        impl From<$crate::services::common::Failure> for $t {
            fn from(f: $crate::services::common::Failure) -> Self {
                match f {
                    $crate::services::common::Failure::Denied(d) => Self::Denied(d),
                    $crate::services::common::Failure::Internal(i) => Self::Internal(i),
                }
            }
        }
        impl From<$crate::services::common::Denied> for $t {
            fn from(d: $crate::services::common::Denied) -> Self {
                Self::Denied(d)
            }
        }
    };
}
pub(crate) use op_error;

impl Context {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.ports.clock.now()
    }

    /// A time-ordered (version 7) UUID from the clock and the random port. Within one
    /// process ids are strictly increasing: a 12-bit counter (started at a random value below
    /// 1024 each new millisecond) fills `rand_a`, and when it overflows the timestamp moves on
    /// by a millisecond.
    pub(crate) fn new_uuid(&self) -> Uuid {
        let mut bytes = [0u8; 10];
        self.ports.random.fill(&mut bytes);
        let now = u64::try_from(self.now().timestamp_millis()).unwrap_or(0);
        let (millis, counter) = {
            let mut last = self.ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if now > last.0 {
                *last = (now, u16::from_le_bytes([bytes[0], bytes[1]]) & 0x03ff);
            } else if last.1 >= 0x0fff {
                *last = (last.0 + 1, 0);
            } else {
                last.1 += 1;
            }
            *last
        };
        let [high, low] = counter.to_be_bytes();
        bytes[0] = high;
        bytes[1] = low;
        uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
    }

    pub(crate) fn new_id<T: From<Uuid>>(&self) -> T {
        T::from(self.new_uuid())
    }

    /// Appends an audit entry in `tx`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn audit(
        &self,
        tx: &mut dyn Tx,
        org_id: Option<OrganisationId>,
        actor: Principal,
        acting_as: Option<MemberId>,
        action: AuditAction,
        target: AuditTarget,
        detail: impl Into<String> + Send,
    ) -> Result<(), StoreError> {
        let entry = AuditEntry {
            id: self.new_id(),
            org_id,
            at: self.now(),
            actor,
            acting_as,
            action,
            target,
            detail: detail.into(),
        };
        tx.audit().append(&entry).await
    }

    /// Appends an audit entry for something `actor` did in their organisation.
    pub(crate) async fn audit_by(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        action: AuditAction,
        target: AuditTarget,
        detail: impl Into<String> + Send,
    ) -> Result<(), StoreError> {
        self.audit(
            tx,
            Some(actor.org()),
            actor.principal(),
            actor.acting_as(),
            action,
            target,
            detail,
        )
        .await
    }

    /// Seals a mail and puts it in the outbox of `tx`, so it is sent if and only if the change
    /// that caused it commits.
    pub(crate) async fn send_mail(
        &self,
        tx: &mut dyn Tx,
        kind: MailKind,
        message: &MailMessage,
    ) -> Result<(), Failure> {
        let sealed = self.ports.keyring.seal(&message.encode())?;
        let now = self.now();
        let mail = OutboxMail {
            id: self.new_id(),
            kind,
            sealed,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            sent_at: None,
        };
        tx.outbox().enqueue(&mail).await?;
        Ok(())
    }
}

/// Loads the member `actor` acts as and checks that it may still act: a person at a session
/// (API keys may only record consumption and read usage, see [`integration_member`]),
/// enabled, in the organisation it claims, and, under impersonation, still a sub-user
/// impersonated by an enabled admin of the same organisation.
pub(crate) async fn acting_member(tx: &mut dyn Tx, actor: &Actor) -> Result<Member, Failure> {
    session_only(actor)?;
    integration_member(tx, actor).await
}

/// Like [`acting_member`], and an API key is accepted too: only for the integrations' use
/// cases (recording consumption, reading usage and balances).
pub(crate) async fn integration_member(tx: &mut dyn Tx, actor: &Actor) -> Result<Member, Failure> {
    let found = tx.members().get(actor.member()).await?;
    vet_actor(tx, actor, found).await
}

/// The checks of [`integration_member`] on the actor's member row as read.
async fn vet_actor(
    tx: &mut dyn Tx,
    actor: &Actor,
    found: Option<Member>,
) -> Result<Member, Failure> {
    let member = found
        .filter(|m| m.org_id == actor.org() && m.status == MemberStatus::Enabled)
        .ok_or(Denied::NotActive)?;
    if let Some(admin_id) = actor.impersonator() {
        let admin_ok = tx
            .members()
            .get(admin_id)
            .await?
            .is_some_and(|a| a.is_enabled_admin() && a.org_id == member.org_id);
        if !admin_ok || member.role != Role::SubUser {
            return Err(Denied::NotActive.into());
        }
    }
    Ok(member)
}

/// [`acting_member`] and the member's organisation, read together.
pub(crate) async fn acting_member_and_organisation(
    tx: &mut dyn Tx,
    actor: &Actor,
) -> Result<(Member, Organisation), Failure> {
    session_only(actor)?;
    let (found, organisation) = match tx.member_and_organisation(actor.member()).await? {
        Some((member, organisation)) => (Some(member), organisation),
        None => (None, None),
    };
    let member = vet_actor(tx, actor, found).await?;
    Ok((member, organisation.ok_or(Denied::NotActive)?))
}

/// Like [`acting_member`], and the member must be an admin. Under impersonation the member is
/// the sub-user, so admin pages are refused, as the sub-user would be.
pub(crate) async fn acting_admin(tx: &mut dyn Tx, actor: &Actor) -> Result<Member, Failure> {
    let member = acting_member(tx, actor).await?;
    if member.role == Role::Admin { Ok(member) } else { Err(Denied::NotAdmin.into()) }
}

/// [`acting_admin`], and the member `target` of the admin's organisation (unlocked, as
/// [`member_of_org`]), read together.
pub(crate) async fn acting_admin_and_member(
    tx: &mut dyn Tx,
    actor: &Actor,
    target: MemberId,
) -> Result<(Member, Option<Member>), Failure> {
    session_only(actor)?;
    let (found, target) = tx.member_pair(actor.member(), target).await?;
    let admin = vet_actor(tx, actor, found).await?;
    if admin.role != Role::Admin {
        return Err(Denied::NotAdmin.into());
    }
    let target = target.filter(|m| m.org_id == admin.org_id);
    Ok((admin, target))
}

/// Refuses impersonated requests (rule 16: password, email, API keys, deletion).
pub(crate) fn not_impersonating(actor: &Actor) -> Result<(), Denied> {
    if actor.impersonator().is_some() { Err(Denied::Impersonating) } else { Ok(()) }
}

/// Refuses API-key requests for operations that need a person at a session.
pub(crate) fn session_only(actor: &Actor) -> Result<(), Denied> {
    match actor.credential() {
        Credential::Session(_) => Ok(()),
        Credential::ApiKey(_) => Err(Denied::NeedsSession),
    }
}

/// Loads a member of the admin's organisation; members of other organisations read as absent.
pub(crate) async fn member_of_org(
    tx: &mut dyn Tx,
    org: OrganisationId,
    id: MemberId,
    lock: bool,
) -> Result<Option<Member>, StoreError> {
    let found = if lock { tx.members().lock(id).await? } else { tx.members().get(id).await? };
    Ok(found.filter(|m| m.org_id == org))
}
