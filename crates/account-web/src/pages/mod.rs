//! One module per page (kanidm's `views/` shape): each has its handlers and its templates'
//! structs. Handlers call `account-core`'s services in process, as the API's do.

pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod contacts;
pub(crate) mod deletion;
pub(crate) mod email;
pub(crate) mod export;
pub(crate) mod home;
pub(crate) mod impersonation;
pub(crate) mod invitation;
pub(crate) mod login;
pub(crate) mod member;
pub(crate) mod offerings;
pub(crate) mod organisation;
pub(crate) mod password;
pub(crate) mod password_reset;
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

/// A fresh key for a form that creates or moves value (Add users, Manage credit): sent back
/// in its hidden `form_key` field, it makes the use case's idempotency key, so that a form
/// sent twice (a double click, a reload of the answer) is applied once.
pub(crate) fn form_key(web: &crate::app::Web) -> String {
    let mut bytes = [0u8; 16];
    web.accounts.fill_random(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The idempotency key of a submitted form (`form_key`, with `part` when one form makes
/// several calls); none when the form has no key.
pub(crate) fn idempotency_key(
    form: &FormData,
    part: &str,
) -> Option<account_core::domain::idempotency::IdempotencyKey> {
    let key = form.opt("form_key")?;
    account_core::domain::idempotency::IdempotencyKey::parse(&format!("web:{key}:{part}")).ok()
}

/// An id from the path; a malformed one is a page that does not exist.
pub(crate) fn id<T: FromStr>(raw: &str) -> poem::Result<T> {
    raw.parse().map_err(|_| Failure::NotFound.into())
}
