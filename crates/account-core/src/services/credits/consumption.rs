//! Recording consumption (rule 13): a sub-user spends their allocation, an admin the pool's
//! headroom; idempotent on the client's event id and on an Idempotency-Key.

use super::{CreditService, ledger_entry, lock_pool};
use crate::domain::audit::{AuditAction, AuditTarget};
use crate::domain::credits::{
    Allocation, ConsumptionDetail, CreditAmount, CreditKind, CreditPool, EntryType, LedgerEntry,
};
use crate::domain::idempotency::{IdempotencyKey, KeyConflict, Outcome};
use crate::domain::mail::MailKind;
use crate::domain::member::{Member, Role};
use crate::domain::text::{DataType, EventId, Provider};
use crate::error::{InternalError, ValidationErrors};
use crate::ports::{StoreError, Tx, UniqueKey};
use crate::services::common::{Denied, lock_members, op_error};
use crate::services::idempotency::{Keyed, Scope};
use crate::services::{Actor, templates};

/// Recording a consumption failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// Not enough credits: the member's unspent allocation, or for an admin the pool's headroom.
    #[error("only {available} {kind} credits are available", kind = .kind.as_str())]
    InsufficientCredits {
        /// The kind.
        kind: CreditKind,
        /// What is available.
        available: i64,
    },
    /// The event id was used before for a different consumption.
    #[error("this event id was already used for a different consumption")]
    EventIdReused,
    /// Another request with the same event id is being recorded right now; retry.
    #[error("a consumption with this event id is being recorded; retry to get its result")]
    EventIdInFlight,
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
op_error!(ConsumeError);

impl From<KeyConflict> for ConsumeError {
    fn from(e: KeyConflict) -> Self {
        Self::IdempotencyKey(e)
    }
}

/// A consumption to record (rule 13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeInput {
    /// Kind, as its stable name.
    pub kind: String,
    /// Amount.
    pub amount: i64,
    /// Data type (email, phone_number, direct_dial, export, call_minute…).
    pub data_type: String,
    /// Provider.
    pub provider: String,
    /// The client's event id.
    pub event_id: String,
}

/// The recorded consumption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeOutcome {
    /// The ledger entry.
    pub entry: LedgerEntry,
    /// True when the event id (or the Idempotency-Key) was recorded before and this is that
    /// same consumption.
    pub replayed: bool,
    /// What the spender has left of that kind afterwards (as of this call).
    pub available: i64,
}

