//! `Username`: the unique handle of a member, changed only by support staff (rule 7).

use std::fmt;

use serde::Serialize;

/// Why a string is not a username.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Wrong length or characters.
    #[error(
        "must be 3 to 32 lower-case letters, digits, dots, hyphens or underscores, starting with a letter or digit"
    )]
    Invalid,
}

/// A unique, lower-case username.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Shortest accepted length.
    pub const MIN_LEN: usize = 3;
    /// Longest accepted length.
    pub const MAX_LEN: usize = 32;

    /// Parses a username; upper-case ASCII letters are folded to lower case.
    ///
    /// # Errors
    /// [`UsernameError::Invalid`] for anything else.
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        let s = input.trim().to_ascii_lowercase();
        let ok = (Self::MIN_LEN..=Self::MAX_LEN).contains(&s.len())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric());
        if ok { Ok(Self(s)) } else { Err(UsernameError::Invalid) }
    }

    /// A username derived from an email address's local part, for new members: characters
    /// outside the alphabet are dropped, and `suffix` (when not 0) is appended so that callers
    /// can walk `jane`, `jane2`, `jane3`… until one is free.
    #[must_use]
    pub fn derive_from(local_part: &str, suffix: u32) -> Self {
        let mut base: String = local_part
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(*c))
            .skip_while(|c| !c.is_ascii_alphanumeric())
            .collect();
        let tail = if suffix == 0 { String::new() } else { suffix.to_string() };
        base.truncate(Self::MAX_LEN - tail.len());
        while base.len() + tail.len() < Self::MIN_LEN {
            base.push_str("user");
        }
        base.truncate(Self::MAX_LEN - tail.len());
        Self(base + &tail)
    }

    /// The username.
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

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_folds_case() {
        assert_eq!(Username::parse("Jane.Doe").unwrap().as_str(), "jane.doe");
        for bad in ["ab", "-jane", "jane doe", "jäne", &"a".repeat(33)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn derived_usernames_are_always_valid() {
        for (local, n) in
            [("Jane.Doe", 0), ("+x", 0), ("a", 7), (&"b".repeat(64)[..], 12), ("ö", 0)]
        {
            let u = Username::derive_from(local, n);
            assert_eq!(Username::parse(u.as_str()), Ok(u.clone()), "{local} {n}");
        }
        assert_eq!(Username::derive_from("jane", 2).as_str(), "jane2");
    }
}
