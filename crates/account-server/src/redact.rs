//! Hiding credentials in database addresses before they reach a log line or an error: the
//! password of a URL's user information (which may itself contain `@`), the value of every
//! parameter whose name says it is a secret (`?password=…`, `sslpassword=…`), and the same
//! in PostgreSQL's `key=value` connection strings (`host=db password='a b'`).

/// What replaces a hidden value.
const HIDDEN: &str = "***";

/// Whether a parameter's name says its value is a secret.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["pass", "pwd", "secret", "token", "key"].iter().any(|s| key.contains(s))
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The byte ranges of the values of secret parameters (`name=value`, value up to the next `&`,
/// `;`, `#` or whitespace) anywhere in `text`.
fn secret_values(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    for (eq, _) in text.match_indices('=') {
        let key_start = text[..eq]
            .char_indices()
            .rev()
            .find(|(_, c)| !is_key_char(*c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        if !is_secret_key(&text[key_start..eq]) {
            continue;
        }
        let start = eq + 1;
        let end = text[start..]
            .find(|c: char| matches!(c, '&' | ';' | '#') || c.is_whitespace())
            .map_or(text.len(), |n| start + n);
        ranges.push(start..end);
    }
    ranges
}

/// `text` with the ranges replaced by [`HIDDEN`] (ranges ascend and do not overlap).
fn replace_ranges(text: &str, ranges: &[std::ops::Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in ranges {
        if r.start < at {
            continue;
        }
        out.push_str(&text[at..r.start]);
        out.push_str(HIDDEN);
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A user name worth showing: plain characters only, so that nothing of a mangled address
/// (a password with an unencoded `/` or `?`) can pass for one.
fn plain_user(user: &str) -> bool {
    !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '%' | '+'))
}

/// `postgres://user:***@host/db?sslmode=require&password=***`; see the module's description.
#[must_use]
pub fn database_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return keyword_string(url);
    };
    // The user information ends at the last `@` that is not inside a secret parameter's value:
    // a password may contain `@` (and, unencoded, even `/` or `?`), and a `?password=` value
    // may too.
    let hidden = secret_values(rest);
    let at = rest
        .rmatch_indices('@')
        .map(|(i, _)| i)
        .find(|i| !hidden.iter().any(|r| r.contains(i)))
        .filter(|_| !scheme.starts_with("sqlite"));
    let Some(at) = at else {
        return format!("{scheme}://{}", replace_ranges(rest, &hidden));
    };
    let (userinfo, tail) = (&rest[..at], &rest[at + 1..]);
    let user = match userinfo.split_once(':') {
        Some((user, _)) if plain_user(user) => format!("{user}:{HIDDEN}"),
        None if plain_user(userinfo) => userinfo.to_owned(),
        _ => HIDDEN.to_owned(),
    };
    format!("{scheme}://{user}@{}", replace_ranges(tail, &secret_values(tail)))
}

/// A PostgreSQL `key=value` connection string with secret values hidden; values may be quoted
/// (`password='it''s \' here'`) and `=` may have spaces around it.
fn keyword_string(text: &str) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte = |i: usize| chars.get(i).map_or(text.len(), |(b, _)| *b);
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        // A key, spaces, `=`, spaces, then a value.
        let key_start = i;
        while chars.get(i).is_some_and(|(_, c)| is_key_char(*c)) {
            i += 1;
        }
        let key = &text[byte(key_start)..byte(i)];
        let mut j = i;
        while chars.get(j).is_some_and(|(_, c)| c.is_whitespace()) {
            j += 1;
        }
        if key.is_empty() || chars.get(j).is_none_or(|(_, c)| *c != '=') {
            i = if i == key_start { i + 1 } else { i };
            continue;
        }
        j += 1;
        while chars.get(j).is_some_and(|(_, c)| c.is_whitespace()) {
            j += 1;
        }
        let value_start = j;
        if chars.get(j).is_some_and(|(_, c)| *c == '\'') {
            j += 1;
            while let Some((_, c)) = chars.get(j) {
                match c {
                    '\\' => j += 2,
                    '\'' => {
                        j += 1;
                        break;
                    }
                    _ => j += 1,
                }
            }
        } else {
            while chars.get(j).is_some_and(|(_, c)| !c.is_whitespace()) {
                j += 1;
            }
        }
        let j = j.min(chars.len());
        if is_secret_key(key) {
            ranges.push(byte(value_start)..byte(j));
        }
        i = j;
    }
    // A `sqlite:` address without `//` has no key=value pairs but may have a query.
    if ranges.is_empty() {
        return replace_ranges(text, &secret_values(text));
    }
    replace_ranges(text, &ranges)
}

