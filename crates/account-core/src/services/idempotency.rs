//! Idempotency keys inside the use case's own unit of work (zero-to-production's
//! `idempotency` module is the shape): the unit's first statement reserves the key, the
//! effect follows, and the outcome completes the record before the unit's one commit. So a
//! unit that does not commit (an error, a crash) leaves no trace and its key is free for the
//! retry; one that commits can always be replayed; and a second request with the same key
//! waits for the first unit to end, then replays its outcome.

use super::Context;
use super::common::Failure;
use super::housekeeping::IDEMPOTENCY_RETENTION as RETENTION;
use crate::domain::idempotency::{IdempotencyKey, KeyConflict, Outcome};
use crate::domain::secret::to_hex;
use crate::ids::MemberId;
use crate::ports::{IdempotencyRecord, StoreError, Tx, UniqueKey};

/// Keyring context of request fingerprints.
const FINGERPRINT_CONTEXT: &str = "idempotency";

/// Who a key belongs to, and the operation: keys of different scopes never meet.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    /// A member's key for one of their operations (named as the API's operation ids).
    Member(MemberId, &'static str),
    /// The operator's key for one of support's operations.
    Operator(&'static str),
}

/// A key with the scope and the request it is used for.
#[derive(Debug)]
pub(crate) struct Keyed {
    scope: String,
    key: String,
    fingerprint: String,
}

impl Context {
    /// `key`, if any, for `request`: the parsed values that make the request, in a fixed
    /// order. The same key with other values is refused as reused.
    pub(crate) fn keyed(
        &self,
        key: Option<&IdempotencyKey>,
        scope: Scope,
        request: &[&str],
    ) -> Option<Keyed> {
        let key = key?;
        let scope = match scope {
            Scope::Member(member, operation) => format!("member:{member}:{operation}"),
            Scope::Operator(operation) => format!("operator:{operation}"),
        };
        // Length-prefixed, so that no two different requests make the same bytes.
        let mut canonical = Vec::new();
        for value in request {
            canonical.extend_from_slice(format!("{}:", value.len()).as_bytes());
            canonical.extend_from_slice(value.as_bytes());
        }
        let digest = self.ports.keyring.digest(FINGERPRINT_CONTEXT, &canonical);
        Some(Keyed { scope, key: key.as_str().to_owned(), fingerprint: to_hex(digest.as_bytes()) })
    }

    /// Reserves `keyed` in `tx`, which must not have written anything yet. `Some(outcome)`
    /// when the key was used before for the same request: the caller replays it and changes
    /// nothing.
    pub(crate) async fn reserve<E>(
        &self,
        tx: &mut dyn Tx,
        keyed: &Keyed,
    ) -> Result<Option<Outcome>, E>
    where
        E: From<KeyConflict> + From<StoreError>,
    {
        let now = self.now();
        let record = IdempotencyRecord {
            scope: keyed.scope.clone(),
            key: keyed.key.clone(),
            fingerprint: keyed.fingerprint.clone(),
            outcome: None,
            created_at: now,
        };
        let repo = tx.idempotency();
        match repo.insert(&record).await {
            Ok(()) => return Ok(None),
            Err(StoreError::Conflict(UniqueKey::IdempotencyKey)) => {}
            Err(other) => return Err(other.into()),
        }
        let existing = repo.get(&keyed.scope, &keyed.key).await?;
        match existing {
            Some(found) if found.created_at + RETENTION > now => match found.outcome {
                // Left by an older server, whose fingerprints differ too.
                None => Err(KeyConflict::Unreplayable.into()),
                Some(_) if found.fingerprint != keyed.fingerprint => {
                    Err(KeyConflict::Reused.into())
                }
                Some(outcome) => Ok(Some(outcome)),
            },
            // Past its retention (or purged meanwhile): forgotten, so reserved anew.
            _ => {
                repo.delete(&keyed.scope, &keyed.key).await?;
                repo.insert(&record).await?;
                Ok(None)
            }
        }
    }

    /// Records what the use case did under `keyed`, reserved earlier in the same unit.
    pub(crate) async fn complete(
        &self,
        tx: &mut dyn Tx,
        keyed: Option<&Keyed>,
        outcome: &Outcome,
    ) -> Result<(), Failure> {
        if let Some(keyed) = keyed {
            tx.idempotency().complete(&keyed.scope, &keyed.key, outcome).await?;
        }
        Ok(())
    }
}
