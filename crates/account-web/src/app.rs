//! The console's state, configuration and routes, and the layer every response passes:
//! security headers, and errors turned into HTML pages.

use std::sync::Arc;

use account_core::Accounts;
use poem::endpoint::BoxEndpoint;
use poem::http::{HeaderValue, header};
use poem::middleware::Csrf;
use poem::web::cookie::SameSite;
use poem::{Endpoint, EndpointExt, IntoResponse, PathPattern, Request, Response, Route, get, post};

use crate::csrf::CsrfCheck;
use crate::errors::{Failure, error_page};
use crate::pages;
use crate::session::CookieNames;

/// How the console is set up.
#[derive(Clone)]
pub struct WebConfig {
    /// The public base URL (`ACCOUNTS_PUBLIC_URL`): with `https://`, cookies are `Secure` and
    /// carry the `__Host-` prefix.
    pub public_url: String,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig").field("public_url", &self.public_url).finish_non_exhaustive()
    }
}

/// What every page handler shares.
pub(crate) struct Web {
    pub accounts: Accounts,
    pub cookies: CookieNames,
    pub secure: bool,
    csrf_key: [u8; 32],
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web").field("secure", &self.secure).finish_non_exhaustive()
    }
}

impl Web {
    /// The console's state, set on every request by [`WebConsole::endpoint`].
    pub(crate) fn of(req: &Request) -> Result<&Arc<Self>, Failure> {
        req.data::<Arc<Self>>().ok_or_else(|| Failure::internal("the console state is missing"))
    }

    /// The product's name, for titles.
    pub(crate) fn product(&self) -> &str {
        &self.accounts.settings().product_name
    }
}

/// The web console.
#[derive(Debug, Clone)]
pub struct WebConsole {
    web: Arc<Web>,
}

/// Keyring context of the CSRF key: every process with the same server key derives the same
/// key, so a form served by one process is accepted by another.
const CSRF_KEY_CONTEXT: &str = "web-console-csrf-key";

impl WebConsole {
    /// The console over `accounts`.
    #[must_use]
    pub fn new(accounts: Accounts, config: WebConfig) -> Self {
        let secure = config.public_url.starts_with("https://");
        let digest = accounts.digest(CSRF_KEY_CONTEXT, b"");
        let mut csrf_key = [0u8; 32];
        for (k, d) in csrf_key.iter_mut().zip(digest.as_bytes()) {
            *k = *d;
        }
        Self {
            web: Arc::new(Web { accounts, cookies: CookieNames::new(secure), secure, csrf_key }),
        }
    }

    /// Every page as one poem endpoint, to mount at `/`. Paths it does not know answer an HTML
    /// 404 page.
    #[must_use]
    pub fn endpoint(&self) -> BoxEndpoint<'static, Response> {
        let web = self.web.clone();
        let csrf = Csrf::new()
            .key(self.web.csrf_key)
            .cookie_name(self.web.cookies.csrf)
            .secure(self.web.secure)
            .http_only(true)
            .same_site(SameSite::Strict)
            .ttl(std::time::Duration::from_secs(12 * 60 * 60));
        let inner = web.clone();
        routes()
            .with(CsrfCheck)
            .around(move |ep, req| {
                let web = inner.clone();
                pages_for_errors(ep, req, web)
            })
            .with(csrf)
            .data(web.clone())
            .around(move |ep, req| {
                let web = web.clone();
                finish(ep, req, web)
            })
            .boxed()
    }
}