impl CreditService<'_> {
    /// Records a consumption (rule 13): a sub-user spends their allocation, an admin the
    /// pool's headroom. The same event id with the same content returns the first record; with
    /// other content it is refused. With an idempotency key, a retry of the same request
    /// replays the first outcome.
    ///
    /// # Errors
    /// [`ConsumeError`].
    pub async fn consume(
        &self,
        actor: &Actor,
        input: &ConsumeInput,
        key: Option<&IdempotencyKey>,
    ) -> Result<ConsumeOutcome, ConsumeError> {
        let ctx = self.ctx;
        let mut e = ValidationErrors::new();
        let kind = CreditKind::parse(&input.kind);
        if kind.is_none() {
            e.push("kind", "must be one of export, direct_dial, calling_credits, calling_minutes");
        }
        let amount = e.check("amount", CreditAmount::new(input.amount));
        let data_type = e.check("data_type", DataType::parse(&input.data_type));
        let provider = e.check("provider", Provider::parse(&input.provider));
        let event_id = e.check("event_id", EventId::parse(&input.event_id));
        let (Some(kind), Some(amount), Some(data_type), Some(provider), Some(event_id)) =
            (kind, amount, data_type, provider, event_id)
        else {
            return Err(ConsumeError::Validation(e));
        };
        let detail = ConsumptionDetail { data_type, provider, event_id };
        let keyed = ctx.keyed(
            key,
            Scope::Member(actor.member(), "recordConsumption"),
            &[
                kind.as_str(),
                &amount.get().to_string(),
                detail.data_type.as_str(),
                detail.provider.as_str(),
                detail.event_id.as_str(),
            ],
        );
        match self.consume_once(actor, kind, amount, &detail, keyed.as_ref()).await {
            // Another unit recorded the event id while this one ran (PostgreSQL: this
            // unit's insert waited for it): run again, which replays that consumption.
            Err(ConsumeError::EventIdInFlight) => {
                self.consume_once(actor, kind, amount, &detail, keyed.as_ref()).await
            }
            other => other,
        }
    }

    async fn consume_once(
        &self,
        actor: &Actor,
        kind: CreditKind,
        amount: CreditAmount,
        detail: &ConsumptionDetail,
        keyed: Option<&Keyed>,
    ) -> Result<ConsumeOutcome, ConsumeError> {
        let ctx = self.ctx;
        let n = amount.get();
        let mut tx = ctx.ports.store.write().await?;
        // Lock order: the key, the member, then the pool (an admin) or their allocation (a
        // sub-user).
        if let Some(keyed) = keyed
            && let Some(outcome) = ctx.reserve::<ConsumeError>(tx.as_mut(), keyed).await?
        {
            let Outcome::Consumed { entry, available } = outcome else {
                return Err(KeyConflict::Reused.into());
            };
            let entry = tx.credits().entry(actor.org(), entry).await?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the consumption {entry} of an idempotency key is gone"
                ))
            })?;
            return Ok(ConsumeOutcome { entry, replayed: true, available });
        }
        let member = lock_members(tx.as_mut(), actor, &[]).await?.actor;
        let from_pool = member.role == Role::Admin;
        if let Some(previous) =
            tx.credits().find_consumption(member.org_id, &detail.event_id).await?
        {
            let same_spender = if from_pool {
                previous.member_id.is_none() && previous.actor.member() == Some(member.id)
            } else {
                previous.member_id == Some(member.id)
            };
            let same = same_spender
                && previous.kind == kind
                && previous.amount == n
                && previous.consumption.as_ref() == Some(detail);
            if !same {
                return Err(ConsumeError::EventIdReused);
            }
            let available = available_to(tx.as_mut(), &member, kind).await?;
            return Ok(ConsumeOutcome { entry: previous, replayed: true, available });
        }
        let (pool, available_after, alert) = if from_pool {
            let mut pool = lock_pool(tx.as_mut(), member.org_id, kind).await?;
            pool.spend(amount).map_err(|short| ConsumeError::InsufficientCredits {
                kind,
                available: short.available,
            })?;
            tx.credits().update_pool(&pool).await?;
            (pool, pool.headroom(), false)
        } else {
            let mut allocation = tx
                .credits()
                .lock_allocation(member.id, kind)
                .await?
                .unwrap_or(Allocation::empty(member.id, member.org_id, kind));
            let before = allocation.available();
            allocation.spend(amount).map_err(|short| ConsumeError::InsufficientCredits {
                kind,
                available: short.available,
            })?;
            tx.credits().put_allocation(&allocation).await?;
            let threshold = allocation.allocated() / 10;
            let alert = before >= threshold && allocation.available() < threshold;
            (CreditPool::empty(member.org_id, kind), allocation.available(), alert)
        };
        let spender = if from_pool { None } else { Some(member.id) };
        let entry = ledger_entry(
            ctx,
            (actor.principal(), actor.acting_as()),
            &pool,
            EntryType::Consume,
            n,
            spender,
            None,
            Some(detail.clone()),
        );
        match tx.credits().append(&entry).await {
            Ok(()) => {}
            Err(StoreError::Conflict(UniqueKey::ConsumptionEvent)) => {
                return Err(ConsumeError::EventIdInFlight);
            }
            Err(other) => return Err(other.into()),
        }
        ctx.audit_by(
            tx.as_mut(),
            actor,
            AuditAction::CreditsConsumed,
            AuditTarget::CreditPool(kind),
            format!("kind={} amount={n} entry={}", kind.as_str(), entry.id),
        )
        .await?;
        if alert && member.preferences.notifications.low_credit_alerts {
            let text = format!(
                "You have {available_after} {} credits left, less than a tenth of what was \
                 allocated to you. Ask your admin for more.",
                kind.as_str()
            );
            let mail = templates::notice(
                &ctx.settings,
                &member.email,
                "Your credits are running low",
                &text,
            );
            ctx.send_mail(tx.as_mut(), MailKind::LowCredits, &mail).await?;
        }
        let outcome = Outcome::Consumed { entry: entry.id, available: available_after };
        ctx.complete(tx.as_mut(), keyed, &outcome).await?;
        tx.commit().await?;
        Ok(ConsumeOutcome { entry, replayed: false, available: available_after })
    }
}

async fn available_to(
    tx: &mut dyn Tx,
    member: &Member,
    kind: CreditKind,
) -> Result<i64, StoreError> {
    if member.role == Role::Admin {
        let pools = tx.credits().pools(member.org_id).await?;
        Ok(pools.iter().find(|p| p.kind() == kind).map_or(0, CreditPool::headroom))
    } else {
        let allocations = tx.credits().allocations_of_member(member.id).await?;
        Ok(allocations.iter().find(|a| a.kind() == kind).map_or(0, Allocation::available))
    }
}
