//! Downloads: the viewer's own data (the JSON document of `GET /api/v1/me/export`), offered
//! on the profile page before deleting the account, and for admins the organisation's ledger
//! and audit log as CSV. The same exports of `account-core` as the API's, written into the
//! response as they are read, one page at a time.

use std::sync::Arc;

use account_core::ports::LedgerFilter;
use account_core::services::export::Export;
use poem::http::{HeaderValue, header};
use poem::web::Data;
use poem::{Body, Response, handler};

use crate::app::Web;
use crate::pages::OrFail;
use crate::session::{Admin, Viewer};

/// `export` as a download named `filename`. A page that cannot be read cuts the response
/// short (no end of the chunked encoding), so a browser reports the download as failed.
fn download(export: Export, content_type: &'static str, filename: &str) -> Response {
    let chunks = futures_util::stream::try_unfold(export, |mut export| async move {
        match export.next_chunk().await {
            Ok(Some(chunk)) => Ok(Some((chunk.into_bytes(), export))),
            Ok(None) => Ok(None),
            Err(error) => {
                tracing::error!(%error, "a download failed part-way; its response is cut short");
                Err(std::io::Error::other("the export could not be read to its end"))
            }
        }
    });
    let mut resp =
        Response::builder().content_type(content_type).body(Body::from_bytes_stream(chunks));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    resp
}

fn stamp(export: &Export) -> String {
    export.as_of().format("%Y%m%dT%H%M%SZ").to_string()
}

/// `GET /profile/export`: everything the account holds of the viewer. Refused under an
/// impersonation, as deleting the account is.
#[handler]
pub(crate) async fn my_data(web: Data<&Arc<Web>>, viewer: Viewer) -> poem::Result<Response> {
    let export = web.accounts.export().member(&viewer.actor()).await.or_fail()?;
    let filename = format!("accounts-export-{}.json", stamp(&export));
    Ok(download(export, "application/json; charset=utf-8", &filename))
}

/// `GET /team/ledger.csv`: the organisation's credit ledger, oldest first (admins).
#[handler]
pub(crate) async fn ledger(web: Data<&Arc<Web>>, Admin(viewer): Admin) -> poem::Result<Response> {
    let export = web
        .accounts
        .export()
        .ledger_csv(&viewer.actor(), LedgerFilter::default())
        .await
        .or_fail()?;
    let filename = format!("ledger-{}.csv", stamp(&export));
    Ok(download(export, "text/csv; charset=utf-8", &filename))
}

/// `GET /audit.csv`: the organisation's audit log, newest first (admins).
#[handler]
pub(crate) async fn audit(web: Data<&Arc<Web>>, Admin(viewer): Admin) -> poem::Result<Response> {
    let export = web.accounts.export().audit_csv(&viewer.actor()).await.or_fail()?;
    let filename = format!("audit-log-{}.csv", stamp(&export));
    Ok(download(export, "text/csv; charset=utf-8", &filename))
}
