//! Errors shared by every operation: per-field validation failures and internal faults.

use std::fmt;

use serde::Serialize;

/// A boxed error from an adapter, kept as the source of an internal fault.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One invalid field of a request and what to fix. Never holds the rejected value itself,
/// which may be personal data or a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as the caller sent it, for example `phone` or `new_email_repeat`.
    pub field: String,
    /// What is wrong and how to fix it, for example `must be in E.164 format, like +46701234567`.
    pub message: String,
}

/// Every invalid field of one request, so that a form can show them all at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors {
    errors: Vec<FieldError>,
}

impl ValidationErrors {
    /// No errors yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A single invalid field.
    #[must_use]
    pub fn single(field: &str, message: impl fmt::Display) -> Self {
        let mut errors = Self::new();
        errors.push(field, message);
        errors
    }

    /// Records that `field` is invalid.
    pub fn push(&mut self, field: &str, message: impl fmt::Display) {
        self.errors.push(FieldError { field: field.to_owned(), message: message.to_string() });
    }

    /// Keeps the value of a successful parse, or records its error under `field`.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(field, error);
                None
            }
        }
    }

    /// Like [`check`](Self::check) for an optional input: `None` stays `None`.
    pub fn check_opt<T, E: fmt::Display>(
        &mut self,
        field: &str,
        parsed: Option<Result<T, E>>,
    ) -> Option<Option<T>> {
        match parsed {
            None => Some(None),
            Some(result) => self.check(field, result).map(Some),
        }
    }

    /// The recorded errors, in the order they were found.
    #[must_use]
    pub fn fields(&self) -> &[FieldError] {
        &self.errors
    }

    /// True when nothing was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` when nothing was recorded, else `Err(self)`.
    ///
    /// # Errors
    /// Returns `self` when at least one field is invalid.
    pub fn finish(self) -> Result<(), Self> {
        if self.errors.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid input: ")?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// A fault that is ours, not the caller's: a store, hasher or keyring failure. It becomes an
/// opaque, logged "internal error"; its source is kept for the log, never shown to the caller.
#[derive(Debug, thiserror::Error)]
#[error("internal error: {source}")]
pub struct InternalError {
    unavailable: bool,
    #[source]
    source: BoxError,
}

impl InternalError {
    /// Wraps an adapter failure.
    pub fn new(source: impl Into<BoxError>) -> Self {
        Self { unavailable: false, source: source.into() }
    }

    /// True when the cause is a dependency that is down (the caller may retry later).
    #[must_use]
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }
}

impl From<crate::ports::StoreError> for InternalError {
    fn from(error: crate::ports::StoreError) -> Self {
        let unavailable = matches!(error, crate::ports::StoreError::Unavailable(_));
        Self { unavailable, source: Box::new(error) }
    }
}

impl From<crate::ports::HashError> for InternalError {
    fn from(error: crate::ports::HashError) -> Self {
        // A full hashing queue clears within moments: the caller may retry, like a database
        // that does not answer.
        let unavailable = matches!(error, crate::ports::HashError::Busy);
        Self { unavailable, source: Box::new(error) }
    }
}

impl From<crate::ports::KeyringError> for InternalError {
    fn from(error: crate::ports::KeyringError) -> Self {
        Self::new(error)
    }
}
