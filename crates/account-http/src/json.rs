//! JSON answers written from the DTO by serde in one pass, where poem-openapi's `Json` builds a
//! `serde_json::Value` tree first; debug builds check every answer against poem-openapi's own
//! serialisation, which is the one the OpenAPI document describes.
//!
//! A DTO in an answer derives both `poem_openapi::Object` (its schema, and `ToJSON`) and
//! `serde::Serialize`, with the same names: field names as declared (poem-openapi's default,
//! and serde's), enums' `rename_all` repeated as `#[serde(rename_all = ...)]`, and
//! `#[serde(skip_serializing_if = "Option::is_none")]` on each optional field of an object
//! marked `#[oai(skip_serializing_if_is_none)]`. A difference between the two is a bug the
//! test suite finds: in builds with debug assertions (every test, the black-box servers
//! included), [`Json::into_response`] serialises both ways, and when they differ logs the
//! type's name and where they differ, and answers a 500.

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::types::ToJSON;
use serde::Serialize;

/// A JSON answer (`application/json; charset=utf-8`) with `T`'s schema: the same type as a
/// JSON request body, whose `Payload` (content type and schema) it shares.
pub(crate) use crate::body::JsonBody as Json;
use crate::problem::{Problem, ProblemJson};

impl<T: ToJSON + Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => {
                #[cfg(debug_assertions)]
                if let Some(problem) = differs_from_document(&self.0, &body) {
                    return ProblemJson(problem).into_response();
                }
                Response::builder().content_type(Self::CONTENT_TYPE).body(body)
            }
            Err(error) => {
                // Only a map with keys that are not strings, or a failing `Serialize` impl,
                // make serde_json fail; no DTO has either.
                tracing::error!(%error, dto = std::any::type_name::<T>(), "an answer could not be serialised");
                ProblemJson(Problem::internal()).into_response()
            }
        }
    }
}

/// Documented as poem-openapi's `Json` answer: a 200 with `T`'s schema.
impl<T: ToJSON + Serialize> ApiResponse for Json<T> {
    fn meta() -> MetaResponses {
        <poem_openapi::payload::Json<T> as ApiResponse>::meta()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// In debug builds: the 500 problem, after logging where the forms differ, when serde wrote
/// `body` differently from poem-openapi's `ToJSON` (the document's serialisation). The log
/// names the type and the paths that differ, never the values: an answer may carry a token
/// shown once.
#[cfg(debug_assertions)]
fn differs_from_document<T: ToJSON>(value: &T, body: &[u8]) -> Option<Problem> {
    let ours: serde_json::Value = serde_json::from_slice(body).ok()?;
    let document = value.to_json().unwrap_or_default();
    if ours == document {
        return None;
    }
    let mut paths = Vec::new();
    differing_paths(&ours, &document, "$", &mut paths);
    let dto = std::any::type_name::<T>();
    tracing::error!(dto, paths = %paths.join(", "), "serde and poem-openapi serialise a DTO differently");
    Some(Problem::internal())
}

/// The paths below `at` where `a` and `b` differ (a key one side lacks, or another value).
#[cfg(debug_assertions)]
fn differing_paths(a: &serde_json::Value, b: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let path = format!("{at}.{key}");
                match (x.get(key), y.get(key)) {
                    (Some(v), Some(w)) => differing_paths(v, w, &path, out),
                    _ => out.push(path),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differing_paths(v, w, &format!("{at}[{i}]"), out);
            }
        }
        _ if a != b => out.push(at.to_owned()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::Object;

    use super::*;

    #[derive(Object, Serialize, Debug, Clone)]
    #[oai(skip_serializing_if_is_none)]
    struct Agrees {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    /// `note` is left out by poem-openapi and written as `null` by serde.
    #[derive(Object, Serialize, Debug, Clone)]
    #[oai(skip_serializing_if_is_none)]
    struct Drifts {
        name: String,
        note: Option<String>,
    }

    async fn answer(resp: Response) -> (u16, Option<String>, String) {
        let status = resp.status().as_u16();
        let content_type = resp.content_type().map(str::to_owned);
        (status, content_type, resp.into_body().into_string().await.unwrap())
    }

    #[tokio::test]
    async fn writes_what_poem_openapi_writes() {
        let resp = Json(Agrees { name: "a".into(), note: None }).into_response();
        let (status, content_type, body) = answer(resp).await;
        assert_eq!(status, 200);
        assert_eq!(content_type.as_deref(), Some("application/json; charset=utf-8"));
        assert_eq!(body, r#"{"name":"a"}"#);
    }

    #[cfg(debug_assertions)]
    #[test]
    fn names_where_two_forms_differ_without_their_values() {
        let a = serde_json::json!({"token": "acs_1", "items": [1, 2], "note": null});
        let b = serde_json::json!({"token": "acs_2", "items": [1, 3], "extra": true});
        let mut paths = Vec::new();
        differing_paths(&a, &b, "$", &mut paths);
        paths.sort();
        assert_eq!(paths, ["$.extra", "$.items[1]", "$.note", "$.token"]);
    }

    #[tokio::test]
    async fn a_drifting_dto_is_a_500_in_debug_builds() {
        let (status, _, body) =
            answer(Json(Drifts { name: "a".into(), note: None }).into_response()).await;
        if cfg!(debug_assertions) {
            assert_eq!(status, 500, "{body}");
            assert!(body.contains("internal-error"), "{body}");
        } else {
            assert_eq!(status, 200);
        }
    }
}
