//! Submitted forms: `application/x-www-form-urlencoded` bodies parsed once (by the CSRF
//! check), read by field name; and per-field error messages for the templates.

use account_core::ValidationErrors;
use poem::{FromRequest, Request, RequestBody};

use crate::errors::Failure;

/// The fields of a submitted form, in order; a name may repeat (checkboxes).
#[derive(Clone, Default)]
pub(crate) struct FormData {
    fields: Vec<(String, String)>,
}

/// Field values are passwords, codes and personal data: only the names are shown.
impl std::fmt::Debug for FormData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.fields.iter().map(|(k, _)| k)).finish()
    }
}

impl FormData {
    /// Parses an urlencoded body; malformed escapes are kept as typed.
    pub(crate) fn parse(body: &[u8]) -> Self {
        let fields = body
            .split(|b| *b == b'&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let mut parts = pair.splitn(2, |b| *b == b'=');
                let key = decode(parts.next().unwrap_or_default());
                let value = decode(parts.next().unwrap_or_default());
                (key, value)
            })
            .collect();
        Self { fields }
    }

    /// The first value of `name`, as typed.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, or an empty string.
    pub(crate) fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    /// The first value of `name` when it is not blank.
    pub(crate) fn opt(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.trim().is_empty()).map(str::to_owned)
    }

    /// Every value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.fields.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// True when a checkbox `name` was ticked.
    pub(crate) fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match (raw.get(i + 1).copied().and_then(hex), raw.get(i + 2).copied().and_then(hex))
                {
                    (Some(h), Some(l)) => {
                        out.push((h << 4) | l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The form of a state-changing request, as the CSRF check parsed it.
impl<'a> FromRequest<'a> for FormData {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        req.data::<Self>().cloned().ok_or_else(|| Failure::BadForm.into())
    }
}

/// What is wrong with each field of a form, by field name.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldErrors {
    errors: Vec<(String, String)>,
}

impl FieldErrors {
    /// No errors.
    pub(crate) fn none() -> Self {
        Self::default()
    }

    /// One error.
    pub(crate) fn one(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::none();
        e.push(field, message);
        e
    }

    /// Adds an error on `field`.
    pub(crate) fn push(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push((field.to_owned(), message.into()));
    }

    /// The domain's errors, with its field names mapped to the form's (`rename`).
    pub(crate) fn from_domain(errors: &ValidationErrors, rename: &[(&str, &str)]) -> Self {
        let mut out = Self::none();
        for e in errors.fields() {
            let field = rename
                .iter()
                .find(|(from, _)| *from == e.field)
                .map_or(e.field.as_str(), |(_, to)| *to);
            out.push(field, sentence(field, &e.message));
        }
        out
    }

    /// The error of `field`, if any.
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    /// True when there is any error.
    pub(crate) fn any(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Every error, for the summary at the top of a form.
    pub(crate) fn all(&self) -> &[(String, String)] {
        &self.errors
    }
}

/// "must be in E.164 format" → "Phone must be in E.164 format.": the domain's messages say
/// what to fix; the page names the field too, since the summary lists them all.
fn sentence(field: &str, message: &str) -> String {
    let label = crate::text::field_label(field);
    let mut s = format!("{label} {message}");
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_repeated_and_escaped_fields() {
        let form = FormData::parse(b"a=1&roles=billing&roles=dpo&t=x%2By+z%3D&empty=&bad=%zz");
        assert_eq!(form.get("a"), Some("1"));
        assert_eq!(form.all("roles"), vec!["billing", "dpo"]);
        assert_eq!(form.get("t"), Some("x+y z="));
        assert_eq!(form.opt("empty"), None);
        assert!(form.checked("empty"));
        assert_eq!(form.get("bad"), Some("%zz"));
        assert_eq!(format!("{form:?}"), r#"["a", "roles", "roles", "t", "empty", "bad"]"#);
    }
}
