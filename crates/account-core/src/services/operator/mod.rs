//! What support staff do with the operator credential: create organisations, set licences
//! and plan, grant and expire credits, rename usernames (rule 7), rotate and revoke API keys,
//! change registration numbers, and manage the products catalogue. One error enum serves
//! the operator's operations.

mod catalogue;
mod credits;
mod members;
mod organisations;

use super::Context;
use crate::domain::audit::{AuditAction, AuditTarget, Principal};
use crate::domain::credits::CreditKind;
use crate::domain::idempotency::KeyConflict;
use crate::domain::organisation::{Organisation, SeatsBelowMembers};
use crate::error::{InternalError, ValidationErrors};
use crate::ids::OrganisationId;
use crate::ports::{StoreError, Tx};

pub use credits::PoolChange;
pub use organisations::{CreatedOrganisation, NewOrganisation, NewPlanSeats, OrganisationDetail};

/// Support staff, authenticated by the operator credential of the server's configuration.
/// The name labels logs; the audit log records [`Principal::Operator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    name: String,
}

impl Operator {
    /// An operator known as `name` (for example `cli` or `api`).
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self { name: name.to_owned() }
    }

    /// The operator's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// An operator operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// No such organisation.
    #[error("no such organisation")]
    OrganisationNotFound,
    /// No such member.
    #[error("no such member")]
    MemberNotFound,
    /// No such API key.
    #[error("no such API key")]
    ApiKeyNotFound,
    /// No such catalogue entry.
    #[error("no such product")]
    ProductNotFound,
    /// The email is already someone's login.
    #[error("this email address is already used by an account")]
    EmailTaken,
    /// The username is taken.
    #[error("this username is taken")]
    UsernameTaken,
    /// A catalogue entry has this name.
    #[error("a product with this name exists")]
    ProductNameTaken,
    /// The new seats would leave members without one (rules 1, 23).
    #[error(transparent)]
    SeatsBelowMembers(SeatsBelowMembers),
    /// Not enough unallocated credits to expire.
    #[error("only {available} {kind} credits are unallocated", kind = .kind.as_str())]
    InsufficientHeadroom {
        /// The kind.
        kind: CreditKind,
        /// Unallocated credits.
        available: i64,
    },
    /// The Idempotency-Key cannot be used for this request.
    #[error(transparent)]
    IdempotencyKey(KeyConflict),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}

impl From<SeatsBelowMembers> for OperatorError {
    fn from(e: SeatsBelowMembers) -> Self {
        Self::SeatsBelowMembers(e)
    }
}

impl From<KeyConflict> for OperatorError {
    fn from(e: KeyConflict) -> Self {
        Self::IdempotencyKey(e)
    }
}

impl From<StoreError> for OperatorError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<crate::ports::HashError> for OperatorError {
    fn from(e: crate::ports::HashError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<super::common::Failure> for OperatorError {
    fn from(f: super::common::Failure) -> Self {
        match f {
            super::common::Failure::Internal(i) => Self::Internal(i),
            super::common::Failure::Denied(_) => Self::OrganisationNotFound,
        }
    }
}

pub(super) fn validation(field: &str, e: impl std::fmt::Display) -> OperatorError {
    OperatorError::Validation(ValidationErrors::single(field, e))
}

/// What support staff do.
#[derive(Debug)]
pub struct OperatorService<'a> {
    ctx: &'a Context,
}

impl<'a> OperatorService<'a> {
    pub(crate) fn new(ctx: &'a Context) -> Self {
        Self { ctx }
    }

    pub(super) async fn audit(
        &self,
        tx: &mut dyn Tx,
        org: Option<OrganisationId>,
        action: AuditAction,
        target: AuditTarget,
        detail: String,
    ) -> Result<(), StoreError> {
        self.ctx.audit(tx, org, Principal::Operator, None, action, target, detail).await
    }

    pub(super) async fn lock_org(
        &self,
        tx: &mut dyn Tx,
        id: OrganisationId,
    ) -> Result<Organisation, OperatorError> {
        tx.organisations().lock(id).await?.ok_or(OperatorError::OrganisationNotFound)
    }
}
