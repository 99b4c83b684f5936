//! Who is calling: the member a request acts as, the admin behind an impersonation, and the
//! credential used.

use crate::domain::audit::Principal;
use crate::ids::{ApiKeyId, MemberId, OrganisationId, SessionId};

/// The credential a request came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A login or impersonation session.
    Session(SessionId),
    /// An API key (integrations).
    ApiKey(ApiKeyId),
}

/// The member a request acts as. Produced by authentication
/// ([`AuthService`](super::auth::AuthService)); embedders that authenticate elsewhere may build
/// one with [`Actor::new`]. Use cases never trust it alone: they reload the member and check
/// that it (and the impersonating admin) is still enabled, so a disabled member is refused at
/// once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    member: MemberId,
    org: OrganisationId,
    impersonator: Option<MemberId>,
    credential: Credential,
}

impl Actor {
    /// An actor for `member` of `org`, using `credential`; `impersonator` is the admin behind
    /// an impersonation session.
    #[must_use]
    pub const fn new(
        member: MemberId,
        org: OrganisationId,
        impersonator: Option<MemberId>,
        credential: Credential,
    ) -> Self {
        Self { member, org, impersonator, credential }
    }

    /// The member the request acts as.
    #[must_use]
    pub const fn member(&self) -> MemberId {
        self.member
    }

    /// Their organisation.
    #[must_use]
    pub const fn org(&self) -> OrganisationId {
        self.org
    }

    /// The admin impersonating, if any.
    #[must_use]
    pub const fn impersonator(&self) -> Option<MemberId> {
        self.impersonator
    }

    /// The credential.
    #[must_use]
    pub const fn credential(&self) -> Credential {
        self.credential
    }

    /// The session, when the credential is one.
    #[must_use]
    pub const fn session(&self) -> Option<SessionId> {
        match self.credential {
            Credential::Session(id) => Some(id),
            Credential::ApiKey(_) => None,
        }
    }

    /// Who really acts, for the audit log: the admin when impersonating.
    #[must_use]
    pub fn principal(&self) -> Principal {
        Principal::Member(self.impersonator.unwrap_or(self.member))
    }

    /// Whom the principal acts as, when impersonating.
    #[must_use]
    pub fn acting_as(&self) -> Option<MemberId> {
        self.impersonator.map(|_| self.member)
    }
}
