//! Security headers: `no-store` on every answer that carries a secret (found in the OpenAPI
//! document, so a new one cannot be missed), `nosniff`, CSP and frame denial everywhere,
//! Swagger UI under a CSP without inline code, HSTS only when configured, `Allow` on 405.

use std::collections::BTreeSet;

use account_http::HttpConfig;
use serde_json::{Value, json};

use crate::support::{Auth, Resp, app, app_with};

/// Operations whose success body has a `token` or `secret` field, read from the document.
fn secret_bearing_operations() -> BTreeSet<String> {
    let doc: Value = serde_json::from_str(&account_http::openapi_json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let has_secret = |schema: &Value| {
        let name = schema["$ref"].as_str().unwrap_or_default().rsplit('/').next().unwrap();
        schemas[name]["properties"]
            .as_object()
            .is_some_and(|p| p.keys().any(|k| k == "token" || k == "secret"))
    };
    let mut ops = BTreeSet::new();
    for methods in doc["paths"].as_object().unwrap().values() {
        for op in methods.as_object().unwrap().values() {
            for (status, resp) in op["responses"].as_object().unwrap() {
                let secret = status.starts_with('2')
                    && resp["content"]
                        .as_object()
                        .is_some_and(|c| c.values().any(|m| has_secret(&m["schema"])));
                if secret {
                    ops.insert(op["operationId"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    ops
}

#[track_caller]
fn assert_common_headers(r: &Resp) {
    assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(r.header("x-frame-options").as_deref(), Some("DENY"));
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}

#[tokio::test]
async fn every_secret_bearing_answer_says_no_store() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let sam = app.member(&org, "Sam", "sam@acme.test").await;
    let admin = Auth::bearer(&org.admin.token);
    let login = app
        .post(
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": "ada@acme.test", "password": crate::support::PASSWORD}),
        )
        .await;
    let created = app.post("/api/v1/me/api-keys", &admin, json!({"label": "CRM"})).await;
    let key = created.str("/key/id");
    let rotated = app.post_empty(&format!("/api/v1/me/api-keys/{key}/rotate"), &admin).await;
    let key = rotated.str("/key/id");
    let by_operator =
        app.post_empty(&format!("/api/v1/operator/api-keys/{key}/rotate"), &Auth::operator()).await;
    let impersonation = app
        .post(
            &format!("/api/v1/team/members/{}/impersonation", sam.id),
            &admin,
            json!({"reason": "support"}),
        )
        .await;
    let answers = [
        ("login", login.expect(200)),
        ("createApiKey", created.expect(201)),
        ("rotateApiKey", rotated.expect(200)),
        ("rotateApiKeyAsOperator", by_operator.expect(200)),
        ("startImpersonation", impersonation.expect(201)),
    ];
    let covered: BTreeSet<String> = answers.iter().map(|(op, _)| (*op).to_owned()).collect();
    assert_eq!(
        covered,
        secret_bearing_operations(),
        "an operation answers a token or secret: add it here"
    );
    for (op, r) in answers {
        assert_eq!(r.header("cache-control").as_deref(), Some("no-store"), "{op}");
        assert_common_headers(r);
    }
    // Other API answers carry personal data: not for a cache either.
    let me = app.get("/api/v1/me", &admin).await;
    assert_eq!(me.header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test]
async fn every_answer_has_nosniff_a_csp_and_frame_denial_and_no_hsts_by_default() {
    let app = app();
    let org = app.org("Acme", "ada@acme.test", 5).await;
    let admin = Auth::bearer(&org.admin.token);
    let answers = [
        app.get("/api/v1/me", &admin).await,
        app.get("/api/v1/me", &Auth::None).await,
        app.get("/api/v1/nowhere", &Auth::None).await,
        app.get("/api/v1/openapi.json", &Auth::None).await,
        app.get("/healthz", &Auth::None).await,
        app.get("/docs", &Auth::None).await,
    ];
    for r in &answers {
        assert_common_headers(r);
        assert!(r.header("strict-transport-security").is_none());
    }
    // The API loads nothing.
    let csp = answers[0].header("content-security-policy").unwrap();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
}

#[tokio::test]
async fn hsts_is_sent_when_configured() {
    let config = HttpConfig {
        hsts_max_age: Some(std::time::Duration::from_secs(31_536_000)),
        ..HttpConfig::default()
    };
    let app = app_with(config);
    for path in ["/api/v1/me", "/healthz", "/docs"] {
        let r = app.get(path, &Auth::None).await;
        assert_eq!(
            r.header("strict-transport-security").as_deref(),
            Some("max-age=31536000"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn swagger_ui_is_served_as_files_under_a_csp_without_inline_code() {
    let app = app();
    let page = app.get("/docs", &Auth::None).await;
    page.expect(200);
    let csp = page.header("content-security-policy").unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    // Every script has a `src`; no inline style: what the policy allows is all there is.
    assert_eq!(page.text.matches("<script").count(), page.text.matches("<script src=").count());
    assert!(!page.text.contains("<style") && !page.text.contains("style="));
    for (path, content_type, needle) in [
        ("/docs/swagger-ui-bundle.js", "text/javascript", "SwaggerUIBundle"),
        ("/docs/swagger-ui.css", "text/css", ".swagger-ui"),
        ("/docs/swagger-init.js", "text/javascript", "/api/v1/openapi.json"),
    ] {
        assert!(page.text.contains(path), "the page loads {path}");
        let r = app.get(path, &Auth::None).await;
        r.expect(200);
        assert!(r.header("content-type").unwrap().starts_with(content_type), "{path}");
        assert!(r.text.contains(needle), "{path}");
        assert_common_headers(&r);
    }
}

#[tokio::test]
async fn method_not_allowed_answers_say_which_methods_are() {
    let app = app();
    for (method, path, allow) in [
        ("DELETE", "/api/v1/me", "GET"),
        ("PATCH", "/api/v1/me/profile", "GET, PUT"),
        ("GET", "/api/v1/auth/sessions/revoke-others", "POST"),
        ("POST", "/healthz", "GET, HEAD"),
        ("PUT", "/docs", "GET, HEAD"),
    ] {
        let r = app.send(method, path, &Auth::None, &[], None).await;
        r.expect_problem(405, "method-not-allowed");
        assert_eq!(r.header("allow").as_deref(), Some(allow), "{method} {path}");
        assert_common_headers(&r);
    }
}

/// Pages served beside the API (the web console) keep the policy and cache rule they set,
/// and get the headers every answer carries: the API's `form-action 'none'` would stop every
/// form of theirs.
#[tokio::test]
async fn pages_beside_the_api_keep_their_own_policy() {
    use poem::EndpointExt;
    let mem = account_memory::InMemory::new(7);
    let pages = poem::endpoint::make_sync(|_| {
        poem::Response::builder()
            .header("content-security-policy", "default-src 'self'; frame-ancestors 'none'")
            .header("cache-control", "public, max-age=60")
            .body("a page")
    })
    .boxed();
    let server =
        account_http::HttpServer::new(mem.accounts, HttpConfig::default()).with_pages(pages);
    let cli = poem::test::TestClient::new(server.endpoint());
    let page = cli.get("/profile").send().await;
    page.assert_status_is_ok();
    let header =
        |name: &str| page.0.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(
        header("content-security-policy").as_deref(),
        Some("default-src 'self'; frame-ancestors 'none'")
    );
    assert_eq!(header("cache-control").as_deref(), Some("public, max-age=60"));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    // The API's answers beside them still get the API's.
    let api = cli.get("/api/v1/me").send().await;
    let csp = api.0.headers().get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    assert!(csp.contains("form-action 'none'"), "{csp}");
}

#[tokio::test]
async fn a_valid_traceparent_is_handed_to_the_span_parent_hook() {
    use std::sync::{Arc, Mutex};

    use account_http::{SpanParentHook, TraceParent};

    let seen: Arc<Mutex<Vec<TraceParent>>> = Arc::default();
    let hook = {
        let seen = Arc::clone(&seen);
        SpanParentHook::new(move |_span, parent| seen.lock().unwrap().push(*parent))
    };
    let app = app_with(HttpConfig { span_parent: Some(hook), ..HttpConfig::default() });
    let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    app.cli.get("/healthz").header("traceparent", header).send().await.assert_status_is_ok();
    app.cli.get("/healthz").header("traceparent", "00-bad").send().await.assert_status_is_ok();
    app.cli.get("/healthz").send().await.assert_status_is_ok();
    // Only the valid header, once, as parsed.
    assert_eq!(*seen.lock().unwrap(), vec![TraceParent::parse(header).unwrap()]);
}
