//! `LinkedInUrl`: a link to a LinkedIn profile or company page.

use std::fmt;

use serde::Serialize;

/// Why a string is not a LinkedIn URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkedInUrlError {
    /// Longer than the limit.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// Not an `https://www.linkedin.com/in/…` or `/company/…` address.
    #[error("must be a LinkedIn profile address like https://www.linkedin.com/in/your-name")]
    Invalid,
}

/// An `https` link to `linkedin.com/in/<name>`, `/company/<name>` or `/pub/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct LinkedInUrl(String);

impl LinkedInUrl {
    /// The longest URL accepted.
    pub const MAX_LEN: usize = 200;

    /// Parses a LinkedIn URL; `http://` and a missing scheme are upgraded to `https://`.
    ///
    /// # Errors
    /// [`LinkedInUrlError`] naming what is wrong.
    pub fn parse(input: &str) -> Result<Self, LinkedInUrlError> {
        let s = input.trim();
        if s.chars().count() > Self::MAX_LEN {
            return Err(LinkedInUrlError::TooLong { max: Self::MAX_LEN });
        }
        let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(s);
        let (host, path) = rest.split_once('/').ok_or(LinkedInUrlError::Invalid)?;
        let host = host.to_ascii_lowercase();
        let host_ok = host == "linkedin.com"
            || (host.ends_with(".linkedin.com")
                && host.len() > ".linkedin.com".len()
                && host
                    .trim_end_matches(".linkedin.com")
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric()));
        let path = path.split(['?', '#']).next().unwrap_or("");
        let mut segments = path.split('/').filter(|p| !p.is_empty());
        let kind_ok = matches!(segments.next(), Some("in" | "company" | "pub" | "school"));
        let slug_ok = segments.next().is_some_and(|slug| {
            slug.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '%' | '.'))
        });
        if !(host_ok && kind_ok && slug_ok) || s.chars().any(char::is_whitespace) {
            return Err(LinkedInUrlError::Invalid);
        }
        Ok(Self(format!("https://{host}/{}", path.trim_start_matches('/'))))
    }

    /// The normalised URL.
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

impl fmt::Display for LinkedInUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises_profile_links() {
        let url = LinkedInUrl::parse("http://www.LinkedIn.com/in/jane-doe-42/").unwrap();
        assert_eq!(url.as_str(), "https://www.linkedin.com/in/jane-doe-42/");
        assert!(LinkedInUrl::parse("linkedin.com/company/acme").is_ok());
        assert!(LinkedInUrl::parse("https://se.linkedin.com/in/jane?trk=x").is_ok());
    }

    #[test]
    fn refuses_other_hosts_and_paths() {
        for bad in [
            "https://evil.com/in/jane",
            "https://linkedin.com.evil.com/in/jane",
            "https://www.linkedin.com/feed/",
            "https://www.linkedin.com/in/",
            "jane",
            "https://www.linkedin.com/in/ja ne",
        ] {
            assert!(LinkedInUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
