//! The repositories of [`SeaTx`](crate::store::SeaTx), one module per aggregate, each with the
//! mapping between its rows and the domain's records. Shared here: helpers that read stored
//! values back through the domain's parse functions, and the time precision rule.

use account_core::domain::secret::SecretDigest;
use account_core::domain::verification::PendingCode;
use account_core::ports::StoreError;
use chrono::{DateTime, SubsecRound, Utc};

use crate::error::corrupt;

mod api_keys;
mod audit;
mod catalogue;
mod contacts;
mod credits;
mod digests;
mod email_changes;
mod idempotency;
mod limits;
mod members;
mod organisations;
mod outbox;
mod rollups;
pub(crate) mod sessions;

/// Times are stored with microsecond precision (PostgreSQL keeps no more), on both backends,
/// so that what is read back equals what was written and both backends order alike.
pub(crate) fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Like [`micros`], for an optional time.
pub(crate) fn micros_opt(at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    at.map(micros)
}

/// Parses a stored text with a domain parse function; a failure means the row is corrupt.
pub(crate) fn parse<T, E>(column: &str, parsed: Result<T, E>) -> Result<T, StoreError> {
    parsed.map_err(|_| corrupt(column))
}

/// A required column that may be NULL only in tombstones.
pub(crate) fn required<T>(column: &str, value: Option<T>) -> Result<T, StoreError> {
    value.ok_or_else(|| corrupt(column))
}

/// Parses an optional stored text.
pub(crate) fn parse_opt<T, E>(
    column: &str,
    value: Option<&str>,
    parse_fn: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    value.map(|v| parse(column, parse_fn(v))).transpose()
}

/// A stored digest (32 bytes).
pub(crate) fn digest(column: &str, bytes: &[u8]) -> Result<SecretDigest, StoreError> {
    SecretDigest::from_slice(bytes).ok_or_else(|| corrupt(column))
}

/// A stored non-negative counter of a narrower type.
pub(crate) fn narrow<T: TryFrom<i64>>(column: &str, value: i64) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| corrupt(column))
}

/// A domain counter that must fit the column's `BIGINT`.
pub(crate) fn widen(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::Other("a counter is beyond the range stored".into()))
}

/// The columns of a pending verification code (contacts and email changes).
#[derive(Default)]
pub(crate) struct CodeColumns {
    pub digest: Option<Vec<u8>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub wrong_tries: Option<i32>,
    pub sends: Option<i32>,
}

impl CodeColumns {
    pub(crate) fn of(code: Option<&PendingCode>) -> Self {
        code.map_or_else(Self::default, |c| Self {
            digest: Some(c.digest.as_bytes().to_vec()),
            sent_at: Some(micros(c.sent_at)),
            expires_at: Some(micros(c.expires_at)),
            wrong_tries: Some(i32::from(c.wrong_tries)),
            sends: Some(i32::from(c.sends)),
        })
    }

    /// Reads the code back: all columns set, or all NULL.
    pub(crate) fn read(self, table: &str) -> Result<Option<PendingCode>, StoreError> {
        match (self.digest, self.sent_at, self.expires_at, self.wrong_tries, self.sends) {
            (None, None, None, None, None) => Ok(None),
            (Some(d), Some(sent_at), Some(expires_at), Some(wrong), Some(sends)) => {
                Ok(Some(PendingCode {
                    digest: digest(&format!("{table}.code_digest"), &d)?,
                    sent_at,
                    expires_at,
                    wrong_tries: narrow(&format!("{table}.code_wrong_tries"), i64::from(wrong))?,
                    sends: narrow(&format!("{table}.code_sends"), i64::from(sends))?,
                }))
            }
            _ => Err(corrupt(&format!("{table}.code_*"))),
        }
    }
}
