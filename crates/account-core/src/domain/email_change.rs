//! The email-change flow (rule 9): code to the current address, then the new address typed
//! twice and a code to it; only then does the login email switch.

use chrono::{DateTime, Duration, Utc};

use super::email::EmailAddress;
use super::verification::PendingCode;
use crate::ids::{EmailChangeId, MemberId};

/// How long a whole flow may take before it must start again.
pub const FLOW_TTL: Duration = Duration::hours(1);

/// Where a flow stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailChangeStage {
    /// A code went to the current address; waiting for it.
    AwaitingCurrentCode,
    /// The current address is confirmed; waiting for the new address, typed twice.
    AwaitingNewAddress,
    /// A code went to `new_email`; waiting for it.
    AwaitingNewCode {
        /// The address that will become the login email.
        new_email: EmailAddress,
    },
}

impl EmailChangeStage {
    /// Stable name, as stored and shown.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::AwaitingCurrentCode => "awaiting_current_code",
            Self::AwaitingNewAddress => "awaiting_new_address",
            Self::AwaitingNewCode { .. } => "awaiting_new_code",
        }
    }
}

/// A member's email-change flow (at most one per member; starting again replaces it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailChange {
    /// Its id; codes are bound to it.
    pub id: EmailChangeId,
    /// The member.
    pub member_id: MemberId,
    /// Where it stands.
    pub stage: EmailChangeStage,
    /// The code waiting to be entered, in the code stages.
    pub code: Option<PendingCode>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it stops being usable.
    pub expires_at: DateTime<Utc>,
}

impl EmailChange {
    /// The keyring context of this flow's codes at its current stage, so that the code sent
    /// to one address cannot confirm the other.
    #[must_use]
    pub fn code_context(&self) -> String {
        format!("email-change:{}:{}", self.id, self.stage.as_str())
    }
}
