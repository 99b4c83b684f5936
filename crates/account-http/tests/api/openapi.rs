//! The committed OpenAPI document matches the code.

use std::path::PathBuf;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn openapi_document_is_committed_and_up_to_date() {
    let spec = account_http::openapi_json();
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, format!("{spec}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed.trim_end() == spec.trim_end(),
        "docs/openapi.json differs from the API in the code; regenerate it with\n\n    \
         UPDATE_OPENAPI=1 cargo test -p account-http --test api openapi\n\nand commit it"
    );
}

#[test]
fn every_operation_is_documented_and_declares_the_statuses_it_can_return() {
    let ops = crate::support::operations();
    assert_eq!(ops.len(), 85, "an operation was added or removed: update the count and the docs");
    let mut ids = std::collections::BTreeSet::new();
    for op in ops {
        assert!(ids.insert(op.id.clone()), "duplicate operationId {}", op.id);
        assert!(!op.summary.is_empty(), "{} has no summary", op.id);
        assert_eq!(op.tags.len(), 1, "{} must be in exactly one tag", op.id);
        assert!(op.statuses.iter().any(|s| (200..300).contains(s)), "{} has no success", op.id);
        for s in [500, 503] {
            assert!(op.statuses.contains(&s), "{} does not declare {s}", op.id);
        }
        if op.secured {
            assert!(op.statuses.contains(&401), "{} is secured but does not declare 401", op.id);
        }
        if op.has_body {
            for s in [400, 413, 415] {
                assert!(
                    op.statuses.contains(&s),
                    "{} takes a body but does not declare {s}",
                    op.id
                );
            }
        }
        if op.has_params {
            assert!(
                op.statuses.contains(&400),
                "{} takes parameters but does not declare 400",
                op.id
            );
        }
        assert!(
            op.path.split('/').all(|s| !s.contains(':')),
            "{}: poem-style path in the document",
            op.id
        );
    }
}

#[test]
fn operations_are_under_their_tags_and_the_document_is_stable() {
    let tags: std::collections::BTreeSet<_> =
        crate::support::operations().iter().flat_map(|o| o.tags.clone()).collect();
    let expected = [
        "auth",
        "impersonation",
        "integrations",
        "me",
        "operator",
        "organisation",
        "system",
        "team",
    ];
    assert_eq!(tags.into_iter().collect::<Vec<_>>(), expected);
    assert_eq!(account_http::openapi_json(), account_http::openapi_json());
    let doc: serde_json::Value = serde_json::from_str(&account_http::openapi_json()).unwrap();
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes.keys().collect::<Vec<_>>(), ["ApiKey", "OperatorToken", "SessionToken"]);
}
