//! `PhoneNumber`: an E.164 number such as `+46701234567`.

use std::fmt;

use serde::Serialize;

/// Why a string is not an E.164 phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Not `+` followed by 8 to 15 digits.
    #[error("must be in international E.164 format: + and 8 to 15 digits, like +46701234567")]
    NotE164,
}

/// A phone number in E.164 form: `+`, a country code not starting with 0, 8 to 15 digits.
/// Spaces, hyphens, dots and parentheses in the input are dropped.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number, dropping common separators.
    ///
    /// # Errors
    /// [`PhoneError::NotE164`] when it is not `+` and 8 to 15 digits.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let compact: String =
            input.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        let digits = compact.strip_prefix('+').ok_or(PhoneError::NotE164)?;
        let valid = (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0');
        if valid { Ok(Self(compact)) } else { Err(PhoneError::NotE164) }
    }

    /// The number in E.164 form.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value, as an owned string (for an answer built without copying it).
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Personal data: `Debug` shows the last two digits only.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail: String =
            self.0.chars().rev().take(2).collect::<Vec<_>>().into_iter().rev().collect();
        write!(f, "PhoneNumber(+***{tail})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_separators() {
        assert_eq!(PhoneNumber::parse("+46 70-123 45 67").unwrap().as_str(), "+46701234567");
        assert_eq!(PhoneNumber::parse("+1 (415) 555.2671").unwrap().as_str(), "+14155552671");
    }

    #[test]
    fn refuses_non_e164() {
        for bad in ["0701234567", "+0701234567", "+4670", "+467012345678901234", "+46abc12345", ""]
        {
            assert_eq!(PhoneNumber::parse(bad), Err(PhoneError::NotE164), "{bad}");
        }
    }
}
