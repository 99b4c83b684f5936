//! A JSON writer for documents written piece by piece: objects and arrays are opened and
//! closed by hand, strings escaped as RFC 8259 asks. Just what the exports need, so that
//! `account-core` needs no JSON library and both the API and the console write the same bytes.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};

/// Appends `s` as a JSON string: quotes, backslashes and control characters escaped, and
/// U+2028 / U+2029 too, so that the text is also valid JavaScript.
pub(crate) fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// An instant as RFC 3339 in UTC with a `Z`, with its fraction of a second when it has one.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// One JSON object being written: `{`, then members, then [`Obj::end`] writes `}`.
#[derive(Debug)]
pub(crate) struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    /// Opens an object.
    pub(crate) fn new(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, first: true }
    }

    /// Writes the key of the next member and returns the output for its value.
    pub(crate) fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_str(self.out, key);
        self.out.push(':');
        self.out
    }

    /// A string member.
    pub(crate) fn str(&mut self, key: &str, value: &str) -> &mut Self {
        push_str(self.key(key), value);
        self
    }

    /// A string member, `null` when absent.
    pub(crate) fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.str(key, v),
            None => self.raw(key, "null"),
        }
    }

    /// A member written as it is (a number, `true`, `null`).
    pub(crate) fn raw(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key).push_str(value);
        self
    }

    /// An integer member.
    pub(crate) fn int(&mut self, key: &str, value: i64) -> &mut Self {
        let _ = write!(self.key(key), "{value}");
        self
    }

    /// A boolean member.
    pub(crate) fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.raw(key, if value { "true" } else { "false" })
    }

    /// An instant member.
    pub(crate) fn time(&mut self, key: &str, value: DateTime<Utc>) -> &mut Self {
        self.str(key, &time(value))
    }

    /// An instant member, `null` when absent.
    pub(crate) fn opt_time(&mut self, key: &str, value: Option<DateTime<Utc>>) -> &mut Self {
        self.opt_str(key, value.map(time).as_deref())
    }

    /// Closes the object.
    pub(crate) fn end(self) {
        self.out.push('}');
    }
}

/// Writes `items` as a JSON array, each with `item`.
pub(crate) fn push_array<T>(out: &mut String, items: &[T], item: impl Fn(&mut String, &T)) {
    out.push('[');
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item(out, t);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_parse_back() {
        let tricky =
            "quote \" backslash \\ nl \n cr \r tab \t bell \u{7} nul \u{0} ls \u{2028} é 😀";
        let mut out = String::new();
        push_str(&mut out, tricky);
        assert!(!out.contains('\n') && !out.contains('\u{7}') && !out.contains('\u{2028}'));
        let back: String = serde_json::from_str(&out).unwrap();
        assert_eq!(back, tricky);
    }

    #[test]
    fn objects_and_arrays_are_valid_json() {
        let mut out = String::new();
        let mut o = Obj::new(&mut out);
        o.str("a", "x").opt_str("b", None).int("c", -3).bool("d", true);
        o.time("e", DateTime::from_timestamp(1_767_603_600, 5_000).unwrap());
        push_array(o.key("f"), &[1, 2], |out, n| out.push_str(&n.to_string()));
        o.end();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": "x", "b": null, "c": -3, "d": true,
                "e": "2026-01-05T09:00:00.000005Z", "f": [1, 2]})
        );
    }
}
