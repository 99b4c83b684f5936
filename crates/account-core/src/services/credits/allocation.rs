//! Allocation and reclaim by admins (rule 12): pool headroom checked under the pool's lock, the
//! target member locked first; returning a member's unspent credits (rule 11).

use super::{CreditService, ledger_entry, lock_pool};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::credits::{Allocation, CreditAmount, CreditKind, CreditPool, EntryType};
use crate::domain::idempotency::{IdempotencyKey, KeyConflict, Outcome};
use crate::domain::member::{Member, MemberStatus, Role};
use crate::domain::text::Reason;
use crate::error::{InternalError, ValidationErrors};
use crate::ids::{LedgerEntryId, MemberId};
use crate::ports::Tx;
use crate::services::common::{Denied, Failure, locked_admin, op_error, session_only};
use crate::services::idempotency::Scope;
use crate::services::{Actor, Context};

/// Allocating or reclaiming failed.
#[derive(Debug, thiserror::Error)]
pub enum AllocateError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// No such member in the caller's organisation.
    #[error("no such member in your organisation")]
    MemberNotFound,
    /// Admins spend from the pool directly; only sub-users hold allocations.
    #[error("admins spend from the team pool directly; allocate to sub-users only")]
    TargetIsAdmin,
    /// The member is disabled: re-enable them first.
    #[error("the member is disabled; re-enable them before allocating")]
    TargetDisabled,
    /// The pool's unallocated headroom is smaller than the amount (rule 12).
    #[error("only {available} {kind} credits are unallocated in the team pool", kind = .kind.as_str())]
    InsufficientHeadroom {
        /// The kind.
        kind: CreditKind,
        /// What is left to allocate.
        available: i64,
    },
    /// The member has fewer unspent credits than the amount to reclaim.
    #[error("the member has only {available} unspent {kind} credits", kind = .kind.as_str())]
    InsufficientUnspent {
        /// The kind.
        kind: CreditKind,
        /// What the member has unspent.
        available: i64,
    },
    /// The Idempotency-Key cannot be used for this request.
    #[error(transparent)]
    IdempotencyKey(KeyConflict),
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(AllocateError);

impl From<KeyConflict> for AllocateError {
    fn from(e: KeyConflict) -> Self {
        Self::IdempotencyKey(e)
    }
}

/// The result of an allocation or reclaim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationOutcome {
    /// The member's allocation afterwards.
    pub allocation: Allocation,
    /// The pool afterwards.
    pub pool: CreditPool,
    /// The ledger entry written.
    pub entry_id: LedgerEntryId,
    /// True when this is the replay of an earlier call with the same Idempotency-Key.
    pub replayed: bool,
}

