//! Bounded free-text values (names, company, job title, reasons…): trimmed, no control
//! characters, no invisible formatting characters, with a length limit counted in characters.

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
    /// Contains an invisible formatting character or a line or paragraph separator.
    #[error(
        "must not contain invisible formatting characters (such as right-to-left overrides or zero-width spaces) or line separators"
    )]
    InvisibleCharacter,
}

/// The characters that change how the text around them reads without being visible
/// themselves, as inclusive ranges: Unicode's format characters (general category Cf: the
/// bidirectional controls such as the right-to-left override U+202E and the isolates,
/// zero-width spaces and joiners, the byte-order mark, tag characters, …) and the line and
/// paragraph separators (Zl, Zp). In a name they reorder or hide what an admin list or a mail
/// shows next to it. The OpenAPI document builds its text patterns from this table.
pub const INVISIBLE_FORMAT: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{2028}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// Whether `c` is one of [`INVISIBLE_FORMAT`].
#[must_use]
pub const fn is_invisible_format(c: char) -> bool {
    let mut i = 0;
    while i < INVISIBLE_FORMAT.len() {
        let (first, last) = INVISIBLE_FORMAT[i];
        if first <= c && c <= last {
            return true;
        }
        i += 1;
    }
    false
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
    if s.chars().any(is_invisible_format) {
        return Err(TextError::InvisibleCharacter);
    }
    Ok(s.to_owned())
}

/// Reads back text [`bounded`] accepted, now or in an earlier version: invisible formatting
/// characters, which earlier versions let through, are dropped rather than refused, so that
/// such a row stays readable (and shows clean) until its owner saves it again.
///
/// # Errors
/// [`TextError`] when the stored text breaks the other rules (a damaged row).
pub fn bounded_stored(stored: &str, max: usize) -> Result<String, TextError> {
    if !stored.chars().any(is_invisible_format) {
        return bounded(stored, max);
    }
    let visible: String = stored.chars().filter(|c| !is_invisible_format(*c)).collect();
    bounded(&visible, max)
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

            /// Reads back a stored value (see [`bounded_stored`]): for stores, not input.
            ///
            /// # Errors
            /// [`TextError`] when the stored text is damaged.
            pub fn from_stored(stored: &str) -> Result<Self, TextError> {
                bounded_stored(stored, Self::MAX_LEN).map(Self)
            }

            /// The text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, as an owned string (for an answer built without copying it).
            #[must_use]
            pub fn into_string(self) -> String {
                self.0
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
    /// Builds a client name from an arbitrary header value: control and invisible formatting
    /// characters are dropped and the text is cut to the limit, so a hostile user agent cannot
    /// fail a login.
    #[must_use]
    pub fn lossy(input: &str) -> Option<Self> {
        let cleaned: String = input
            .chars()
            .filter(|c| !c.is_control() && !is_invisible_format(*c))
            .take(Self::MAX_LEN)
            .collect();
        Self::parse(&cleaned).ok()
    }
}

/// Why a postal address is not acceptable; [`PostalAddressError::field`] names the field at
/// fault (`postal_address[2]` for a line, `postal_address` for the count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PostalAddressError {
    /// A line is too long or holds a control or invisible character.
    #[error("{error}")]
    Line {
        /// The line's index as sent (blank lines count).
        index: usize,
        /// What is wrong with it.
        error: TextError,
    },
    /// More non-blank lines than allowed.
    #[error("must have at most {max} lines")]
    TooManyLines {
        /// The limit.
        max: usize,
    },
}

impl PostalAddressError {
    /// The field to name: `{field}[index]` for a line, `{field}` for the count.
    #[must_use]
    pub fn field(&self, field: &str) -> String {
        match self {
            Self::Line { index, .. } => format!("{field}[{index}]"),
            Self::TooManyLines { .. } => field.to_owned(),
        }
    }
}

/// A postal address: 1 to [`PostalAddress::MAX_LINES`] lines, each trimmed, not blank, at
/// most [`PostalAddress::MAX_LINE_LEN`] characters, without control or invisible characters
/// (so a line never holds a line break: lines are the breaks).
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PostalAddress(Vec<String>);

