//! Credits, for support (billing's effect): grant to and expire from a pool, idempotent with a key.

use super::{Operator, OperatorError, OperatorService};
use crate::domain::audit::{AuditAction, AuditTarget, Principal};
use crate::domain::credits::{CreditAmount, CreditKind, CreditPool, EntryType};
use crate::domain::idempotency::{IdempotencyKey, KeyConflict, Outcome};
use crate::domain::text::Reason;
use crate::error::ValidationErrors;
use crate::ids::{LedgerEntryId, OrganisationId};
use crate::services::credits::{ledger_entry, lock_pool};
use crate::services::idempotency::Scope;

/// A pool after a grant or an expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolChange {
    /// The pool afterwards.
    pub pool: CreditPool,
    /// The ledger entry written.
    pub entry_id: LedgerEntryId,
    /// True when this is the replay of an earlier call with the same Idempotency-Key.
    pub replayed: bool,
}

impl OperatorService<'_> {
    /// Adds credits to a pool (billing's effect). With an idempotency key, a retry of the
    /// same request replays the first outcome.
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn grant_credits(
        &self,
        _op: &Operator,
        id: OrganisationId,
        (kind, amount, reason): (CreditKind, i64, &str),
        key: Option<&IdempotencyKey>,
    ) -> Result<PoolChange, OperatorError> {
        self.change_pool(id, (kind, amount, reason), key, EntryType::Grant).await
    }

    /// Removes unallocated credits from a pool. With an idempotency key, a retry of the same
    /// request replays the first outcome.
    ///
    /// # Errors
    /// [`OperatorError`].
    pub async fn expire_credits(
        &self,
        _op: &Operator,
        id: OrganisationId,
        (kind, amount, reason): (CreditKind, i64, &str),
        key: Option<&IdempotencyKey>,
    ) -> Result<PoolChange, OperatorError> {
        self.change_pool(id, (kind, amount, reason), key, EntryType::Expire).await
    }

    async fn change_pool(
        &self,
        id: OrganisationId,
        (kind, amount, reason): (CreditKind, i64, &str),
        key: Option<&IdempotencyKey>,
        entry_type: EntryType,
    ) -> Result<PoolChange, OperatorError> {
        let ctx = self.ctx;
        let mut e = ValidationErrors::new();
        let amount = e.check("amount", CreditAmount::new(amount));
        let reason = e.check("reason", Reason::parse(reason));
        let (Some(amount), Some(reason)) = (amount, reason) else {
            return Err(OperatorError::Validation(e));
        };
        let operation = match entry_type {
            EntryType::Grant => "grantCredits",
            _ => "expireCredits",
        };
        let keyed = ctx.keyed(
            key,
            Scope::Operator(operation),
            &[&id.to_string(), kind.as_str(), &amount.get().to_string(), reason.as_str()],
        );
        let mut tx = ctx.ports.store.write().await?;
        // Lock order: the key, then the pool. The organisation is only read: organisations
        // are never deleted.
        if let Some(keyed) = &keyed
            && let Some(outcome) = ctx.reserve::<OperatorError>(tx.as_mut(), keyed).await?
        {
            let Outcome::PoolChanged { pool, entry } = outcome else {
                return Err(KeyConflict::Reused.into());
            };
            return Ok(PoolChange { pool, entry_id: entry, replayed: true });
        }
        tx.organisations().get(id).await?.ok_or(OperatorError::OrganisationNotFound)?;
        let mut pool = lock_pool(tx.as_mut(), id, kind).await?;
        let n = amount.get();
        if entry_type == EntryType::Grant {
            pool.grant(amount);
        } else {
            pool.expire(amount).map_err(|short| OperatorError::InsufficientHeadroom {
                kind,
                available: short.available,
            })?;
        }
        tx.credits().update_pool(&pool).await?;
        let entry = ledger_entry(
            ctx,
            (Principal::Operator, None),
            &pool,
            entry_type,
            n,
            None,
            Some(reason),
            None,
        );
        tx.credits().append(&entry).await?;
        let action = if entry_type == EntryType::Grant {
            AuditAction::CreditsGranted
        } else {
            AuditAction::CreditsExpired
        };
        self.audit(
            tx.as_mut(),
            Some(id),
            action,
            AuditTarget::CreditPool(kind),
            format!("kind={} amount={n}", kind.as_str()),
        )
        .await?;
        let outcome = Outcome::PoolChanged { pool, entry: entry.id };
        ctx.complete(tx.as_mut(), keyed.as_ref(), &outcome).await?;
        tx.commit().await?;
        Ok(PoolChange { pool, entry_id: entry.id, replayed: false })
    }
}
