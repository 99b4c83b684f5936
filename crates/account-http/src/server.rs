//! `HttpServer`: the routes (API under `/api/v1`, its document, Swagger UI), the middleware,
//! and serving with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use account_core::Accounts;
use poem::endpoint::{BoxEndpoint, make_sync};
use poem::middleware::CatchPanic;
use poem::{EndpointExt, Response, Route, get};
use poem_openapi::OpenApiService;

use crate::config::HttpConfig;
use crate::headers::{self, AllowTable, SwaggerFiles};
use crate::metrics::{HttpMetrics, Metrics};
use crate::middleware::{self, Routes};
use crate::serve::Deadlines;
use crate::state::{AppState, METRICS_CONTEXT};

/// The API's base path.
pub const BASE_PATH: &str = "/api/v1";

/// Every operation, one implementation per tag.
type Apis = (
    crate::api::auth::AuthApi,
    crate::api::me::MeApi,
    crate::api::team::TeamApi,
    crate::api::impersonation::ImpersonationApi,
    crate::api::organisation::OrganisationApi,
    crate::api::integrations::IntegrationsApi,
    crate::api::operator::OperatorApi,
    crate::api::system::SystemApi,
);

fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(crate::api::all(), "Accounts API", env!("CARGO_PKG_VERSION"))
        .description(include_str!("api_description.md"))
        .server(BASE_PATH)
    // Headers on every response (X-Request-Id; Accounts-Impersonation under an
    // impersonation) are described in the document's description: poem-openapi's
    // extra response headers can only be declared as required.
}

/// The OpenAPI document, as committed in `docs/openapi.json`.
#[must_use]
pub fn openapi_json() -> String {
    spec().to_owned()
}

/// The document as served and committed, rendered and refined once per process: it depends
/// on the code only.
fn spec() -> &'static str {
    static SPEC: OnceLock<String> = OnceLock::new();
    SPEC.get_or_init(|| crate::document::refine(&service().spec()))
}

/// The whole document as a value (the tests read its operations).
#[cfg(test)]
pub(crate) fn document() -> &'static serde_json::Value {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(spec()).unwrap_or_default())
}

/// What the server keeps of the document, read from one parse of it: the route table, and
/// what the request checks read (see [`checked_document`]). The whole document as a value
/// holds about 2.8 MB of heap, three quarters of it the operations, which nothing reads once
/// the route table is made.
struct DocumentParts {
    routes: Routes,
    checked: serde_json::Value,
}

fn document_parts() -> &'static DocumentParts {
    static PARTS: OnceLock<DocumentParts> = OnceLock::new();
    PARTS.get_or_init(|| {
        let doc = serde_json::from_str(spec()).unwrap_or_default();
        DocumentParts { routes: routes_of(&doc), checked: checked_part(doc) }
    })
}

/// What the request checks read of the document, kept for the process's life: its schemas
/// (`components.schemas`) and its path templates (`paths`, each `null`).
pub(crate) fn checked_document() -> &'static serde_json::Value {
    &document_parts().checked
}

fn checked_part(mut doc: serde_json::Value) -> serde_json::Value {
    let schemas = doc["components"]["schemas"].take();
    let paths: serde_json::Map<String, serde_json::Value> = doc["paths"]
        .as_object()
        .map(|paths| paths.keys().map(|p| (p.clone(), serde_json::Value::Null)).collect())
        .unwrap_or_default();
    serde_json::json!({ "components": { "schemas": schemas }, "paths": paths })
}

/// Swagger UI as separate files (so that its CSP needs no inline code), made on the first
/// request for one of them and kept: about 1.5 MB, and a transient 7 MB to take poem-openapi's
/// one-page version apart, which a server whose docs nobody reads never spends.
fn swagger_files() -> &'static SwaggerFiles {
    static FILES: OnceLock<SwaggerFiles> = OnceLock::new();
    FILES.get_or_init(|| {
        headers::swagger_files(&service().swagger_ui_html(), &format!("{BASE_PATH}/openapi.json"))
    })
}

/// The methods of every route, for `Allow` on 405 answers.
pub(crate) fn allow_table() -> &'static AllowTable {
    static TABLE: OnceLock<AllowTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let document = format!("{BASE_PATH}/openapi.json");
        let mut fixed = vec![document.as_str(), "/healthz", "/readyz", "/metrics"];
        fixed.extend(headers::SWAGGER_ROUTES.map(|(path, _, _)| path));
        AllowTable::new(spec(), BASE_PATH, &fixed)
    })
}

/// Operation id → method and path, for the access log.
fn routes() -> &'static Routes {
    &document_parts().routes
}

fn routes_of(doc: &serde_json::Value) -> Routes {
    let mut routes = Routes::new();
    let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else { return routes };
    for (path, ops) in paths {
        let Some(ops) = ops.as_object() else { continue };
        for (method, op) in ops {
            if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                routes.insert(id.to_owned(), (method.to_uppercase(), format!("{BASE_PATH}{path}")));
            }
        }
    }
    routes
}