impl CreditService<'_> {
    /// Hands `amount` of the pool's headroom to a sub-user (rule 12). Never overdraws the
    /// pool, even under concurrent calls: the pool row is locked before the check. With an
    /// idempotency key, a retry of the same request replays the first outcome.
    ///
    /// # Errors
    /// [`AllocateError`].
    pub async fn allocate(
        &self,
        actor: &Actor,
        member: MemberId,
        kind: CreditKind,
        amount: i64,
        reason: Option<&str>,
        key: Option<&IdempotencyKey>,
    ) -> Result<AllocationOutcome, AllocateError> {
        self.move_credits(actor, (member, kind, amount, reason), key, EntryType::Allocate).await
    }

    /// Takes back `amount` of a member's unspent allocation into the pool. With an
    /// idempotency key, a retry of the same request replays the first outcome.
    ///
    /// # Errors
    /// [`AllocateError`].
    pub async fn reclaim(
        &self,
        actor: &Actor,
        member: MemberId,
        kind: CreditKind,
        amount: i64,
        reason: Option<&str>,
        key: Option<&IdempotencyKey>,
    ) -> Result<AllocationOutcome, AllocateError> {
        self.move_credits(actor, (member, kind, amount, reason), key, EntryType::Reclaim).await
    }

    async fn move_credits(
        &self,
        actor: &Actor,
        (member_id, kind, amount, reason): (MemberId, CreditKind, i64, Option<&str>),
        key: Option<&IdempotencyKey>,
        entry_type: EntryType,
    ) -> Result<AllocationOutcome, AllocateError> {
        let ctx = self.ctx;
        session_only(actor)?;
        let mut e = ValidationErrors::new();
        let amount = e.check("amount", CreditAmount::new(amount));
        let reason =
            e.check_opt("reason", reason.filter(|r| !r.trim().is_empty()).map(Reason::parse));
        let (Some(amount), Some(reason)) = (amount, reason) else {
            return Err(AllocateError::Validation(e));
        };
        let operation = match entry_type {
            EntryType::Allocate => "allocateCredits",
            _ => "reclaimCredits",
        };
        let keyed = ctx.keyed(
            key,
            Scope::Member(actor.member(), operation),
            &[
                &member_id.to_string(),
                kind.as_str(),
                &amount.get().to_string(),
                reason.as_ref().map_or("", Reason::as_str),
            ],
        );
        let mut tx = ctx.ports.store.write().await?;
        // Lock order: the key, the members (the admin and the target), the pool, the
        // allocation.
        if let Some(keyed) = &keyed
            && let Some(outcome) = ctx.reserve::<AllocateError>(tx.as_mut(), keyed).await?
        {
            let Outcome::CreditsMoved { allocation, pool, entry } = outcome else {
                return Err(KeyConflict::Reused.into());
            };
            return Ok(AllocationOutcome { allocation, pool, entry_id: entry, replayed: true });
        }
        let locked = locked_admin(tx.as_mut(), actor, &[member_id]).await?;
        let target = locked.member(member_id).ok_or(AllocateError::MemberNotFound)?;
        if target.role == Role::Admin {
            return Err(AllocateError::TargetIsAdmin);
        }
        if entry_type == EntryType::Allocate && target.status != MemberStatus::Enabled {
            return Err(AllocateError::TargetDisabled);
        }
        let org = locked.actor.org_id;
        let mut pool = lock_pool(tx.as_mut(), org, kind).await?;
        let mut allocation = tx
            .credits()
            .lock_allocation(member_id, kind)
            .await?
            .unwrap_or(Allocation::empty(member_id, org, kind));
        let n = amount.get();
        if entry_type == EntryType::Allocate {
            pool.allocate(&mut allocation, amount).map_err(|short| {
                AllocateError::InsufficientHeadroom { kind, available: short.available }
            })?;
        } else {
            pool.reclaim(&mut allocation, amount).map_err(|short| {
                AllocateError::InsufficientUnspent { kind, available: short.available }
            })?;
        }
        tx.credits().update_pool(&pool).await?;
        tx.credits().put_allocation(&allocation).await?;
        let entry = ledger_entry(
            ctx,
            (actor.principal(), actor.acting_as()),
            &pool,
            entry_type,
            n,
            Some(member_id),
            reason,
            None,
        );
        tx.credits().append(&entry).await?;
        let action = if entry_type == EntryType::Allocate {
            AuditAction::CreditsAllocated
        } else {
            AuditAction::CreditsReclaimed
        };
        ctx.audit_by(
            tx.as_mut(),
            actor,
            action,
            AuditTarget::Member(member_id),
            format!("kind={} amount={n}", kind.as_str()),
        )
        .await?;
        let outcome = Outcome::CreditsMoved { allocation, pool, entry: entry.id };
        ctx.complete(tx.as_mut(), keyed.as_ref(), &outcome).await?;
        tx.commit().await?;
        Ok(AllocationOutcome { allocation, pool, entry_id: entry.id, replayed: false })
    }
}

/// Returns a member's unspent allocations to the pool (account deletion, promotion to
/// admin). For each kind in order, locks the pool and then the allocation: the domain's lock
/// order (the caller holds the member's lock already).
pub(crate) async fn reclaim_unspent(
    ctx: &Context,
    tx: &mut dyn Tx,
    actor: &Actor,
    member: &Member,
    reason: Option<Reason>,
) -> Result<(), Failure> {
    for kind in CreditKind::ALL {
        let mut pool = lock_pool(tx, member.org_id, kind).await?;
        let Some(mut allocation) = tx.credits().lock_allocation(member.id, kind).await? else {
            continue;
        };
        let Some(unspent) = pool.reclaim_unspent(&mut allocation) else { continue };
        tx.credits().update_pool(&pool).await?;
        tx.credits().put_allocation(&allocation).await?;
        let entry = ledger_entry(
            ctx,
            (actor.principal(), actor.acting_as()),
            &pool,
            EntryType::Reclaim,
            unspent.get(),
            Some(member.id),
            reason.clone(),
            None,
        );
        tx.credits().append(&entry).await?;
        ctx.audit_by(
            tx,
            actor,
            AuditAction::CreditsReclaimed,
            AuditTarget::Member(member.id),
            format!("kind={} amount={}", kind.as_str(), unspent.get()),
        )
        .await?;
    }
    Ok(())
}
