//! `Timezone`: an IANA time zone name, backed by chrono-tz's database.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;
use serde::Serialize;

/// Why a string is not a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimezoneError {
    /// Not a name in the IANA database.
    #[error("must be an IANA time zone name like Europe/Stockholm or UTC")]
    Unknown,
}

/// An IANA time zone such as `Europe/Stockholm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timezone(Tz);

impl Timezone {
    /// Coordinated Universal Time, the default for new members.
    pub const UTC: Self = Self(Tz::UTC);

    /// Parses an IANA name (exact spelling, as the database has it).
    ///
    /// # Errors
    /// [`TimezoneError::Unknown`] for anything else.
    pub fn parse(input: &str) -> Result<Self, TimezoneError> {
        Tz::from_str(input.trim()).map(Self).map_err(|_| TimezoneError::Unknown)
    }

    /// The IANA name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The chrono-tz zone, for date arithmetic.
    #[must_use]
    pub fn tz(&self) -> Tz {
        self.0
    }
}

impl Default for Timezone {
    fn default() -> Self {
        Self::UTC
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Timezone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iana_names_only() {
        assert_eq!(Timezone::parse("Europe/Stockholm").unwrap().name(), "Europe/Stockholm");
        assert_eq!(Timezone::parse("UTC").unwrap(), Timezone::UTC);
        assert_eq!(Timezone::parse("Mars/Olympus"), Err(TimezoneError::Unknown));
        assert_eq!(Timezone::parse("+02:00"), Err(TimezoneError::Unknown));
    }
}
