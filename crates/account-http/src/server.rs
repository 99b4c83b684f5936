//! `HttpServer`: the routes (API under `/api/v1`, its document, Swagger UI), the middleware,
//! and serving with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use account_core::Accounts;
use poem::endpoint::{BoxEndpoint, make_sync};
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::web::Html;
use poem::{EndpointExt, Response, Route, get};
use poem_openapi::OpenApiService;

use crate::config::HttpConfig;
use crate::middleware::{self, Routes};
use crate::state::AppState;

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

/// The document, rendered once per process: it depends on the code only.
fn spec() -> &'static str {
    static SPEC: OnceLock<String> = OnceLock::new();
    SPEC.get_or_init(|| service().spec())
}

/// Swagger UI's page, with the document inlined, rendered once per process.
fn swagger_html() -> &'static str {
    static HTML: OnceLock<String> = OnceLock::new();
    HTML.get_or_init(|| service().swagger_ui_html())
}

/// Operation id → method and path, for the access log.
fn routes() -> &'static Routes {
    static ROUTES: OnceLock<Routes> = OnceLock::new();
    ROUTES.get_or_init(|| routes_of(spec()))
}

fn routes_of(spec: &str) -> Routes {
    let mut routes = Routes::new();
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(spec) else { return routes };
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

/// Pages served beside the API (the web console), for every path the API does not have.
#[derive(Clone)]
struct Pages(Arc<BoxEndpoint<'static, Response>>);

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pages")
    }
}

/// The API's own paths go to the API; every other path to the pages. (A catch-all route
/// beside the API would hand the pages a path parameter of its own.)
struct WithPages {
    api: BoxEndpoint<'static, Response>,
    pages: Arc<BoxEndpoint<'static, Response>>,
}

fn is_api_path(path: &str) -> bool {
    matches!(path, "/docs" | "/healthz" | "/readyz" | BASE_PATH)
        || path.strip_prefix(BASE_PATH).is_some_and(|rest| rest.starts_with('/'))
}

impl poem::Endpoint for WithPages {
    type Output = Response;

    async fn call(&self, req: poem::Request) -> poem::Result<Response> {
        if is_api_path(req.uri().path()) {
            self.api.call(req).await
        } else {
            self.pages.call(req).await
        }
    }
}

/// The HTTP API over the domain.
#[derive(Debug, Clone)]
pub struct HttpServer {
    state: Arc<AppState>,
    grace: std::time::Duration,
    pages: Option<Pages>,
}

impl HttpServer {
    /// Builds the API over `accounts`. The operator token, if any, is kept only as a keyed
    /// digest (made with the domain's keyring).
    #[must_use]
    pub fn new(accounts: Accounts, config: HttpConfig) -> Self {
        let routes = routes().clone();
        let grace = config.shutdown_grace;
        Self { state: Arc::new(AppState::new(accounts, &config, routes)), grace, pages: None }
    }

    /// Serves `pages` (the web console) at `/` and every path the API does not have, inside
    /// the same middleware (request id, body limit, access log).
    #[must_use]
    pub fn with_pages(mut self, pages: BoxEndpoint<'static, Response>) -> Self {
        self.pages = Some(Pages(Arc::new(pages)));
        self
    }

    /// The API's log-in throttle, for the pages' log-in to count against.
    #[must_use]
    pub fn login_throttle(&self) -> crate::LoginThrottle {
        crate::LoginThrottle::new(self.state.clone())
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
        let ui = make_sync(|_| Html(swagger_html()));
        // Probes for process managers and load balancers, outside the versioned API:
        // `/healthz` says the process answers, `/readyz` that its database does too.
        let alive = make_sync(|_| {
            Response::builder().content_type("application/json").body(r#"{"status":"alive"}"#)
        });
        let probed = self.state.clone();
        let ready = poem::endpoint::make(move |_| {
            let state = probed.clone();
            async move {
                match state.accounts.ports().store.ping().await {
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
        let api = Route::new()
            .at(format!("{BASE_PATH}/openapi.json"), get(document))
            .nest(BASE_PATH, service())
            .at("/docs", get(ui))
            .at("/healthz", get(alive))
            .at("/readyz", get(ready))
            .boxed();
        let app = match &self.pages {
            Some(Pages(pages)) => WithPages { api, pages: pages.clone() }.boxed(),
            None => api,
        };
        app.data(state)
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
        let acceptor = TcpListener::bind(addr).into_acceptor().await?;
        Ok(BoundServer { server: self.clone(), acceptor })
    }
}

/// A server bound to its address, ready to run.
pub struct BoundServer {
    server: HttpServer,
    acceptor: TcpAcceptor,
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
        self.acceptor.local_addr().first().and_then(|a| a.as_socket_addr().copied())
    }

    /// Serves until `shutdown` completes, then lets requests in progress finish (up to the
    /// configured grace period).
    ///
    /// # Errors
    /// When the listener fails.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = self.server.grace;
        poem::Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(self.server.endpoint(), shutdown, Some(grace))
            .await
    }
}
