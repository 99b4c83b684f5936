//! Passwords (rule 8): the policy for new passwords, the attempt type for log-ins, and the
//! stored hash. None of them ever prints its content.

use std::fmt;

/// Why a new password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than 12 characters.
    #[error("must be at least {min} characters")]
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// More than 128 characters (refused, never truncated).
    #[error("must be at most {max} characters")]
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// On the list of common passwords, or a common password padded with digits or symbols.
    #[error("is too common: it appears on lists of leaked passwords; choose another")]
    TooCommon,
    /// Contains the account's own email or username.
    #[error("must not contain your email address or username")]
    ContainsIdentity,
}

const COMMON: &str = include_str!("common_passwords.txt");

fn is_common(candidate: &str) -> bool {
    let lower = candidate.to_lowercase();
    let listed = |s: &str| COMMON.lines().any(|line| line == s);
    if listed(&lower) {
        return true;
    }
    // A common password with digits or symbols around it ("password1234!", "2024qwertyuiop")
    // is as weak as the word itself.
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    if core.chars().count() >= 6 && core != lower && listed(core) {
        return true;
    }
    // One word or short run repeated ("abcabcabcabc", "passwordpassword").
    let chars: Vec<char> = lower.chars().collect();
    (1..=chars.len() / 2)
        .any(|n| chars.len().is_multiple_of(n) && chars.chunks(n).all(|chunk| chunk == &chars[..n]))
}

/// A new password that meets the policy: 12 to 128 characters, no composition rules, not
/// common. Its `Debug` prints `REDACTED`.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Shortest accepted length, in characters.
    pub const MIN_LEN: usize = 12;
    /// Longest accepted length, in characters.
    pub const MAX_LEN: usize = 128;

    /// Checks a new password against the policy. It is taken as typed: no trimming.
    ///
    /// # Errors
    /// [`PasswordError`] naming what to change.
    pub fn parse(input: &str) -> Result<Self, PasswordError> {
        let n = input.chars().count();
        if n < Self::MIN_LEN {
            return Err(PasswordError::TooShort { min: Self::MIN_LEN });
        }
        if n > Self::MAX_LEN {
            return Err(PasswordError::TooLong { max: Self::MAX_LEN });
        }
        if is_common(input) {
            return Err(PasswordError::TooCommon);
        }
        Ok(Self(input.to_owned()))
    }

    /// Refuses a password that contains one of the account's identifiers (case-insensitively);
    /// identifiers shorter than 4 characters are ignored.
    ///
    /// # Errors
    /// [`PasswordError::ContainsIdentity`].
    pub fn check_not_containing(&self, identifiers: &[&str]) -> Result<(), PasswordError> {
        let lower = self.0.to_lowercase();
        let hit = identifiers
            .iter()
            .map(|id| id.to_lowercase())
            .any(|id| id.chars().count() >= 4 && lower.contains(&id));
        if hit { Err(PasswordError::ContainsIdentity) } else { Ok(()) }
    }

    /// The password, for the hasher only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The same password as an attempt, to verify it against a stored hash.
    #[must_use]
    pub fn as_attempt(&self) -> PasswordAttempt {
        PasswordAttempt(self.0.clone())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(REDACTED)")
    }
}

/// A password typed to log in or to confirm an action: any string up to 1024 bytes (longer
/// input is refused before hashing so that nobody can make us hash megabytes).
#[derive(Clone)]
pub struct PasswordAttempt(String);

impl PasswordAttempt {
    /// Longest attempt accepted, in bytes.
    pub const MAX_BYTES: usize = 1024;

    /// Wraps a typed password; `None` when it is empty or absurdly long.
    #[must_use]
    pub fn new(input: &str) -> Option<Self> {
        (!input.is_empty() && input.len() <= Self::MAX_BYTES).then(|| Self(input.to_owned()))
    }

    /// The password, for the hasher only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordAttempt(REDACTED)")
    }
}

/// A password hash in the hasher's self-describing format (PHC string for argon2id).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash produced by a [`PasswordHasher`](crate::ports::PasswordHasher) or read back
    /// from a store.
    #[must_use]
    pub fn from_stored(hash: String) -> Self {
        Self(hash)
    }

    /// The hash as stored.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(REDACTED)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds_count_characters_and_never_truncate() {
        assert!(matches!(Password::parse("tooshort"), Err(PasswordError::TooShort { min: 12 })));
        // Twelve characters, fourteen bytes: the limit is in characters.
        assert!(Password::parse("üxvq9ü!kw2pz").is_ok());
        assert!(Password::parse("correct horse battery").is_ok());
        assert!(matches!(
            Password::parse(&"k7#".repeat(43)),
            Err(PasswordError::TooLong { max: 128 })
        ));
        // Kept exactly as typed, spaces included.
        assert_eq!(Password::parse(" tangerine lamp ").unwrap().expose(), " tangerine lamp ");
    }

    #[test]
    fn common_passwords_and_padded_common_words_are_refused() {
        for common in
            ["qwertyuiop12", "123qweasdzxc", "Password1234", "!!sunshine2024", "abcabcabcabc"]
        {
            assert_eq!(
                Password::parse(common).map(|_| ()),
                Err(PasswordError::TooCommon),
                "{common}"
            );
        }
        assert!(Password::parse("tangerine-lamp-42").is_ok());
    }

    #[test]
    fn identity_in_password_is_refused() {
        let p = Password::parse("jane.doe-is-great").unwrap();
        assert_eq!(
            p.check_not_containing(&["jane.doe", "x@y.se"]),
            Err(PasswordError::ContainsIdentity)
        );
        assert_eq!(p.check_not_containing(&["bob"]), Ok(()));
    }

    #[test]
    fn secrets_never_print() {
        let p = Password::parse("tangerine-lamp-42").unwrap();
        assert_eq!(format!("{p:?}"), "Password(REDACTED)");
        let a = PasswordAttempt::new("hunter2hunter2").unwrap();
        assert!(!format!("{a:?}").contains("hunter"));
        assert!(PasswordAttempt::new("").is_none());
        assert!(PasswordAttempt::new(&"x".repeat(2000)).is_none());
    }
}
