//! Downloads written as they are read: an export of `account-core` becomes a response body
//! that pulls one chunk (one page of the store) at a time, as the client takes it, so a
//! year of ledger never sits in the server's memory. Also the `Accept` negotiation between
//! JSON and CSV, and the payload types that put both content types in the OpenAPI document.

use account_core::services::export::Export;
use poem::http::{HeaderValue, header};
use poem::{Body, IntoResponse, Request, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};

/// The body of `export`, read chunk by chunk as the client takes it. A page that cannot be
/// read ends the body with an error: the connection is cut without the end of the chunked
/// encoding, so no client takes the part it got for the whole document.
pub(crate) fn body_of(export: Export) -> Body {
    let chunks = futures_util::stream::try_unfold(export, |mut export| async move {
        match export.next_chunk().await {
            Ok(Some(chunk)) => Ok(Some((chunk.into_bytes(), export))),
            Ok(None) => Ok(None),
            Err(error) => {
                tracing::error!(%error, "an export failed part-way; its response is cut short");
                Err(std::io::Error::other("the export could not be read to its end"))
            }
        }
    });
    Body::from_bytes_stream(chunks)
}

/// Whether the client asks for CSV: `Accept` names `text/csv` with a weight above zero and
/// at least that of `application/json` (the first named wins a tie). Wildcards choose
/// nothing: JSON is the default.
pub(crate) fn wants_csv(req: &Request) -> bool {
    let Some(accept) = req.header(header::ACCEPT) else { return false };
    let (mut csv, mut json) = (None, None);
    for (i, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
            .unwrap_or(1.0);
        let weight = (q.clamp(0.0, 1.0) * 1000.0).round() as u32;
        match media.as_str() {
            "text/csv" => csv = csv.or(Some((weight, i))),
            "application/json" => json = json.or(Some((weight, i))),
            _ => {}
        }
    }
    match (csv, json) {
        (Some((c, _)), None) => c > 0,
        (Some((c, ci)), Some((j, ji))) => c > 0 && (c > j || (c == j && ci < ji)),
        (None, _) => false,
    }
}

/// A download: its body, and the file name offered for saving it.
pub(crate) struct Download {
    body: Body,
    filename: String,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download").field("filename", &self.filename).finish_non_exhaustive()
    }
}

impl Download {
    /// `body`, offered as `filename` (letters, digits, `-`, `_` and `.` only).
    pub(crate) fn new(body: impl Into<Body>, filename: String) -> Self {
        Self { body: body.into(), filename }
    }

    fn into_response_as(self, content_type: &'static str) -> Response {
        let disposition = format!("attachment; filename=\"{}\"", self.filename);
        let mut resp = Response::builder().content_type(content_type).body(self.body);
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            resp.headers_mut().insert(header::CONTENT_DISPOSITION, value);
        }
        resp
    }
}

/// CSV (RFC 4180, UTF-8, CRLF line ends, a header row first).
#[derive(Debug)]
pub(crate) struct Csv(pub Download);

impl Payload for Csv {
    const CONTENT_TYPE: &'static str = "text/csv";

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some("CSV (RFC 4180), UTF-8, with a header row."),
            ..MetaSchema::new("string")
        }))
    }
}

impl IntoResponse for Csv {
    fn into_response(self) -> Response {
        self.0.into_response_as("text/csv; charset=utf-8")
    }
}

/// A JSON document written as it is read (a member's export).
#[derive(Debug)]
pub(crate) struct JsonDocument(pub Download);

impl Payload for JsonDocument {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference("MemberExport".to_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>("MemberExport".to_owned(), |_| MetaSchema {
            description: Some(
                "A member's own data, as of `as_of`: the members of this object, in this \
                 order, with `ledger` last (docs/api.md, \"Exports\", describes each).",
            ),
            required: MEMBER_EXPORT.iter().map(|(name, _, _)| *name).collect(),
            properties: MEMBER_EXPORT
                .iter()
                .map(|(name, ty, description)| {
                    let items = (*ty == "array").then(|| {
                        Box::new(MetaSchemaRef::Inline(Box::new(MetaSchema::new("object"))))
                    });
                    let format = (*name == "as_of").then_some("date-time");
                    let schema = MetaSchema {
                        description: Some(description),
                        items,
                        format,
                        ..MetaSchema::new(ty)
                    };
                    (*name, MetaSchemaRef::Inline(Box::new(schema)))
                })
                .collect(),
            ..MetaSchema::new("object")
        });
    }
}

/// The members of a member's export document: name, JSON type, what it holds.
const MEMBER_EXPORT: [(&str, &str, &str); 11] = [
    ("format", "string", "`accounts.member-export.v1`; a change that breaks readers changes it."),
    ("as_of", "string", "The cutoff: nothing after it is in the export."),
    ("member", "object", "Id, organisation, role, status, username, login email, creation time."),
    ("profile", "object", "The profile and its version."),
    ("preferences", "object", "Notification switches, export defaults, time zone."),
    ("offerings", "array", "Products and services: catalogue entries (id and name) or free text."),
    ("api_keys", "array", "API keys: id, label, prefix, created and last used; never a secret."),
    ("sessions", "array", "Open sessions: id, created, last seen, end, client; never a token."),
    ("credits", "object", "What the member can spend, per kind."),
    ("usage", "object", "Credits spent per local month, kind, data type and provider."),
    (
        "ledger",
        "array",
        "Every ledger entry naming the member (moved, acted or acted as), oldest first.",
    ),
];

impl IntoResponse for JsonDocument {
    fn into_response(self) -> Response {
        self.0.into_response_as("application/json; charset=utf-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asks(accept: &str) -> bool {
        wants_csv(&Request::builder().header("accept", accept).finish())
    }

    #[test]
    fn csv_only_when_asked_for_over_json() {
        assert!(asks("text/csv"));
        assert!(asks("text/csv, */*;q=0.1"));
        assert!(asks("text/csv, application/json"));
        assert!(asks("application/json;q=0.5, text/csv"));
        assert!(!asks("application/json, text/csv"));
        assert!(!asks("text/csv;q=0"));
        assert!(!asks("*/*"));
        assert!(!asks("text/*"));
        assert!(!asks("application/json"));
        assert!(!wants_csv(&Request::builder().finish()));
    }
}
