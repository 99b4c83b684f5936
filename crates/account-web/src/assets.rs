//! The console's one stylesheet and one small script, compiled into the binary and served
//! from our own paths (CSP `default-src 'self'`).

use poem::{Response, handler};

const CSS: &str = include_str!("../static/console.css");
const JS: &str = include_str!("../static/console.js");

fn asset(body: &'static str, content_type: &str) -> Response {
    Response::builder()
        .content_type(content_type)
        .header("cache-control", "public, max-age=300")
        .body(body)
}

/// `GET /static/console.css`.
#[handler]
pub(crate) fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

/// `GET /static/console.js`: confirm dialogs and copy buttons; every flow works without it.
#[handler]
pub(crate) fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}