#[cfg(test)]
mod tests {
    use super::database_url as mask;

    #[test]
    fn hides_the_password_of_the_user_information_even_with_at_signs_in_it() {
        assert_eq!(
            mask("postgres://app:db-pass@db:5432/accounts"),
            "postgres://app:***@db:5432/accounts"
        );
        assert_eq!(mask("postgres://app:p@ss@w0rd@db/accounts"), "postgres://app:***@db/accounts");
        assert_eq!(mask("postgresql://app@db/accounts"), "postgresql://app@db/accounts");
        assert_eq!(mask("postgres://db/accounts"), "postgres://db/accounts");
        // Azure's `user@server` names stay readable.
        assert_eq!(mask("postgres://ada@srv:pw@db/a"), "postgres://ada@srv:***@db/a");
        // Unencoded `/`, `?` or `#` in a password: hidden all the same.
        for url in
            ["postgres://app:pa/ss@db/a", "postgres://app:pa?ss@db/a", "postgres://app:pa#ss@db/a"]
        {
            let masked = mask(url);
            assert!(!masked.contains("ss@"), "{url} -> {masked}");
            assert!(masked.ends_with("@db/a"), "{url} -> {masked}");
        }
    }

    #[test]
    fn hides_secret_query_parameters() {
        assert_eq!(
            mask("postgres://db/accounts?user=app&password=hunter2&sslmode=require"),
            "postgres://db/accounts?user=app&password=***&sslmode=require"
        );
        assert_eq!(
            mask("postgres://app:x@db/a?sslpassword=k3y&PASSWORD=y"),
            "postgres://app:***@db/a?sslpassword=***&PASSWORD=***"
        );
        // An `@` inside a hidden value does not end the user information.
        assert_eq!(mask("postgres://db/a?password=a@b"), "postgres://db/a?password=***");
        assert_eq!(mask("sqlite://data/a.db?mode=rwc"), "sqlite://data/a.db?mode=rwc");
        assert_eq!(mask("sqlite:data/a.db?password=x"), "sqlite:data/a.db?password=***");
        // A mangled address shows less, never the secret.
        let masked = mask("postgres://db/a?user=me@corp&password=x");
        assert!(!masked.contains("password=x"), "{masked}");
    }

    #[test]
    fn hides_passwords_in_key_value_connection_strings() {
        assert_eq!(
            mask("host=db port=5432 user=app password=hunter2 dbname=accounts"),
            "host=db port=5432 user=app password=*** dbname=accounts"
        );
        assert_eq!(
            mask("host=db password = 'it\\'s a secret' dbname=a"),
            "host=db password = *** dbname=a"
        );
        assert_eq!(mask("password='unterminated"), "password=***");
        assert_eq!(mask("sslpassword=k dbname=a"), "sslpassword=*** dbname=a");
    }

    #[test]
    fn never_panics_and_never_shows_a_secret_marked_as_such() {
        for url in [
            "",
            "://",
            "@",
            "postgres://@",
            "postgres://:@",
            "password=",
            "a = = b",
            "é=é password=ü",
        ] {
            let masked = mask(url);
            assert!(!masked.contains('ü'), "{url} -> {masked}");
        }
    }
}
