//! Cursor pagination: every list takes `limit` and `cursor` and answers `items` and
//! `next_cursor`. Cursors are opaque to clients (hex of `<list>:<position>`), bound to the list
//! they came from, and point after the last item returned.

use account_core::domain::secret::to_hex;
use chrono::{DateTime, Utc};

use crate::errors::Malformed;

/// Items per page unless `limit` says otherwise.
pub(crate) const DEFAULT_LIMIT: u32 = 50;
/// Most items per page.
pub(crate) const MAX_LIMIT: u32 = 200;

fn bad_cursor() -> Malformed {
    crate::body::malformed_problem(vec![crate::problem::FieldProblem {
        field: "cursor".to_owned(),
        message: "is not one this list gave out; start again without it".to_owned(),
    }])
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    s.as_bytes().chunks(2).map(|p| Some((digit(p[0])? << 4) | digit(p[1])?)).collect()
}

/// The page size asked for, within bounds.
pub(crate) fn limit(requested: Option<u32>) -> u32 {
    requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}

/// A cursor of list `list` pointing after `position`.
pub(crate) fn encode(list: &str, position: &str) -> String {
    to_hex(format!("{list}:{position}").as_bytes())
}

/// The position a cursor of `list` points after.
///
/// # Errors
/// `malformed-request` when the cursor is not one of `list`'s.
pub(crate) fn decode(list: &str, cursor: &str) -> Result<String, Malformed> {
    let bytes = from_hex(cursor.trim()).ok_or_else(bad_cursor)?;
    let text = String::from_utf8(bytes).map_err(|_| bad_cursor())?;
    let (name, position) = text.split_once(':').ok_or_else(bad_cursor)?;
    if name == list { Ok(position.to_owned()) } else { Err(bad_cursor()) }
}

/// A cursor position parsed with `FromStr` (ids).
pub(crate) fn decode_parsed<T: std::str::FromStr>(
    list: &str,
    cursor: Option<&str>,
) -> Result<Option<T>, Malformed> {
    cursor.map(|c| decode(list, c)?.parse::<T>().map_err(|_| bad_cursor())).transpose()
}

/// A `<time>|<id>` cursor position (ledger, audit log).
pub(crate) fn decode_time_id<T: std::str::FromStr>(
    list: &str,
    cursor: Option<&str>,
) -> Result<Option<(DateTime<Utc>, T)>, Malformed> {
    cursor
        .map(|c| {
            let position = decode(list, c)?;
            let (at, id) = position.split_once('|').ok_or_else(bad_cursor)?;
            let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad_cursor())?;
            let id = id.parse::<T>().map_err(|_| bad_cursor())?;
            Ok((at.with_timezone(&Utc), id))
        })
        .transpose()
}

/// The `<time>|<id>` position of a row.
pub(crate) fn time_id(at: DateTime<Utc>, id: &impl std::fmt::Display) -> String {
    format!("{}|{id}", at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
}

/// Cuts rows fetched with `limit + 1` to `limit` and says where the next page starts.
pub(crate) fn finish<T>(
    mut rows: Vec<T>,
    limit: u32,
    list: &str,
    position: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(|r| encode(list, &position(r)));
        (rows, next)
    } else {
        (rows, None)
    }
}

/// Pages a list the domain returns whole (bounded lists: sessions, keys, contacts, the
/// catalogue): sorted by `position`, from after the cursor's.
///
/// # Errors
/// `malformed-request` for a cursor of another list.
pub(crate) fn in_memory<T>(
    mut rows: Vec<T>,
    list: &str,
    cursor: Option<&str>,
    limit: u32,
    position: impl Fn(&T) -> String,
) -> Result<(Vec<T>, Option<String>), Malformed> {
    let after = cursor.map(|c| decode(list, c)).transpose()?;
    rows.sort_by_key(|r| position(r));
    let rows: Vec<T> = match after {
        Some(after) => rows.into_iter().filter(|r| position(r) > after).collect(),
        None => rows,
    };
    let take = usize::try_from(limit).unwrap_or(usize::MAX).saturating_add(1);
    let rows: Vec<T> = rows.into_iter().take(take).collect();
    Ok(finish(rows, limit, list, position))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_list() {
        let c = encode("members", "abc");
        assert_eq!(decode("members", &c).unwrap(), "abc");
        let status = |e| crate::problem::Problem::from(e).status;
        assert_eq!(status(decode("contacts", &c).unwrap_err()), 400);
        assert_eq!(status(decode("members", "zz").unwrap_err()), 400);
    }

    #[test]
    fn pages_in_memory_lists() {
        let rows = vec![3, 1, 2, 5, 4];
        let (page, next) = in_memory(rows.clone(), "n", None, 2, i32::to_string).unwrap();
        assert_eq!(page, [1, 2]);
        let (page, next) =
            in_memory(rows.clone(), "n", next.as_deref(), 2, i32::to_string).unwrap();
        assert_eq!(page, [3, 4]);
        let (page, next) = in_memory(rows, "n", next.as_deref(), 2, i32::to_string).unwrap();
        assert_eq!((page, next), (vec![5], None));
    }
}
