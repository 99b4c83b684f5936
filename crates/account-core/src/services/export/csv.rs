//! CSV as RFC 4180 writes it: comma-separated fields, CRLF after every row, a field quoted
//! when it holds a comma, a quote or a line break (quotes doubled inside). Text that a
//! spreadsheet would run as a formula is defused with a leading `'` (OWASP's advice on CSV
//! injection), so a reason or a name typed by someone else cannot run in the reader's
//! spreadsheet; plain numbers are left as they are.

/// Appends one field to `out`, quoted and defused as the module says.
pub fn push_field(out: &mut String, s: &str) {
    let defuse = s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<i64>().is_err();
    let quote = s.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if defuse {
        out.push('\'');
    }
    if quote {
        for c in s.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// One field as [`push_field`] writes it.
#[must_use]
pub fn field(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_field(&mut out, s);
    out
}

/// Appends one row: the fields separated by commas, then CRLF.
pub fn push_row<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, f.as_ref());
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field(""), "");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("cr\r"), "\"cr\r\"");
    }

    #[test]
    fn formulas_are_defused_and_numbers_are_not() {
        assert_eq!(field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(field("+1"), "+1");
        assert_eq!(field("-5"), "-5");
        assert_eq!(field("-2+3"), "'-2+3");
        assert_eq!(field("@cmd"), "'@cmd");
        assert_eq!(field("=HYPERLINK(\"x\",\"y\")"), "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
        assert_eq!(field("\r=1"), "\"'\r=1\"");
    }

    #[test]
    fn rows_end_with_crlf() {
        let mut out = String::new();
        push_row(&mut out, &["a", "b,c", ""]);
        push_row(&mut out, &[String::from("1")]);
        assert_eq!(out, "a,\"b,c\",\r\n1\r\n");
    }
}