impl PostalAddress {
    /// Most lines.
    pub const MAX_LINES: usize = 6;
    /// Longest line, in characters.
    pub const MAX_LINE_LEN: usize = 100;

    /// Validates the lines as sent: blank lines are dropped; `None` when none is left (the
    /// address is cleared).
    ///
    /// # Errors
    /// [`PostalAddressError`] for the first line at fault, or for too many lines.
    pub fn parse<S: AsRef<str>>(lines: &[S]) -> Result<Option<Self>, PostalAddressError> {
        let mut kept = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            match bounded(line.as_ref(), Self::MAX_LINE_LEN) {
                Ok(line) => kept.push(line),
                Err(TextError::Empty) => {}
                Err(error) => return Err(PostalAddressError::Line { index, error }),
            }
        }
        if kept.len() > Self::MAX_LINES {
            return Err(PostalAddressError::TooManyLines { max: Self::MAX_LINES });
        }
        Ok((!kept.is_empty()).then_some(Self(kept)))
    }

    /// Splits typed text (a form's textarea) into lines and validates them as [`Self::parse`].
    ///
    /// # Errors
    /// As [`Self::parse`]; a line's index counts the typed lines.
    pub fn parse_text(text: &str) -> Result<Option<Self>, PostalAddressError> {
        Self::parse(&text.lines().collect::<Vec<_>>())
    }

    /// The stored form: the lines joined by `\n`, which no line can hold.
    #[must_use]
    pub fn to_stored(&self) -> String {
        self.0.join("\n")
    }

    /// Reads back [`Self::to_stored`]'s form, cleaning lines as [`bounded_stored`] does. An
    /// address stored as one line of up to 500 characters (the form before addresses had
    /// lines) reads as that line, cut into lines of [`Self::MAX_LINE_LEN`] characters where
    /// it is longer; its owner can break it properly on the next save.
    ///
    /// # Errors
    /// [`TextError`] when the stored text is damaged.
    pub fn from_stored(stored: &str) -> Result<Self, TextError> {
        let mut lines = Vec::new();
        for line in stored.split('\n') {
            let line = bounded_stored(line, 500)?;
            let chars: Vec<char> = line.chars().collect();
            for chunk in chars.chunks(Self::MAX_LINE_LEN) {
                let piece: String = chunk.iter().collect();
                lines.push(bounded(&piece, Self::MAX_LINE_LEN).unwrap_or(piece));
            }
        }
        if lines.is_empty() || lines.len() > Self::MAX_LINES {
            return Err(TextError::TooLong { max: Self::MAX_LINES });
        }
        Ok(Self(lines))
    }

    /// The lines.
    #[must_use]
    pub fn lines(&self) -> &[String] {
        &self.0
    }
}

/// One line per line, for a text area or a mail.
impl fmt::Display for PostalAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

