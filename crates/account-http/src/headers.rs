//! Security headers on every answer, and the Swagger UI page split into files so that its
//! Content-Security-Policy needs no inline script or style.
//!
//! - `X-Content-Type-Options: nosniff` everywhere;
//! - `Cache-Control: no-store` on every API answer: log-in, impersonation and new or rotated
//!   API keys carry secrets, and every other answer carries personal data no cache should keep
//!   (the OpenAPI document and the Swagger UI files are the exceptions);
//! - a CSP and `X-Frame-Options: DENY` everywhere: `default-src 'none'` for the API, and for
//!   `/docs` the least Swagger UI works with (its own files, `data:` images, requests to this
//!   origin); an answer whose endpoint set its own policy or cache rule (the web console's
//!   pages) keeps it;
//! - `Strict-Transport-Security` when configured (off by default: only a server reached over
//!   HTTPS should send it);
//! - `Allow` on 405 answers, from the route table.

use poem::Response;
use poem::http::{HeaderMap, HeaderValue, StatusCode, header};

/// The API's policy: a JSON answer loads nothing and is framed by no one.
const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Swagger UI's policy: its script, style and start-up files from this origin, the `data:`
/// images of its style sheet, "Try it out" requests and the document from this origin; no
/// inline script or style, no `eval`, no fonts, no framing. (Checked in Chromium: the page
/// renders every operation and logs no violation.)
pub(crate) const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Where Swagger UI's files are served.
pub(crate) const DOCS: &str = "/docs";
const DOCS_CSS: &str = "/docs/swagger-ui.css";
const DOCS_JS: &str = "/docs/swagger-ui-bundle.js";
const DOCS_INIT: &str = "/docs/swagger-init.js";

/// Swagger UI as separate files: the page, its style sheet, its bundle and its start-up script.
#[derive(Debug)]
pub(crate) struct SwaggerFiles {
    pub page: String,
    pub css: String,
    pub bundle: String,
    pub init: String,
}

/// The text between `open` and the next `close` after it.
fn between<'a>(html: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = html.find(open)? + open.len();
    let len = html[start..].find(close)?;
    Some(&html[start..start + len])
}

/// Takes poem-openapi's one-page Swagger UI (style and bundle inline) apart. The start-up
/// script is ours: it loads the document from `document_url` instead of inlining it.
pub(crate) fn swagger_files(inline_page: &str, document_url: &str) -> SwaggerFiles {
    let css = between(inline_page, "<style charset=\"UTF-8\">", "</style>").unwrap_or_default();
    let bundle =
        between(inline_page, "<script charset=\"UTF-8\">", "</script>").unwrap_or_default();
    let init = format!(
        "SwaggerUIBundle({{ dom_id: '#ui', url: '{document_url}', filter: false, deepLinking: true }});\n"
    );
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Accounts API</title>\n<link rel=\"stylesheet\" href=\"{DOCS_CSS}\">\n\
         <script src=\"{DOCS_JS}\"></script>\n</head>\n<body>\n<div id=\"ui\"></div>\n\
         <script src=\"{DOCS_INIT}\"></script>\n</body>\n</html>\n"
    );
    SwaggerFiles { page, css: css.to_owned(), bundle: bundle.to_owned(), init }
}

/// Which of [`SwaggerFiles`] a path serves.
pub(crate) type SwaggerFile = fn(&SwaggerFiles) -> &str;

/// The paths of Swagger UI's files, their content types and which file each serves, for the
/// route table.
pub(crate) const SWAGGER_ROUTES: [(&str, &str, SwaggerFile); 4] = [
    (DOCS, "text/html; charset=utf-8", |files| &files.page),
    (DOCS_CSS, "text/css; charset=utf-8", |files| &files.css),
    (DOCS_JS, "text/javascript; charset=utf-8", |files| &files.bundle),
    (DOCS_INIT, "text/javascript; charset=utf-8", |files| &files.init),
];

/// The security headers' configuration, kept as ready header values.
#[derive(Debug, Clone, Default)]
pub(crate) struct SecurityHeaders {
    /// `Strict-Transport-Security`, when configured.
    pub hsts: Option<HeaderValue>,
}

impl SecurityHeaders {
    pub(crate) fn new(hsts_max_age: Option<std::time::Duration>) -> Self {
        let hsts = hsts_max_age
            .filter(|age| !age.is_zero())
            .and_then(|age| HeaderValue::from_str(&format!("max-age={}", age.as_secs())).ok());
        Self { hsts }
    }

