//! Housekeeping: forgets what has expired (sessions past their absolute end, idempotency
//! records older than their retention, abuse budgets that have refilled and clients no longer
//! remembered), so stores do not grow without bound.

use chrono::Duration;

use super::Context;
use crate::error::InternalError;

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_RETENTION: Duration = Duration::hours(24);

/// What one round removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Sessions past their absolute end (and impersonations hanging on them).
    pub sessions: u64,
    /// Idempotency records past their retention.
    pub idempotency_keys: u64,
    /// Abuse-limit rows that carry nothing any more: full budgets, forgotten clients.
    pub limits: u64,
}

/// Housekeeping.
#[derive(Debug)]
pub struct HousekeepingService<'a> {
    ctx: &'a Context,
}

impl<'a> HousekeepingService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    /// Removes expired sessions, idempotency records and limit rows.
    ///
    /// # Errors
    /// [`InternalError`] when the store fails.
    pub async fn purge_expired(&self) -> Result<Purged, InternalError> {
        let now = self.ctx.now();
        let mut tx = self.ctx.ports.store.write().await?;
        let sessions = tx.sessions().delete_expired(now).await?;
        let idempotency_keys = tx.idempotency().purge(now - IDEMPOTENCY_RETENTION).await?;
        let limits = tx.limits().purge(now).await?;
        tx.commit().await?;
        Ok(Purged { sessions, idempotency_keys, limits })
    }
}
