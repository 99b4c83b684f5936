//! `EmailAddress`: a syntactically valid address with its domain in IDNA ASCII form,
//! compared case-insensitively.

use std::fmt;

use serde::Serialize;

/// Why a string is not an email address. The message names what to fix, not the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing was given.
    #[error("must not be empty")]
    Empty,
    /// Longer than RFC 5321 allows.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Not of the form `name@example.com`.
    #[error("must be an email address like name@example.com")]
    Invalid,
}

/// An email address: the local part as the user typed it (trimmed), the domain normalised
/// by IDNA (UTS 46) to its ASCII form, valid by construction.
///
/// `ada@bücher.example`, `ada@BÜCHER.example` and `ada@xn--bcher-kva.example` are one
/// address, kept as `ada@xn--bcher-kva.example`: the form every mail server accepts. Two
/// addresses that differ only in letter case are the same login: compare with
/// [`EmailAddress::key`], which is what stores index uniquely.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// The longest address accepted (RFC 5321's path limit).
    pub const MAX_LEN: usize = 254;

    /// Parses and trims an address, and normalises its domain to IDNA's ASCII form
    /// (lower case, Punycode for other scripts).
    ///
    /// The check is deliberately pragmatic: one `@`, a local part of printable characters
    /// without spaces (at most 64), and a domain of at least two dot-separated labels that
    /// IDNA accepts (letters, digits and hyphens once in ASCII form). Ownership is proven by a
    /// code, not by syntax. The length limit applies to the address as typed and as kept.
    ///
    /// # Errors
    /// [`EmailError`] naming what is wrong.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong { max: Self::MAX_LEN });
        }
        let (local, typed_domain) = s.split_once('@').ok_or(EmailError::Invalid)?;
        let domain = idna::domain_to_ascii_strict(typed_domain).map_err(|_| EmailError::Invalid)?;
        if local.is_empty()
            || local.len() > 64
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
            || !local.chars().all(is_local_char)
        {
            return Err(EmailError::Invalid);
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || !labels.iter().all(|l| is_domain_label(l)) {
            return Err(EmailError::Invalid);
        }
        if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
            return Err(EmailError::Invalid);
        }
        let address = format!("{local}@{domain}");
        if address.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong { max: Self::MAX_LEN });
        }
        Ok(Self(address))
    }

    /// The address as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value, as an owned string (for an answer built without copying it).
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }

    /// The case-folded form used for uniqueness and look-up.
    #[must_use]
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    /// The part before the `@`.
    #[must_use]
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or(self.0.as_str(), |(local, _)| local)
    }

    /// True when both name the same mailbox (case-insensitively).
    #[must_use]
    pub fn same_as(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)
}

fn is_domain_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Personal data: `Debug` shows only the domain.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = self.0.split_once('@').map_or("", |(_, d)| d);
        write!(f, "EmailAddress(***@{domain})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_addresses_and_trims() {
        for ok in ["a@b.se", "first.last+tag@sub.example.com", "  Jane@Example.COM "] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(EmailAddress::parse(" x@y.io ").unwrap().as_str(), "x@y.io");
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in
            ["", "plain", "@x.se", "a@", "a@b", "a b@c.se", "a@-b.se", "a..b@c.se", "a@b.123"]
        {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(EmailError::TooLong { max: 254 }));
    }

    #[test]
    fn domains_are_normalised_by_idna_so_unicode_and_punycode_forms_are_one_address() {
        let unicode = EmailAddress::parse("Ada@Bücher.example").unwrap();
        let capitals = EmailAddress::parse("ada@BÜCHER.EXAMPLE").unwrap();
        let punycode = EmailAddress::parse("ada@xn--bcher-kva.example").unwrap();
        assert_eq!(unicode.as_str(), "Ada@xn--bcher-kva.example", "the local part as typed");
        assert!(unicode.same_as(&capitals) && unicode.same_as(&punycode));
        assert_eq!(unicode.key(), punycode.key());
        // Full-width letters and other compatibility forms fold too.
        assert_eq!(EmailAddress::parse("a@ｅｘａｍｐｌｅ.com").unwrap().as_str(), "a@example.com");
        for bad in ["a@exa_mple.com", "a@xn--zz.example", "a@ex ample.com", "a@\u{202E}x.com"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        // Punycode can make a typed address too long: the limit holds for the kept form.
        let long = format!("{}@{}.example", "a".repeat(60), "ü".repeat(60));
        assert!(long.chars().count() <= EmailAddress::MAX_LEN);
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn compares_case_insensitively_and_hides_itself_in_debug() {
        let a = EmailAddress::parse("Jane@Example.com").unwrap();
        let b = EmailAddress::parse("jane@example.COM").unwrap();
        assert!(a.same_as(&b));
        assert_eq!(a.key(), "jane@example.com");
        assert!(!format!("{a:?}").contains("Jane"));
    }
}
