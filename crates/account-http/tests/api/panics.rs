//! No panic from input: the token that split a character is refused with a problem, and a
//! handler that panics anyway answers an opaque 500 with the request id, while the log gets
//! the request id and the panic's location, never its message. A password hasher whose queue
//! is full makes the request answer 503 with `Retry-After`.

use std::sync::Arc;

use account_core::domain::password::{Password, PasswordAttempt, PasswordHash};
use account_core::ports::{HashError, PasswordHasher};
use async_trait::async_trait;
use serde_json::json;

use crate::support::{Auth, app, app_with_hasher};

#[tokio::test]
async fn an_invitation_token_with_a_wide_character_where_the_id_ends_is_refused() {
    let app = app();
    // `aci_`, 31 hex digits, then a two-byte character over bytes 35 and 36.
    let token = format!("aci_{}é{}", "0".repeat(31), "f".repeat(63));
    assert_eq!(token.len(), 100);
    app.post(
        "/api/v1/auth/invitation",
        &Auth::None,
        json!({"token": token, "password": "a perfectly fine password"}),
    )
    .await
    .expect_problem(422, "invitation-invalid");
}

/// A hasher with a bug that puts its input in the panic message.
#[derive(Debug)]
struct LeakyPanickingHasher;

#[async_trait]
impl PasswordHasher for LeakyPanickingHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        panic!("cannot hash {}", password.expose())
    }

    async fn verify<'a>(
        &self,
        attempt: &PasswordAttempt,
        _hash: Option<&'a PasswordHash>,
    ) -> Result<bool, HashError> {
        panic!("cannot verify {}", attempt.expose())
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_500_with_the_request_id_and_its_message_is_not_logged() {
    account_http::install_panic_hook();
    let log = crate::server::capture();
    let app = app_with_hasher(Arc::new(LeakyPanickingHasher));
    let secret = "pw-quoted-by-the-panic-7f3a";
    let r = app
        .send(
            "POST",
            "/api/v1/auth/login",
            &Auth::None,
            &[("X-Request-Id", "panic-test-1")],
            Some(&json!({"email": "ada@acme.test", "password": secret})),
        )
        .await;
    r.expect_problem(500, "internal-error");
    assert_eq!(r.str("/request_id"), "panic-test-1");
    assert!(!r.text.contains(secret));

    let text = log.text();
    let ours: Vec<&str> = text.lines().filter(|l| l.contains("panic-test-1")).collect();
    assert!(
        ours.iter().any(|l| l.contains("panic while serving a request") && l.contains(".rs:")),
        "no panic line with a location: {ours:?}"
    );
    assert!(
        ours.iter().any(|l| l.contains("request served") && l.contains("status=500")),
        "no access line: {ours:?}"
    );
    assert!(!text.contains(secret), "the panic message reached the log");
}

/// A hasher whose queue is full.
#[derive(Debug)]
struct BusyHasher;

#[async_trait]
impl PasswordHasher for BusyHasher {
    async fn hash(&self, _password: &Password) -> Result<PasswordHash, HashError> {
        Err(HashError::Busy)
    }

    async fn verify<'a>(
        &self,
        _attempt: &PasswordAttempt,
        _hash: Option<&'a PasswordHash>,
    ) -> Result<bool, HashError> {
        Err(HashError::Busy)
    }
}

#[tokio::test]
async fn a_full_hashing_queue_answers_503_with_retry_after() {
    let app = app_with_hasher(Arc::new(BusyHasher));
    let r = app
        .post(
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": "ada@acme.test", "password": "any password at all"}),
        )
        .await;
    r.expect_problem(503, "unavailable");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
}