/// Business or personal data: `Debug` shows the shape only.
impl fmt::Debug for PostalAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostalAddress({} lines)", self.0.len())
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
    fn invisible_formatting_characters_are_refused_in_every_name() {
        let tricks = [
            "Ada\u{202E}nimdA",     // right-to-left override
            "Ada\u{2067}x\u{2069}", // right-to-left isolate and pop
            "Ad\u{200B}a",          // zero-width space
            "Ad\u{200D}a",          // zero-width joiner
            "Ada\u{2028}Admin",     // line separator
            "Ada\u{2029}Admin",     // paragraph separator
            "\u{FEFF}Ada",          // byte-order mark
            "Ada\u{00AD}",          // soft hyphen
            "Ada\u{E0041}",         // tag character
        ];
        for trick in tricks {
            for result in [
                PersonName::parse(trick).map(|_| ()),
                FullName::parse(trick).map(|_| ()),
                CompanyName::parse(trick).map(|_| ()),
                JobTitle::parse(trick).map(|_| ()),
                OrganisationName::parse(trick).map(|_| ()),
                PlanName::parse(trick).map(|_| ()),
                PostalAddress::parse(&[trick]).map(|_| ()).map_err(|e| match e {
                    PostalAddressError::Line { error, .. } => error,
                    PostalAddressError::TooManyLines { .. } => TextError::Empty,
                }),
                PurchaseOrderNumber::parse(trick).map(|_| ()),
                Reason::parse(trick).map(|_| ()),
                KeyLabel::parse(trick).map(|_| ()),
                DataType::parse(trick).map(|_| ()),
                Provider::parse(trick).map(|_| ()),
                EventId::parse(trick).map(|_| ()),
            ] {
                assert_eq!(result, Err(TextError::InvisibleCharacter), "{trick:?}");
            }
        }
        // Visible letters of every script, and the usual punctuation of names, stay welcome.
        for name in ["Åsa Öberg-Nuñez", "محمد", "שָׁלוֹם", "李小龍", "O'Brien, Jr."]
        {
            assert!(PersonName::parse(name).is_ok(), "{name}");
        }
        assert!(
            TextError::InvisibleCharacter.to_string().contains("right-to-left"),
            "the message says what to remove"
        );
    }

    #[test]
    fn stored_text_with_invisible_characters_reads_back_without_them() {
        let stored = "Ada\u{202E}nimdA\u{200B}";
        assert_eq!(PersonName::from_stored(stored).unwrap().as_str(), "AdanimdA");
        assert_eq!(PersonName::from_stored("Ada").unwrap().as_str(), "Ada");
        assert_eq!(PersonName::from_stored("\u{200B}"), Err(TextError::Empty));
        assert_eq!(PersonName::from_stored("A\nB"), Err(TextError::ControlCharacter));
    }

    #[test]
    fn lossy_client_name_never_fails_on_long_or_dirty_input() {
        let name = ClientName::lossy(&format!("curl/8\u{7}{}", "x".repeat(500))).unwrap();
        assert_eq!(name.as_str().chars().count(), ClientName::MAX_LEN);
        assert!(ClientName::lossy("\u{1}").is_none());
        assert_eq!(ClientName::lossy("curl\u{202E}/8").unwrap().as_str(), "curl/8");
    }

    #[test]
    fn postal_addresses_are_bounded_lines() {
        let a = PostalAddress::parse(&["  Acme AB ", "", "Box 1", "111 22 Stockholm"]).unwrap();
        let a = a.unwrap();
        assert_eq!(a.lines(), ["Acme AB", "Box 1", "111 22 Stockholm"], "trimmed, blanks dropped");
        assert_eq!(PostalAddress::from_stored(&a.to_stored()).unwrap(), a);
        assert_eq!(
            PostalAddress::parse_text("Acme AB\r\nBox 1\n").unwrap().unwrap().lines().len(),
            2
        );
        assert_eq!(PostalAddress::parse(&["", " "]), Ok(None));
        let seven = ["l"; 7];
        let err = PostalAddress::parse(&seven).unwrap_err();
        assert_eq!(
            (err, err.field("postal_address")),
            (PostalAddressError::TooManyLines { max: 6 }, "postal_address".to_owned())
        );
        let long = "x".repeat(101);
        let err = PostalAddress::parse(&["ok", &long]).unwrap_err();
        assert_eq!(err.field("postal_address"), "postal_address[1]");
        assert_eq!(err.to_string(), "must be at most 100 characters");
        // A line break inside a line is a control character: lines are the breaks.
        assert!(PostalAddress::parse(&["a\nb"]).is_err());
        assert_eq!(format!("{a:?}"), "PostalAddress(3 lines)");
    }

    #[test]
    fn a_one_line_address_stored_before_lines_reads_back_whole() {
        let old = "Storgatan 1, 111 22 Stockholm";
        assert_eq!(PostalAddress::from_stored(old).unwrap().lines(), [old]);
        let long = format!("{}, Stockholm", "Långgatan 1".repeat(40))
            .chars()
            .take(500)
            .collect::<String>();
        let read = PostalAddress::from_stored(&long).unwrap();
        assert_eq!(read.lines().len(), 5);
        assert!(read.lines().iter().all(|l| l.chars().count() <= PostalAddress::MAX_LINE_LEN));
        let visible = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        assert_eq!(visible(&read.lines().concat()), visible(&long), "nothing is lost");
    }

    #[test]
    fn registration_numbers() {
        assert!(RegistrationNumber::parse("556677-8899").is_ok());
        assert!(RegistrationNumber::parse("x").is_err());
        assert!(RegistrationNumber::parse("55/66").is_err());
    }
}
