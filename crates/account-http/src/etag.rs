//! ETags of versioned resources (a member's profile, an organisation's customer info) and the
//! `If-Match` precondition of their updates.

use crate::problem::{Problem, ProblemType};

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
pub(crate) fn required_version(if_match: Option<&str>) -> Result<u64, Box<Problem>> {
    let Some(value) = if_match.map(str::trim) else {
        return Err(Box::new(Problem::new(
            ProblemType::PreconditionRequired,
            "send If-Match with the ETag you read, so that a concurrent change is not overwritten",
        )));
    };
    if value == "*" {
        return Err(Box::new(Problem::new(
            ProblemType::PreconditionRequired,
            "If-Match must name the ETag you read; `*` is not accepted here",
        )));
    }
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            Box::new(crate::body::malformed_problem(vec![crate::problem::FieldProblem {
                field: "If-Match".to_owned(),
                message: "must be one strong ETag as sent in ETag, like \"3\"".to_owned(),
            }]))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strong_tags_only() {
        assert_eq!(required_version(Some("\"12\"")), Ok(12));
        assert_eq!(required_version(Some(" \"1\" ")), Ok(1));
        assert_eq!(required_version(None).unwrap_err().status, 428);
        assert_eq!(required_version(Some("*")).unwrap_err().status, 428);
        assert_eq!(required_version(Some("W/\"1\"")).unwrap_err().status, 400);
        assert_eq!(required_version(Some("1")).unwrap_err().status, 400);
        assert_eq!(etag(3), "\"3\"");
    }
}
