//! Bounded free-text values (names, company, job title, reasons…): trimmed, no control
//! characters, with a length limit counted in characters.

use std::fmt;

use serde::Serialize;

/// Why a text is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty or only spaces.
    #[error("must not be empty")]
    Empty,
    /// Over the limit.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// Contains a line break, tab or other control character.
    #[error("must not contain line breaks or control characters")]
    ControlCharacter,
}

/// Trims `input` and checks it against `max` characters and for control characters.
///
/// # Errors
/// [`TextError`] naming what is wrong.
pub fn bounded(input: &str, max: usize) -> Result<String, TextError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(TextError::Empty);
    }
    if s.chars().count() > max {
        return Err(TextError::TooLong { max });
    }
    if s.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter);
    }
    Ok(s.to_owned())
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The longest value accepted, in characters.
            pub const MAX_LEN: usize = $max;

            /// Trims and validates `input`.
            ///
            /// # Errors
            /// [`TextError`] naming what is wrong.
            pub fn parse(input: &str) -> Result<Self, TextError> {
                bounded(input, Self::MAX_LEN).map(Self)
            }

            /// The text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// Personal or business data: `Debug` shows the length only.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({} chars)"), self.0.chars().count())
            }
        }
    };
}

bounded_text!(
    /// A first or last name of a person.
    PersonName,
    100
);
bounded_text!(
    /// A person's full name, such as an organisation's contact person.
    FullName,
    200
);
bounded_text!(
    /// A company name.
    CompanyName,
    200
);
bounded_text!(
    /// A job title.
    JobTitle,
    100
);
bounded_text!(
    /// An organisation's display name.
    OrganisationName,
    200
);
bounded_text!(
    /// A subscription plan's name, such as `Professional`.
    PlanName,
    64
);
bounded_text!(
    /// A postal address (may span several lines in the UI; stored as one line here, with
    /// lines separated by `, `).
    PostalAddress,
    500
);
bounded_text!(
    /// A customer purchase-order number.
    PurchaseOrderNumber,
    64
);
bounded_text!(
    /// Why something was done (impersonation, allocation, grant…), for the audit log.
    Reason,
    500
);
bounded_text!(
    /// A label for an API key, such as `CRM sync`.
    KeyLabel,
    100
);
bounded_text!(
    /// A consumption data type (`email`, `phone_number`, `direct_dial`, `export`, `call_minute`, …).
    DataType,
    64
);
bounded_text!(
    /// The provider a consumption came through.
    Provider,
    100
);
bounded_text!(
    /// A client-given id that makes a consumption idempotent.
    EventId,
    200
);
bounded_text!(
    /// The client a session was opened from (a user agent), trimmed to its limit.
    ClientName,
    200
);

impl ClientName {
    /// Builds a client name from an arbitrary header value: control characters are dropped and
    /// the text is cut to the limit, so a hostile user agent cannot fail a login.
    #[must_use]
    pub fn lossy(input: &str) -> Option<Self> {
        let cleaned: String =
            input.chars().filter(|c| !c.is_control()).take(Self::MAX_LEN).collect();
        Self::parse(&cleaned).ok()
    }
}

/// Why a string is not a registration number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationNumberError {
    /// Not 2 to 32 letters, digits, spaces or hyphens.
    #[error("must be 2 to 32 letters, digits, spaces or hyphens, like 556677-8899")]
    Invalid,
}

/// An organisation number (business) or personal number (individual). Changed only by support.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RegistrationNumber(String);

impl RegistrationNumber {
    /// Shortest accepted number, in characters.
    pub const MIN_LEN: usize = 2;
    /// Longest accepted number, in characters.
    pub const MAX_LEN: usize = 32;

    /// Parses a registration number.
    ///
    /// # Errors
    /// [`RegistrationNumberError::Invalid`] when it has other characters or a bad length.
    pub fn parse(input: &str) -> Result<Self, RegistrationNumberError> {
        let s = input.trim();
        let ok = (Self::MIN_LEN..=Self::MAX_LEN).contains(&s.chars().count())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ');
        if ok { Ok(Self(s.to_owned())) } else { Err(RegistrationNumberError::Invalid) }
    }

    /// The number.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A personal number is personal data: `Debug` hides it.
impl fmt::Debug for RegistrationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RegistrationNumber(REDACTED)")
    }
}

impl fmt::Display for RegistrationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds_text() {
        assert_eq!(PersonName::parse("  Ada ").unwrap().as_str(), "Ada");
        assert_eq!(PersonName::parse("   "), Err(TextError::Empty));
        assert_eq!(PersonName::parse(&"x".repeat(101)), Err(TextError::TooLong { max: 100 }));
        assert_eq!(PersonName::parse("A\nB"), Err(TextError::ControlCharacter));
        // Limits count characters, not bytes.
        assert!(PersonName::parse(&"å".repeat(100)).is_ok());
    }

    #[test]
    fn lossy_client_name_never_fails_on_long_or_dirty_input() {
        let name = ClientName::lossy(&format!("curl/8\u{7}{}", "x".repeat(500))).unwrap();
        assert_eq!(name.as_str().chars().count(), ClientName::MAX_LEN);
        assert!(ClientName::lossy("\u{1}").is_none());
    }

    #[test]
    fn registration_numbers() {
        assert!(RegistrationNumber::parse("556677-8899").is_ok());
        assert!(RegistrationNumber::parse("x").is_err());
        assert!(RegistrationNumber::parse("55/66").is_err());
    }
}
