//! Idempotency keys (`Idempotency-Key`): what a client sends to make a retry of a request that
//! creates or moves value safe, and the outcome a use case records under it, in the same unit
//! of work as its effect, to replay for a retry.

use serde::{Deserialize, Serialize};

use super::credits::{Allocation, CreditPool};
use crate::ids::{LedgerEntryId, MemberId};

/// A client's idempotency key: 1 to 255 printable ASCII characters (a UUID is a good choice).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Why a string is not an idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be 1 to {max} printable ASCII characters, like a UUID",
    max = IdempotencyKey::MAX_LEN
)]
pub struct IdempotencyKeyError;

impl IdempotencyKey {
    /// Longest key accepted.
    pub const MAX_LEN: usize = 255;

    /// Checks a key.
    ///
    /// # Errors
    /// [`IdempotencyKeyError`] when it is empty, too long, or has a character outside
    /// printable ASCII.
    pub fn parse(key: &str) -> Result<Self, IdempotencyKeyError> {
        let ok =
            (1..=Self::MAX_LEN).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
        if ok { Ok(Self(key.to_owned())) } else { Err(IdempotencyKeyError) }
    }

    /// The key.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Keys are the client's, but they may carry identifiers: kept out of logs.
impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdempotencyKey({} chars)", self.0.len())
    }
}

/// What a use case did under a key, as it records it for a replay: the values its answer is
/// made of, or the ids of the rows it wrote (a ledger entry never changes once written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// A sub-user was added (and invited).
    MemberAdded {
        /// The new member.
        member: MemberId,
    },
    /// Credits were allocated to or reclaimed from a member.
    CreditsMoved {
        /// The member's allocation afterwards.
        allocation: Allocation,
        /// The pool afterwards.
        pool: CreditPool,
        /// The ledger entry written.
        entry: LedgerEntryId,
    },
    /// A consumption was recorded.
    Consumed {
        /// The ledger entry written.
        entry: LedgerEntryId,
        /// What the spender had left of that kind afterwards.
        available: i64,
    },
    /// Credits were granted to or expired from a pool.
    PoolChanged {
        /// The pool afterwards.
        pool: CreditPool,
        /// The ledger entry written.
        entry: LedgerEntryId,
    },
}

/// Why a key cannot be used for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyConflict {
    /// The key was used before for another request (another target or body).
    #[error("this Idempotency-Key was used for a different request; use a new key")]
    Reused,
    /// The key was recorded by an older version of the server, whose records cannot be
    /// replayed; it is forgotten a day after its first use.
    #[error(
        "this Idempotency-Key was used before the server was upgraded and its result cannot be \
         replayed; check whether the change was made (for credits, in the ledger) before retrying \
         with a new key"
    )]
    Unreplayable,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_printable_ascii() {
        assert!(IdempotencyKey::parse("0f8fad5b-d9cb-469f-a165-70867728950e").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", " ", "a b", "ключ", "tab\there", &"k".repeat(256)] {
            assert_eq!(IdempotencyKey::parse(bad), Err(IdempotencyKeyError), "{bad:?}");
        }
        assert_eq!(
            format!("{:?}", IdempotencyKey::parse("secret-ish").unwrap()),
            "IdempotencyKey(10 chars)"
        );
    }
}