/// Whether the request carries the configured metrics token.
fn metrics_token_holds(state: &AppState, req: &poem::Request) -> bool {
    let Some(digest) = &state.metrics_token else { return false };
    let Some(token) =
        req.header("authorization").and_then(|v| v.strip_prefix("Bearer ")).map(str::trim)
    else {
        return false;
    };
    state.accounts.verify_digest(METRICS_CONTEXT, token.as_bytes(), digest)
}

/// The metrics exposition, with the outbox backlog read now.
async fn scrape(state: &AppState) -> Response {
    let backlog = match state.accounts.mail().pending(crate::metrics::BACKLOG_CAP).await {
        Ok(pending) => Some(pending.len()),
        Err(error) => {
            tracing::warn!(%error, "metrics: the outbox backlog could not be read");
            None
        }
    };
    Response::builder()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(state.metrics.render(backlog))
}

/// Pages served beside the API (the web console), for every path the API does not have.
#[derive(Clone)]
struct Pages(Arc<BoxEndpoint<'static, Response>>);

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

/// The API's own paths go to the API; with pages, every other path to the pages. (A
/// catch-all route beside the API would hand the pages a path parameter of its own.) The
/// route table is held as it is, not boxed: the one box around the whole application is
/// enough, and each box moves the future it calls to the heap on every request.
struct WithPages {
    api: Route,
    pages: Option<Arc<BoxEndpoint<'static, Response>>>,
}

fn is_api_path(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics" | BASE_PATH)
        || headers::SWAGGER_ROUTES.iter().any(|(route, _, _)| *route == path)
        || path.strip_prefix(BASE_PATH).is_some_and(|rest| rest.starts_with('/'))
}

impl poem::Endpoint for WithPages {
    type Output = Response;

    async fn call(&self, req: poem::Request) -> poem::Result<Response> {
        match &self.pages {
            Some(pages) if !is_api_path(req.uri().path()) => pages.call(req).await,
            _ => self.api.call(req).await,
        }
    }
}

/// The HTTP API over the domain.
///
/// ```
/// use account_http::{HttpConfig, HttpServer};
/// use account_memory::InMemory;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let server = HttpServer::new(InMemory::new(1).accounts, HttpConfig::default());
/// // Port 0 picks a free port; `run` serves until the future it is given completes.
/// let bound = server.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
/// assert!(bound.local_addr().is_some());
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let serving = tokio::spawn(bound.run(async move {
///     let _ = stopped.await;
/// }));
/// stop.send(()).unwrap();
/// serving.await.unwrap().unwrap();
/// assert!(server.spec_json().contains("\"openapi\""));
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct HttpServer {
    state: Arc<AppState>,
    grace: std::time::Duration,
    deadlines: Deadlines,
    pages: Option<Pages>,
}

impl HttpServer {
    /// Builds the API over `accounts`. The operator token, if any, is kept only as a keyed
    /// digest (made with the domain's keyring).
    #[must_use]
    pub fn new(accounts: Accounts, config: HttpConfig) -> Self {
        Self::with_metrics(accounts, config, Metrics::new())
    }

    /// Builds the API over `accounts`, serving `metrics` (with the embedder's own metrics
    /// registered in it) and the HTTP layer's at `/metrics`.
    #[must_use]
    pub fn with_metrics(accounts: Accounts, config: HttpConfig, metrics: Metrics) -> Self {
        let routes = routes().clone();
        let grace = config.shutdown_grace;
        let deadlines = Deadlines { header: config.header_timeout, idle: config.idle_timeout };
        let metrics = HttpMetrics::new(metrics);
        let state = Arc::new(AppState::new(accounts, &config, routes, metrics));
        Self { state, grace, deadlines, pages: None }
    }

    /// `/metrics` alone, without credentials: for a listener on an address only the
    /// operator's scraper reaches (`ACCOUNTS_METRICS_LISTEN` in the `accounts` binary).
    #[must_use]
    pub fn metrics_endpoint(&self) -> BoxEndpoint<'static, Response> {
        let state = self.state.clone();
        Route::new()
            .at(
                "/metrics",
                get(poem::endpoint::make(move |_| {
                    let state = state.clone();
                    async move { scrape(&state).await }
                })),
            )
            .boxed()
    }

    /// Serves `pages` (the web console) at `/` and every path the API does not have, inside
    /// the same middleware (request id, body limit, access log).
    #[must_use]
    pub fn with_pages(mut self, pages: BoxEndpoint<'static, Response>) -> Self {
        self.pages = Some(Pages(Arc::new(pages)));
        self
    }

    /// The OpenAPI document.
    #[must_use]
    pub fn spec_json(&self) -> String {
        openapi_json()
    }

    /// The whole application as a poem endpoint: `/api/v1/…`, `/api/v1/openapi.json`,
    /// Swagger UI at `/docs`, and the probes `/healthz` (alive) and `/readyz` (database
    /// reachable).
    #[must_use]
    pub fn endpoint(&self) -> BoxEndpoint<'static, Response> {
        let state = self.state.clone();
        let observed = self.state.clone();
        let document =
            make_sync(|_| Response::builder().content_type("application/json").body(spec()));

        // Probes for process managers and load balancers, outside the versioned API:
        // `/healthz` says the process answers, `/readyz` that its database does too.
        let alive = make_sync(|_| {
            Response::builder().content_type("application/json").body(r#"{"status":"alive"}"#)
        });
        let probed = self.state.clone();
        let ready = poem::endpoint::make(move |_| {
            let state = probed.clone();
            async move {
                match state.accounts.ping().await {
                    Ok(()) => Response::builder()
                        .content_type("application/json")
                        .body(r#"{"status":"ready"}"#),
                    Err(error) => {
                        tracing::warn!(%error, "readiness probe: the database does not answer");
                        poem::IntoResponse::into_response(crate::problem::ProblemJson(
                            crate::problem::Problem::unavailable(),
                        ))
                    }
                }
            }
        });
        let scraped = self.state.clone();
        let metrics = poem::endpoint::make(move |req: poem::Request| {
            let state = scraped.clone();
            async move {
                if metrics_token_holds(&state, &req) {
                    scrape(&state).await
                } else {
                    poem::IntoResponse::into_response(crate::problem::ProblemJson(
                        crate::problem::Problem::new(
                            crate::problem::ProblemType::Unauthenticated,
                            "send the metrics token (Authorization: Bearer <token>), or scrape \
                             the metrics address",
                        ),
                    ))
                }
            }
        });
        let mut route = Route::new()
            .at(format!("{BASE_PATH}/openapi.json"), get(document))
            .at("/metrics", get(metrics))
            .nest(BASE_PATH, service());
        for (path, content_type, file) in headers::SWAGGER_ROUTES {
            route = route.at(
                path,
                get(make_sync(move |_| {
                    Response::builder().content_type(content_type).body(file(swagger_files()))
                })),
            );
        }
        let api = route.at("/healthz", get(alive)).at("/readyz", get(ready));
        let app = WithPages { api, pages: self.pages.as_ref().map(|Pages(pages)| pages.clone()) };
        app.data(state)
            // Inside `observe`, so that a panic's 500 gets the request id and an access line.
            .with(CatchPanic::new().with_handler(crate::panics::into_response))
            .around(move |ep, req| middleware::observe(ep, req, observed.clone()))
            .boxed()
    }

    /// Serves on `addr` until `shutdown` completes (see [`BoundServer::run`]).
    ///
    /// # Errors
    /// When the address cannot be bound or the listener fails.
    pub async fn run(
        &self,
        addr: SocketAddr,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        self.bind(addr).await?.run(shutdown).await
    }

    /// Binds `addr` (port 0 picks a free port; see [`BoundServer::local_addr`]).
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind(&self, addr: SocketAddr) -> std::io::Result<BoundServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Ok(BoundServer { server: self.clone(), listener, metrics_only: false })
    }

    /// Binds `addr` for [`HttpServer::metrics_endpoint`] alone: `/metrics` without
    /// credentials, for an address only the operator's scraper reaches.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn bind_metrics(&self, addr: SocketAddr) -> std::io::Result<BoundServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Ok(BoundServer { server: self.clone(), listener, metrics_only: true })
    }
}

/// A server bound to its address, ready to run.
pub struct BoundServer {
    server: HttpServer,
    listener: tokio::net::TcpListener,
    metrics_only: bool,
}

impl std::fmt::Debug for BoundServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundServer")
            .field("local_addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}

impl BoundServer {
    /// The address it listens on.
    #[must_use]
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `shutdown` completes, then lets requests in progress finish (up to the
    /// configured grace period). Connections are held to the configured header and idle
    /// timeouts (see `serve.rs`).
    ///
    /// # Errors
    /// When the listener fails.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (grace, deadlines) = (self.server.grace, self.server.deadlines);
        let endpoint =
            if self.metrics_only { self.server.metrics_endpoint() } else { self.server.endpoint() };
        crate::serve::serve(self.listener, endpoint, deadlines, shutdown, grace).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request checks see every schema as the document has it, and every path template.
    #[test]
    fn the_checked_part_keeps_the_schemas_and_the_path_templates() {
        let (whole, checked) = (document(), checked_document());
        let schemas = &whole["components"]["schemas"];
        assert!(schemas.as_object().is_some_and(|s| s.len() > 20));
        assert_eq!(&checked["components"]["schemas"], schemas);
        let paths = |doc: &serde_json::Value| {
            doc["paths"].as_object().map(|p| p.keys().cloned().collect::<Vec<_>>())
        };
        assert_eq!(paths(checked), paths(whole));
        assert!(checked["paths"].as_object().unwrap().values().all(serde_json::Value::is_null));
        assert!(
            serde_json::to_string(checked).unwrap().len() * 3 < spec().len(),
            "the operations are left out"
        );
    }
}