    /// Sets the headers of an answer to `path`.
    pub(crate) fn apply(
        &self,
        path: &str,
        allow: impl FnOnce() -> Vec<&'static str>,
        resp: &mut Response,
    ) {
        let status = resp.status();
        let headers = resp.headers_mut();
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        // A policy or cache rule the endpoint chose stands (the web console sets its own for
        // its pages and files); the API's answers and the docs get theirs here.
        let docs = path == DOCS || path.starts_with("/docs/");
        let csp = if docs && status.is_success() { DOCS_CSP } else { API_CSP };
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
        }
        if !docs && !is_document(path) && !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if let Some(hsts) = &self.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
        }
        if status == StatusCode::METHOD_NOT_ALLOWED {
            set_allow(headers, &allow());
        }
    }
}

fn is_document(path: &str) -> bool {
    path == format!("{}/openapi.json", crate::server::BASE_PATH)
}

fn set_allow(headers: &mut HeaderMap, methods: &[&str]) {
    if let Ok(v) = HeaderValue::from_str(&methods.join(", ")) {
        headers.insert(header::ALLOW, v);
    }
}

/// Path templates (`/api/v1/team/members/{member_id}`) and their methods.
#[derive(Debug, Default)]
pub(crate) struct AllowTable(Vec<(Vec<String>, Vec<&'static str>)>);

impl AllowTable {
    /// Every route: the API's, from the OpenAPI document, and the fixed ones.
    pub(crate) fn new(spec: &str, base: &str, fixed: &[&str]) -> Self {
        let mut table = Vec::new();
        let doc: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        if let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) {
            for (path, ops) in paths {
                let mut methods: Vec<&'static str> = ops
                    .as_object()
                    .into_iter()
                    .flat_map(|o| o.keys())
                    .filter_map(|m| method_name(m))
                    .collect();
                methods.sort_unstable();
                table.push((segments(&format!("{base}{path}")), methods));
            }
        }
        for path in fixed {
            table.push((segments(path), vec!["GET", "HEAD"]));
        }
        Self(table)
    }

    /// The methods `path` accepts (empty when no route matches).
    pub(crate) fn methods(&self, path: &str) -> Vec<&'static str> {
        let wanted = segments(path);
        let mut best: Option<(usize, &Vec<&'static str>)> = None;
        for (template, methods) in &self.0 {
            if template.len() != wanted.len()
                || !template.iter().zip(&wanted).all(|(t, w)| t.starts_with('{') || t == w)
            {
                continue;
            }
            // A literal segment beats a parameter (`/auth/sessions/revoke-others`).
            let literal = template.iter().filter(|t| !t.starts_with('{')).count();
            if best.is_none_or(|(n, _)| literal > n) {
                best = Some((literal, methods));
            }
        }
        best.map(|(_, m)| m.clone()).unwrap_or_default()
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/').split('/').map(str::to_owned).collect()
}

fn method_name(m: &str) -> Option<&'static str> {
    Some(match m {
        "get" => "GET",
        "post" => "POST",
        "put" => "PUT",
        "patch" => "PATCH",
        "delete" => "DELETE",
        "head" => "HEAD",
        "options" => "OPTIONS",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swagger_ui_is_taken_apart_into_files_without_inline_code() {
        let inline = "<html><head><style charset=\"UTF-8\">.a{}</style>\
                      <script charset=\"UTF-8\">var SwaggerUIBundle=1;</script></head>\
                      <body><script>let spec = {};</script></body></html>";
        let files = swagger_files(inline, "/api/v1/openapi.json");
        assert_eq!(files.css, ".a{}");
        assert_eq!(files.bundle, "var SwaggerUIBundle=1;");
        assert!(files.init.contains("url: '/api/v1/openapi.json'"));
        assert!(!files.page.contains("<style"));
        assert!(!files.page.contains("<script>"), "every script has a src");
    }

    #[test]
    fn allow_lists_the_methods_of_the_matching_route() {
        let spec = r#"{"paths": {
            "/auth/sessions/{session_id}": {"delete": {}},
            "/auth/sessions/revoke-others": {"post": {}},
            "/me/profile": {"get": {}, "put": {}}
        }}"#;
        let table = AllowTable::new(spec, "/api/v1", &["/healthz"]);
        assert_eq!(table.methods("/api/v1/me/profile"), ["GET", "PUT"]);
        assert_eq!(table.methods("/api/v1/auth/sessions/revoke-others"), ["POST"]);
        assert_eq!(table.methods("/api/v1/auth/sessions/0193"), ["DELETE"]);
        assert_eq!(table.methods("/healthz"), ["GET", "HEAD"]);
        assert!(table.methods("/nowhere").is_empty());
    }
}
