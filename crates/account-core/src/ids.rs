//! Typed identifiers, so that a member id can never be passed where a session id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a stored or parsed UUID.
            #[must_use]
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            #[must_use]
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// An organisation (the "account" of the product pages).
    OrganisationId
);
id_type!(
    /// A member of an organisation.
    MemberId
);
id_type!(
    /// A login session, or an impersonation session hanging on one.
    SessionId
);
id_type!(
    /// An API key.
    ApiKeyId
);
id_type!(
    /// A contact address of an organisation.
    ContactId
);
id_type!(
    /// An entry of the credit ledger.
    LedgerEntryId
);
id_type!(
    /// An email-change flow.
    EmailChangeId
);
id_type!(
    /// An entry of the audit log.
    AuditEntryId
);
id_type!(
    /// A mail request in the outbox.
    MailId
);
id_type!(
    /// An entry of the operator-managed products catalogue.
    ProductId
);
