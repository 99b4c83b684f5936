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

/// Common and breached passwords, lower-cased, one a line, sorted by byte: the 100,000 most
/// common passwords of SecLists' `10-million-password-list-top-1000000.txt` (Mark Burnett's
/// ten million leaked passwords, counted by Xato; SecLists is MIT-licensed, see
/// `common_passwords.LICENSE`) of 6 characters or more, plus every password of 12 characters
/// or more among the list's million: 127,473 lines. Shorter entries are left out: a password
/// under 12 characters is refused for its length, and a 6-character word is the shortest
/// that [`is_common`] looks for inside a padded password.
const COMMON: &str = include_str!("common_passwords.txt");

/// Passwords published as examples of good ones, which is what makes them bad: a hand-kept
/// list, compared with letters and digits only (`correct horse battery staple` is xkcd 936's).
const PUBLISHED_EXAMPLES: &[&str] = &[
    "correcthorsebatterystaple",
    "tr0ub4dor3",
    "thequickbrownfoxjumpsoverthelazydog",
    "loremipsumdolorsitamet",
    "iloveyouiloveyou",
];

/// Sequences people type instead of choosing: a password made of one stretch of any of them
/// (forwards or backwards, wrapping round) is trivial.
const SEQUENCES: &[&str] = &[
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "1q2w3e4r5t6y7u8i9o0p",
];

fn common_list() -> &'static [&'static str] {
    static LIST: std::sync::LazyLock<Vec<&'static str>> =
        std::sync::LazyLock::new(|| COMMON.lines().collect());
    &LIST
}

fn listed(lower: &str) -> bool {
    common_list().binary_search(&lower).is_ok()
}

/// True when `lower` is one stretch of a [`SEQUENCES`] row, forwards or backwards.
fn is_sequence(lower: &str) -> bool {
    let n = lower.chars().count();
    SEQUENCES.iter().any(|row| {
        let len = row.chars().count();
        let wrapped = row.repeat(n / len + 2);
        let backwards: String = wrapped.chars().rev().collect();
        wrapped.contains(lower) || backwards.contains(lower)
    })
}

fn is_common(candidate: &str) -> bool {
    let lower = candidate.to_lowercase();
    if listed(&lower) || is_sequence(&lower) {
        return true;
    }
    let compact: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    if PUBLISHED_EXAMPLES.contains(&compact.as_str()) {
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
        for common in [
            "qwertyuiop12",
            "123qweasdzxc",
            "Password1234",
            "!!sunshine2024",
            "abcabcabcabc",
            "123456789012",
            "1234567890123",
            "abcdefghijkl",
            "ABCDEFGHIJKL",
            "zyxwvutsrqpo",
            "qwertyuiopasdf",
            "correct horse battery staple",
            "Correct-Horse-Battery-Staple",
        ] {
            assert_eq!(
                Password::parse(common).map(|_| ()),
                Err(PasswordError::TooCommon),
                "{common}"
            );
        }
        assert!(Password::parse("tangerine-lamp-42").is_ok());
        assert!(Password::parse("quartz wombat ferry lantern").is_ok());
    }

    #[test]
    fn every_long_entry_of_the_list_is_refused_in_any_case() {
        let long: Vec<&str> = common_list()
            .iter()
            .copied()
            .filter(|p| (Password::MIN_LEN..=Password::MAX_LEN).contains(&p.chars().count()))
            .collect();
        assert!(long.len() > 40_000, "{}", long.len());
        // A sample spread over the whole list, also typed in capitals.
        for entry in long.iter().step_by(997) {
            assert_eq!(
                Password::parse(entry).map(|_| ()),
                Err(PasswordError::TooCommon),
                "{entry}"
            );
            let upper = entry.to_uppercase();
            assert_eq!(
                Password::parse(&upper).map(|_| ()),
                Err(PasswordError::TooCommon),
                "{upper}"
            );
        }
    }

    #[test]
    fn the_list_is_sorted_lower_cased_and_of_the_stated_size() {
        let list = common_list();
        assert_eq!(list.len(), 127_473);
        assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted by byte, no duplicates");
        assert!(list.iter().all(|p| *p == p.to_lowercase() && p.chars().count() >= 6));
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
