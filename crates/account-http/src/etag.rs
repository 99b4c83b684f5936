//! ETags of versioned resources (a member's profile, an organisation's customer info) and the
//! `If-Match` precondition of their updates.

use crate::errors::{Either, Malformed, Status, problem};

/// The strong ETag of version `version`: `"7"`.
#[must_use]
pub(crate) fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// The version an update's `If-Match` names.
///
/// # Errors
/// `precondition-required` (428) when it is missing or `*`; `malformed-request` (400) when it is
/// not one strong ETag of ours.
pub(crate) fn required_version(
    if_match: Option<&str>,
) -> Result<u64, Either<Status<428>, Malformed>> {
    let Some(value) = if_match.map(str::trim) else {
        return Err(Either::A(problem!(
            PreconditionRequired,
            "send If-Match with the ETag you read, so that a concurrent change is not overwritten"
        )));
    };
    if value == "*" {
        return Err(Either::A(problem!(
            PreconditionRequired,
            "If-Match must name the ETag you read; `*` is not accepted here"
        )));
    }
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            Either::B(crate::body::malformed_problem(vec![crate::problem::FieldProblem {
                field: "If-Match".to_owned(),
                message: "must be one strong ETag as sent in ETag, like \"3\"".to_owned(),
            }]))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Problem;

    #[test]
    fn parses_strong_tags_only() {
        let status = |v| Problem::from(required_version(v).unwrap_err()).status;
        assert_eq!(required_version(Some("\"12\"")).unwrap(), 12);
        assert_eq!(required_version(Some(" \"1\" ")).unwrap(), 1);
        assert_eq!(status(None), 428);
        assert_eq!(status(Some("*")), 428);
        assert_eq!(status(Some("W/\"1\"")), 400);
        assert_eq!(status(Some("1")), 400);
        assert_eq!(etag(3), "\"3\"");
    }
}
