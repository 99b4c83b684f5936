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

/// Gives an operation error with a `Throttled(Exhausted)` variant the conversion `?` needs
/// (rule 24: a budget is spent).
macro_rules! throttled {
    ($($t:ty),* $(,)?) => {
        $(impl From<$crate::domain::limits::Exhausted> for $t {
            fn from(e: $crate::domain::limits::Exhausted) -> Self {
                Self::Throttled(e)
            }
        })*
    };
}
pub(crate) use throttled;

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
/// impersonated by an enabled admin of the same organisation. For read units: a write unit
/// locks what it relies on with [`lock_members`] instead.
pub(crate) async fn acting_member(tx: &mut dyn Tx, actor: &Actor) -> Result<Member, Failure> {
    session_only(actor)?;
    integration_member(tx, actor).await
}

/// Like [`acting_member`], and an API key is accepted too: only for the integrations' use
/// cases (recording consumption, reading usage and balances).
pub(crate) async fn integration_member(tx: &mut dyn Tx, actor: &Actor) -> Result<Member, Failure> {
    let found = tx.members().get(actor.member()).await?;
    let impersonator = read_impersonator(tx, actor).await?;
    Ok(vet_actor(actor, found, impersonator)?)
}

/// Under impersonation, the admin's row as read (`Some(None)` when the admin is gone).
async fn read_impersonator(
    tx: &mut dyn Tx,
    actor: &Actor,
) -> Result<Option<Option<Member>>, StoreError> {
    match actor.impersonator() {
        Some(admin) => Ok(Some(tx.members().get(admin).await?)),
        None => Ok(None),
    }
}

/// The checks of [`integration_member`] on the rows as read: the actor's member, and under
/// impersonation the admin's (`Some(None)` when the admin is gone).
fn vet_actor(
    actor: &Actor,
    found: Option<Member>,
    impersonator: Option<Option<Member>>,
) -> Result<Member, Denied> {
    let member = found
        .filter(|m| m.org_id == actor.org() && m.status == MemberStatus::Enabled)
        .ok_or(Denied::NotActive)?;
    if let Some(admin) = impersonator {
        // Rule 16, checked on every request: the impersonation still holds.
        if admin.is_none_or(|admin| admin.may_impersonate(&member).is_err()) {
            return Err(Denied::NotActive);
        }
    }
    Ok(member)
}

/// The members a write unit relies on, read and locked in the domain's lock order
/// (`docs/architecture.md`, "Lock order"): see [`lock_members`].
#[derive(Debug)]
pub(crate) struct Locked {
    /// The acting member, vetted as [`integration_member`] vets it.
    pub actor: Member,
    others: Vec<Member>,
}

impl Locked {
    /// One of the other members asked for, if it exists (not erased) in the actor's
    /// organisation.
    pub(crate) fn member(&self, id: MemberId) -> Option<&Member> {
        self.others.iter().find(|m| m.id == id)
    }
}

/// Locks, in one batch by ascending id (the domain's order among members), the member
/// `actor` acts as, the admin behind an impersonation, and `others`; then checks the actor
/// as [`integration_member`] does, on the locked rows. Nothing the checks relied on can
/// change before the unit ends: a concurrent disable, deletion or role change waits for this
/// unit, or this unit waits for it and then sees its result. Callers that need a person at
/// a session check [`session_only`] first.
pub(crate) async fn lock_members(
    tx: &mut dyn Tx,
    actor: &Actor,
    others: &[MemberId],
) -> Result<Locked, Failure> {
    let mut ids = Vec::with_capacity(others.len() + 2);
    ids.push(actor.member());
    ids.extend(actor.impersonator());
    ids.extend_from_slice(others);
    ids.sort_unstable();
    ids.dedup();
    let rows = tx.members().lock_many(&ids).await?;
    let find = |id: MemberId| rows.iter().find(|m| m.id == id).cloned();
    let member = vet_actor(actor, find(actor.member()), actor.impersonator().map(find))?;
    let others = rows.into_iter().filter(|m| m.org_id == member.org_id && others.contains(&m.id));
    Ok(Locked { others: others.collect(), actor: member })
}

/// [`lock_members`] for a person at a session acting as themselves.
pub(crate) async fn locked_member(tx: &mut dyn Tx, actor: &Actor) -> Result<Member, Failure> {
    session_only(actor)?;
    Ok(lock_members(tx, actor, &[]).await?.actor)
}

/// [`lock_members`] for an admin at a session, with the members of their organisation they
/// act on. Under impersonation the actor is the sub-user, so admin pages are refused.
pub(crate) async fn locked_admin(
    tx: &mut dyn Tx,
    actor: &Actor,
    others: &[MemberId],
) -> Result<Locked, Failure> {
    session_only(actor)?;
    let locked = lock_members(tx, actor, others).await?;
    if locked.actor.role == Role::Admin { Ok(locked) } else { Err(Denied::NotAdmin.into()) }
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
    let impersonator = read_impersonator(tx, actor).await?;
    let member = vet_actor(actor, found, impersonator)?;
    Ok((member, organisation.ok_or(Denied::NotActive)?))
}

/// Like [`acting_member`], and the member must be an admin. Under impersonation the member is
/// the sub-user, so admin pages are refused, as the sub-user would be.
pub(crate) async fn acting_admin(tx: &mut dyn Tx, actor: &Actor) -> Result<Member, Failure> {
    let member = acting_member(tx, actor).await?;
    if member.role == Role::Admin { Ok(member) } else { Err(Denied::NotAdmin.into()) }
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

/// Reads a member of the admin's organisation; members of other organisations read as absent.
/// For read units: a write unit locks the members it acts on with [`lock_members`].
pub(crate) async fn member_of_org(
    tx: &mut dyn Tx,
    org: OrganisationId,
    id: MemberId,
) -> Result<Option<Member>, StoreError> {
    Ok(tx.members().get(id).await?.filter(|m| m.org_id == org))
}
