//! What every page shares: the header and navigation (what the viewer may open, and nothing
//! else), the impersonation banner with Exit, the notice after a redirect, the CSRF token
//! for the page's forms; and rendering a template into a response.

use askama::Template;
use poem::web::{CsrfToken, Redirect};
use poem::{IntoResponse, Request, Response};

use crate::app::Web;
use crate::session::Viewer;

/// The sections of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Profile,
    Usage,
    Team,
    Organisation,
    Audit,
    /// Pages of no section (errors).
    Other,
}

/// One link of the navigation.
#[derive(Debug, Clone)]
pub(crate) struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The impersonation banner.
#[derive(Debug, Clone)]
pub(crate) struct Banner {
    /// Whom the admin views the console as.
    pub name: String,
    pub email: String,
    /// The admin.
    pub admin: String,
    /// When it ends, in the admin's zone.
    pub until: String,
}

/// The page frame.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub product: String,
    pub title: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    /// The viewer's name, for the header (`None` before log-in).
    pub who: Option<String>,
    pub banner: Option<Banner>,
    pub notice: Option<&'static str>,
}

/// The CSRF token for the page's forms.
pub(crate) fn csrf(req: &Request) -> String {
    req.data::<CsrfToken>().map(|t| t.0.clone()).unwrap_or_default()
}

fn notice(req: &Request) -> Option<&'static str> {
    let query = req.uri().query()?;
    query.split('&').find_map(|pair| pair.strip_prefix("notice=")).and_then(crate::text::notice)
}

impl Chrome {
    /// The frame of a page for a logged-in viewer.
    pub(crate) fn new(
        web: &Web,
        req: &Request,
        viewer: &Viewer,
        section: Section,
        title: &str,
    ) -> Self {
        Self::of(web, csrf(req), notice(req), viewer, section, title)
    }

    /// The frame of a page for a logged-in viewer, with the page's CSRF token and notice.
    pub(crate) fn of(
        web: &Web,
        csrf: String,
        notice: Option<&'static str>,
        viewer: &Viewer,
        section: Section,
        title: &str,
    ) -> Self {
        let mut nav = vec![
            NavItem { href: "/profile", label: "Profile", current: section == Section::Profile },
            NavItem { href: "/usage", label: "Usage report", current: section == Section::Usage },
        ];
        if viewer.is_admin() {
            nav.extend([
                NavItem { href: "/team", label: "Manage users", current: section == Section::Team },
                NavItem {
                    href: "/organisation",
                    label: "Account settings",
                    current: section == Section::Organisation,
                },
                NavItem { href: "/audit", label: "Audit log", current: section == Section::Audit },
            ]);
        }
        let banner = viewer.impersonator.as_ref().and_then(|admin| {
            let (_, until) = viewer.auth.impersonation()?;
            Some(Banner {
                name: viewer.me.member.profile.display_name(),
                email: viewer.me.member.email.as_str().to_owned(),
                admin: admin.me.member.profile.display_name(),
                until: crate::text::local(until, admin.me.member.preferences.timezone),
            })
        });
        Self {
            product: web.product().to_owned(),
            title: title.to_owned(),
            csrf,
            nav,
            who: Some(viewer.me.member.profile.display_name()),
            banner,
            notice,
        }
    }

    /// The frame of a page before log-in (log-in, invitation).
    pub(crate) fn public(web: &Web, req: &Request, title: &str) -> Self {
        Self {
            product: web.product().to_owned(),
            title: title.to_owned(),
            csrf: csrf(req),
            nav: Vec::new(),
            who: None,
            banner: None,
            notice: notice(req),
        }
    }

    /// The frame of an error page.
    pub(crate) fn bare(product: &str, title: &str) -> Self {
        Self {
            product: product.to_owned(),
            title: title.to_owned(),
            csrf: String::new(),
            nav: Vec::new(),
            who: None,
            banner: None,
            notice: None,
        }
    }
}

/// A rendered page (200).
pub(crate) fn html<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(body) => Response::builder().content_type("text/html; charset=utf-8").body(body),
        Err(e) => {
            tracing::error!(error = %e, "web console: a template failed to render");
            Response::builder()
                .status(poem::http::StatusCode::INTERNAL_SERVER_ERROR)
                .content_type("text/plain; charset=utf-8")
                .body("Something went wrong on our side.")
        }
    }
}

/// A rendered page with another status (a form with errors: 422).
pub(crate) fn html_status<T: Template>(page: &T, status: poem::http::StatusCode) -> Response {
    let mut resp = html(page);
    if resp.status().is_success() {
        resp.set_status(status);
    }
    resp
}

/// After a successful form: 303 to `to`.
pub(crate) fn see_other(to: impl Into<String>) -> Response {
    Redirect::see_other(to.into()).into_response()
}
