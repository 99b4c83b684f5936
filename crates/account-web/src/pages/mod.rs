//! One module per page (kanidm's `views/` shape): each has its handlers and its templates'
//! structs. Handlers call `account-core`'s services in process, as the API's do.

pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod contacts;
pub(crate) mod deletion;
pub(crate) mod email;
pub(crate) mod home;
pub(crate) mod impersonation;
pub(crate) mod invitation;
pub(crate) mod login;
pub(crate) mod member;
pub(crate) mod offerings;
pub(crate) mod organisation;
pub(crate) mod password;
pub(crate) mod preferences;
pub(crate) mod profile;
pub(crate) mod sessions;
pub(crate) mod team;
pub(crate) mod usage;

use std::str::FromStr;

use crate::errors::Failure;
use crate::form::FormData;

/// `?` for the domain's errors in a handler: converts through [`Failure`].
pub(crate) trait OrFail<T> {
    fn or_fail(self) -> poem::Result<T>;
}

impl<T, E: Into<Failure>> OrFail<T> for Result<T, E> {
    fn or_fail(self) -> poem::Result<T> {
        self.map_err(|e| poem::Error::from(e.into()))
    }
}

/// The query string, read like a form.
pub(crate) fn query(req: &poem::Request) -> FormData {
    FormData::parse(req.uri().query().unwrap_or_default().as_bytes())
}

/// An id from the path; a malformed one is a page that does not exist.
pub(crate) fn id<T: FromStr>(raw: &str) -> poem::Result<T> {
    raw.parse().map_err(|_| Failure::NotFound.into())
}
