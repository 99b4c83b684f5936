//! Who is looking: the session cookie (the API's own session token, made by the core's
//! log-in), the impersonation cookie beside it while an admin views the console as a sub-user,
//! and the extractors pages take: [`Viewer`] (logged in) and [`Admin`] (an admin in their own
//! session).

use std::sync::Arc;

use account_core::Actor;
use account_core::domain::member::Role;
use account_core::services::auth::{AuthError, Authenticated};
use account_core::services::profile::Me;
use poem::web::cookie::{Cookie, SameSite};
use poem::{FromRequest, Request, RequestBody};

use crate::app::Web;
use crate::errors::Failure;

/// The cookies' names: with `https`, the `__Host-` prefix (Secure, path `/`, no domain), so
/// that no other host or path can set them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CookieNames {
    pub session: &'static str,
    pub impersonation: &'static str,
    pub csrf: &'static str,
}

impl CookieNames {
    pub(crate) fn new(secure: bool) -> Self {
        if secure {
            Self {
                session: "__Host-accounts-session",
                impersonation: "__Host-accounts-impersonation",
                csrf: "__Host-accounts-csrf",
            }
        } else {
            Self {
                session: "accounts-session",
                impersonation: "accounts-impersonation",
                csrf: "accounts-csrf",
            }
        }
    }
}

/// Sets a session cookie (`HttpOnly`, `SameSite=Lax`, path `/`, `Secure` on https; no
/// expiry: the server ends the session, the browser forgets it when it closes).
pub(crate) fn set_cookie(web: &Web, req: &Request, name: &str, token: &str) {
    let mut cookie = Cookie::new_with_str(name, token);
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_path("/");
    cookie.set_secure(web.secure);
    req.cookie().add(cookie);
}

/// Tells the browser to forget a cookie.
pub(crate) fn clear_cookie(web: &Web, req: &Request, name: &str) {
    let mut cookie = Cookie::new_with_str(name, "");
    cookie.set_http_only(true);
    cookie.set_same_site(SameSite::Lax);
    cookie.set_path("/");
    cookie.set_secure(web.secure);
    cookie.make_removal();
    req.cookie().add(cookie);
}

fn cookie(req: &Request, name: &str) -> Option<String> {
    req.cookie().get(name).map(|c| c.value_str().to_owned()).filter(|v| !v.is_empty())
}

/// The admin behind an impersonation.
#[derive(Debug, Clone)]
pub(crate) struct Impersonator {
    /// The admin's own session.
    pub auth: Authenticated,
    /// The admin and their organisation.
    pub me: Me,
}

/// A logged-in person looking at a page.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    /// The session acted with: the impersonation session while one lasts.
    pub auth: Authenticated,
    /// The member acted as and their organisation.
    pub me: Me,
    /// Set while an admin views the console as a sub-user.
    pub impersonator: Option<Impersonator>,
}

impl Viewer {
    /// Who acts.
    pub(crate) fn actor(&self) -> Actor {
        self.auth.actor
    }

    /// The time zone pages show times in: the member acted as's preference.
    pub(crate) fn tz(&self) -> account_core::domain::timezone::Timezone {
        self.me.member.preferences.timezone
    }

    /// An admin in their own session (impersonating admins act as a sub-user).
    pub(crate) fn is_admin(&self) -> bool {
        self.me.member.role == Role::Admin && self.impersonator.is_none()
    }

    /// True while an admin views the console as a sub-user.
    pub(crate) fn impersonating(&self) -> bool {
        self.impersonator.is_some()
    }
}

fn auth_failure(e: AuthError) -> Option<Failure> {
    match e {
        AuthError::InvalidToken | AuthError::Expired => None,
        AuthError::Internal(i) => Some(i.into()),
    }
}

/// The session tokens a request carries in its cookies.
#[derive(Clone, Default)]
pub(crate) struct Tokens {
    session: Option<String>,
    impersonation: Option<String>,
}

/// Tokens are secrets: never in `Debug`.
impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(REDACTED)")
    }
}

/// The tokens of `req`'s cookies.
pub(crate) fn tokens(web: &Web, req: &Request) -> Tokens {
    Tokens {
        session: cookie(req, web.cookies.session),
        impersonation: cookie(req, web.cookies.impersonation),
    }
}

/// Who `tokens` stand for, and whether the impersonation cookie is left over from one that
/// ended (its hour is over, or it was stopped elsewhere).
pub(crate) async fn viewer_of(
    web: &Web,
    tokens: &Tokens,
) -> Result<(Option<Viewer>, bool), Failure> {
    let Some(token) = &tokens.session else { return Ok((None, false)) };
    let (auth, me) = match web.accounts.auth().authenticate_me(token).await {
        Ok(found) => found,
        Err(e) => return auth_failure(e).map_or(Ok((None, false)), Err),
    };
    if auth.impersonation().is_some() {
        // Only log-in sessions go in the session cookie.
        return Ok((None, false));
    }
    let mut ended = false;
    if let Some(token) = &tokens.impersonation {
        match web.accounts.auth().authenticate_me(token).await {
            Ok((imp, imp_me))
                if imp.impersonation().map(|(i, _)| i.admin_session_id)
                    == Some(auth.session.id) =>
            {
                let admin = Impersonator { auth, me };
                let viewer = Viewer { auth: imp, me: imp_me, impersonator: Some(admin) };
                return Ok((Some(viewer), false));
            }
            Ok(_) => ended = true,
            Err(e) => {
                if let Some(failure) = auth_failure(e) {
                    return Err(failure);
                }
                ended = true;
            }
        }
    }
    Ok((Some(Viewer { auth, me, impersonator: None }), ended))
}

/// The viewer of `req`, `None` when nobody is logged in (or the session ended). A left-over
/// impersonation cookie is cleared: the admin is back in their own session.
pub(crate) async fn viewer(web: &Arc<Web>, req: &Request) -> Result<Option<Viewer>, Failure> {
    let (viewer, ended) = viewer_of(web, &tokens(web, req)).await?;
    if ended {
        clear_cookie(web, req, web.cookies.impersonation);
    }
    Ok(viewer)
}

impl<'a> FromRequest<'a> for Viewer {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let web = Web::of(req)?;
        match viewer(web, req).await? {
            Some(v) => Ok(v),
            None => Err(Failure::LoginAgain.into()),
        }
    }
}

/// An admin of the organisation in their own session; anyone else gets the 403 page.
#[derive(Debug, Clone)]
pub(crate) struct Admin(pub Viewer);

impl<'a> FromRequest<'a> for Admin {
    async fn from_request(req: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let viewer = Viewer::from_request(req, body).await?;
        if viewer.is_admin() { Ok(Self(viewer)) } else { Err(Failure::NotAdmin.into()) }
    }
}

/// The client's name for the sessions list (its User-Agent).
pub(crate) fn client_name(req: &Request) -> Option<&str> {
    req.header("user-agent")
}

/// The client's address, which the core counts log-ins and token tries against: as the API's
/// middleware resolved it (behind a trusted proxy, the address it forwards), or on its own the
/// peer's.
pub(crate) fn client_address(req: &Request) -> Option<std::net::IpAddr> {
    req.extensions()
        .get::<std::net::IpAddr>()
        .copied()
        .or_else(|| req.remote_addr().as_socket_addr().map(std::net::SocketAddr::ip))
}
