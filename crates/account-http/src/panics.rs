//! Panics in requests: the request gets the opaque 500 problem with its request id instead of
//! a closed connection, and the log gets where it happened and the request id, never the
//! panic's message (a message may quote what the client sent: a token, a password).

use std::any::Any;
use std::sync::Once;

use poem::{IntoResponse, Response};

use crate::middleware::current_request_id;
use crate::problem::{Problem, ProblemJson};

/// `CatchPanic`'s handler: the payload (the message) is dropped unread.
pub(crate) fn into_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!(
        request_id = current_request_id().as_deref().unwrap_or("-"),
        "the request's handler panicked; answered 500"
    );
    ProblemJson(Problem::internal()).into_response()
}

/// Installs (once per process) a panic hook that, for a panic while a request is being
/// served, logs its location and the request id through `tracing` and leaves the message
/// out. Panics outside requests go to the hook that was installed before (Rust's default
/// prints the message), so test failures and start-up bugs stay readable.
///
/// `accounts serve` installs it at start; an application embedding [`crate::HttpServer`]
/// should too, since a panic hook is the process's, not the server's.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| match current_request_id() {
            Some(request_id) => {
                let location = info
                    .location()
                    .map_or_else(|| "unknown".to_owned(), |l| format!("{}:{}", l.file(), l.line()));
                let thread = std::thread::current();
                tracing::error!(
                    %request_id,
                    %location,
                    thread = thread.name().unwrap_or("unnamed"),
                    "panic while serving a request (its message is not logged: it may quote the request)"
                );
            }
            None => previous(info),
        }));
    });
}