fn routes() -> Route {
    use pages::{
        api_keys, audit, contacts, deletion, email, export, home, impersonation, invitation, login,
        member, offerings, organisation, password, password_reset, preferences, profile, sessions,
        team, usage,
    };
    Route::new()
        .at("/", get(home::index))
        .at("/static/console.css", get(crate::assets::css))
        .at("/static/console.js", get(crate::assets::js))
        .at("/login", get(login::show).post(login::submit))
        .at("/logout", post(login::logout))
        .at("/accept-invitation", get(invitation::show).post(invitation::submit))
        .at("/forgot-password", get(password_reset::forgot).post(password_reset::ask))
        .at("/reset-password", get(password_reset::show).post(password_reset::submit))
        .at("/profile", get(profile::show).post(profile::save))
        .at("/profile/offerings", post(offerings::save))
        .at("/profile/preferences", post(preferences::save))
        .at("/profile/password", post(password::change))
        .at("/profile/api-keys", post(api_keys::create))
        .at("/profile/api-keys/:id/regenerate", post(api_keys::regenerate))
        .at("/profile/api-keys/:id/revoke", post(api_keys::revoke))
        .at("/profile/sessions/:id/revoke", post(sessions::revoke))
        .at("/profile/sessions/revoke-others", post(sessions::revoke_others))
        .at("/profile/email", get(email::show))
        .at("/profile/email/start", post(email::start))
        .at("/profile/email/current-code", post(email::current_code))
        .at("/profile/email/new-address", post(email::new_address))
        .at("/profile/email/new-code", post(email::new_code))
        .at("/profile/email/resend", post(email::resend))
        .at("/profile/email/cancel", post(email::cancel))
        .at("/profile/delete", get(deletion::show).post(deletion::submit))
        .at("/profile/export", get(export::my_data))
        .at("/usage", get(usage::show))
        .at("/usage.csv", get(usage::csv))
        .at("/team", get(team::show))
        .at("/team/ledger.csv", get(export::ledger))
        .at("/team/add", get(team::add_form).post(team::add))
        .at("/team/members/:id/profile", get(member::profile_form).post(member::save_profile))
        .at("/team/members/:id/credits", get(member::credits_form).post(member::save_credits))
        .at("/team/members/:id/minutes", get(member::minutes_form).post(member::save_minutes))
        .at("/team/members/:id/plan", post(member::save_plan))
        .at("/team/members/:id/disable", post(member::disable))
        .at("/team/members/:id/enable", post(member::enable))
        .at("/team/members/:id/invitation", post(member::resend_invitation))
        .at("/team/members/:id/password-reset", post(member::send_password_reset))
        .at(
            "/team/members/:id/impersonate",
            get(impersonation::reason_form).post(impersonation::start),
        )
        .at("/impersonation/exit", post(impersonation::exit))
        .at("/organisation", get(organisation::show).post(organisation::save))
        .at("/organisation/contacts", get(contacts::show))
        .at("/organisation/contacts/new", get(contacts::new_form).post(contacts::add))
        .at("/organisation/contacts/:id/verify", get(contacts::verify_form).post(contacts::verify))
        .at("/organisation/contacts/:id/resend", post(contacts::resend))
        .at(
            "/organisation/contacts/:id/roles",
            get(contacts::roles_form).post(contacts::save_roles),
        )
        .at("/organisation/contacts/:id/delete", get(contacts::delete_form).post(contacts::delete))
        .at("/audit", get(audit::show))
        .at("/audit.csv", get(export::audit))
}

/// Content-Security-Policy of every console response: only our own origin, no inline script
/// or style, no framing, forms post only to us.
pub(crate) const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; \
                              frame-ancestors 'none'; object-src 'none'";

/// Errors as pages with the viewer's frame, so that the 403 page of a sub-user (and any
/// error page under an impersonation) keeps the navigation and the banner with Exit. Inside
/// the CSRF middleware, whose token the banner's Exit form needs.
async fn pages_for_errors<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    web: Arc<Web>,
) -> poem::Result<Response> {
    let tokens = crate::session::tokens(&web, &req);
    let csrf = crate::layout::csrf(&req);
    match ep.call(req).await {
        Ok(resp) => Ok(resp.into_response()),
        Err(err) => {
            let pattern = err.data::<PathPattern>().cloned();
            let viewer = match crate::session::viewer_of(&web, &tokens).await {
                Ok((viewer, _)) => viewer,
                Err(_) => None,
            };
            let mut resp = error_page(&web, err, viewer.as_ref().map(|v| (v, csrf)));
            if let Some(p) = pattern {
                resp.set_data(p);
            }
            Ok(resp)
        }
    }
}

/// Around every request: the route pattern of the console (not of its mount point) for the
/// access log, errors as HTML pages, and the security headers.
async fn finish<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    web: Arc<Web>,
) -> poem::Result<Response> {
    // A server that mounts the console under a catch-all route set its own pattern; the
    // console's router sets the page's pattern when it finds none.
    req.extensions_mut().remove::<PathPattern>();
    let mut resp = match ep.call(req).await {
        Ok(resp) => resp.into_response(),
        Err(err) => {
            let pattern = err.data::<PathPattern>().cloned();
            let mut resp = error_page(&web, err, None);
            if let Some(p) = pattern {
                resp.set_data(p);
            }
            resp
        }
    };
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Invitation and reset links carry their token in the query: never send it on as a
    // referrer.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages hold personal data and secrets shown once: never stored by a cache.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(resp)
}
