//! Request bodies, held to the published document before they are parsed: a value of the
//! wrong JSON type is refused (poem-openapi would turn `true` or `12` into the string
//! `"true"` or `"12"`), and every field at fault is named in the problem's `errors`, with the
//! same shape as the domain's validation errors. Content (lengths, formats, rules) is the
//! domain's to check, with its own messages (422).

use std::ops::{Deref, DerefMut};

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, Type};
use serde_json::Value;

use crate::errors::{Malformed, Problems, Status};
use crate::problem::{FieldProblem, Problem, ProblemType};
use crate::status::StatusSet;

/// The `field` of a problem about the body as a whole (not JSON, not an object).
pub(crate) const WHOLE_BODY: &str = "body";

/// Every status a JSON body can be refused with before an operation's handler runs: one that
/// does not parse or does not fit the document (400), one too large (413; the middleware also
/// refuses it before routing), one not sent as JSON (415, poem-openapi's content-type check).
/// Every operation with a body declares them (a test in `responses.rs` walks the document).
pub(crate) const BODY_STATUSES: StatusSet =
    <Malformed as Problems>::STATUSES.with(StatusSet::of(&[413, 415]));

/// Every status a parameter or header can be refused with before the handler runs.
pub(crate) const PARAMETER_STATUSES: StatusSet = <Malformed as Problems>::STATUSES;

/// A JSON body of type `T`: a request's, checked against `T`'s schema in the document before
/// it is parsed; or an answer's, written by serde (`json.rs`, which names it `Json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonBody<T>(pub T);

impl<T> Deref for JsonBody<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for JsonBody<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        <poem_openapi::payload::Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = T::IS_REQUIRED;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        let value = if data.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&data).map_err(|e| {
                malformed(vec![fault(WHOLE_BODY, &format!("is not valid JSON ({e})"))])
            })?
        };
        if let MetaSchemaRef::Reference(name) = T::schema_ref() {
            let schema = &crate::server::checked_document()["components"]["schemas"][name.as_str()];
            let mut faults = Vec::new();
            check(schema, &value, "", &mut faults);
            if !faults.is_empty() {
                return Err(malformed(faults));
            }
        }
        T::parse_from_json(Some(value))
            .map(Self)
            .map_err(|e| malformed(vec![fault(WHOLE_BODY, &e.into_message())]))
    }
}

poem_openapi::impl_apirequest_for_payload!(JsonBody<T>, T: ParseFromJSON);

fn fault(field: &str, message: &str) -> FieldProblem {
    FieldProblem { field: field.to_owned(), message: message.to_owned() }
}

/// The 400 problem naming every field at fault.
pub(crate) fn malformed(faults: Vec<FieldProblem>) -> poem::Error {
    refuse_body(malformed_problem(faults))
}

/// A body's refusal; `error`'s statuses must be among [`BODY_STATUSES`] (checked at compile
/// time).
fn refuse_body<E: Problems>(error: E) -> poem::Error {
    const { BODY_STATUSES.assert_covers(E::STATUSES) };
    error.into().into_poem_error()
}

/// A parameter's refusal; `error`'s statuses must be among [`PARAMETER_STATUSES`] (checked at
/// compile time).
fn refuse_parameter<E: Problems>(error: E) -> Problem {
    const { PARAMETER_STATUSES.assert_covers(E::STATUSES) };
    error.into()
}

/// The 400 problem naming every field at fault, as a problem.
pub(crate) fn malformed_problem(faults: Vec<FieldProblem>) -> Malformed {
    let listed: Vec<String> = faults.iter().map(|f| format!("{} {}", f.field, f.message)).collect();
    let mut p = Problem::new(ProblemType::MalformedRequest, listed.join("; "));
    p.errors = Some(faults);
    Status::new(p)
}

tokio::task_local! {
    /// The URI of the request being served, to name a path parameter that does not parse
    /// (poem-openapi names them `param0`, `param1`, … in its errors).
    pub(crate) static REQUEST_URI: poem::http::Uri;
}

/// A parameter or header that poem-openapi could not parse, named as the problem's field.
pub(crate) fn parameter_problem(err: &poem::Error) -> Option<Problem> {
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        return Some(refuse_parameter(malformed_problem(vec![fault(
            e.name,
            &parameter_message(&e.reason),
        )])));
    }
    let e = err.downcast_ref::<poem_openapi::error::ParsePathError>()?;
    let name = e
        .name
        .strip_prefix("param")
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| REQUEST_URI.try_with(|uri| path_parameter(uri.path(), i)).ok().flatten())
        .unwrap_or_else(|| e.name.to_owned());
    Some(refuse_parameter(malformed_problem(vec![fault(
        &name,
        &format!("cannot be read: {}", e.reason),
    )])))
}

/// The name of the `index`-th parameter of the document's path that `path` matches.
fn path_parameter(path: &str, index: usize) -> Option<String> {
    let path = path.strip_prefix(crate::server::BASE_PATH)?;
    let segments: Vec<&str> = path.split('/').collect();
    let templates = crate::server::checked_document()["paths"].as_object()?;
    templates
        .keys()
        .map(|t| t.split('/').collect::<Vec<_>>())
        .filter(|t| {
            t.len() == segments.len()
                && t.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t == s)
        })
        // A literal segment beats a parameter (`/auth/sessions/revoke-others`).
        .max_by_key(|t| t.iter().filter(|s| !s.starts_with('{')).count())?
        .into_iter()
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .nth(index)
        .map(str::to_owned)
}

/// poem-openapi's reasons name Rust types (`failed to parse "integer_uint32": …`); say what
/// the client should send instead where we can.
fn parameter_message(reason: &str) -> String {
    if reason.contains("expected input") || reason.contains("Expected input") {
        "is required".to_owned()
    } else {
        format!("cannot be read: {reason}")
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

fn field_name(path: &str) -> &str {
    if path.is_empty() { WHOLE_BODY } else { path }
}

/// Checks `value` against `schema` for what makes a request unreadable: a missing required
/// field, a JSON type other than the document's, an enum value it does not list, a UUID, date
/// or number out of its format. Lengths and patterns are left to the domain (422).
fn check(schema: &Value, value: &Value, path: &str, faults: &mut Vec<FieldProblem>) {
    let schema = resolve(schema);
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            let names: Vec<String> = allowed
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect();
            faults.push(fault(field_name(path), &format!("must be one of: {}", names.join(", "))));
        }
        return;
    }
    let Some(ty) = schema.get("type").and_then(Value::as_str) else { return };
    let format = schema.get("format").and_then(Value::as_str).unwrap_or_default();
    let problem = match (ty, value) {
        ("object", Value::Object(fields)) => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for name in &required {
                if fields.get(*name).is_none_or(Value::is_null) {
                    faults.push(fault(&join(path, name), "is required"));
                }
            }
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    match fields.get(name) {
                        None | Some(Value::Null) => {}
                        Some(v) => check(property, v, &join(path, name), faults),
                    }
                }
            }
            None
        }
        ("object", _) => Some("must be a JSON object".to_owned()),
        ("array", Value::Array(items)) => {
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check(item, v, &format!("{}[{i}]", field_name(path)), faults);
                }
            }
            None
        }
        ("array", _) => Some("must be a list".to_owned()),
        ("string", Value::String(s)) => string_format(format, s),
        ("string", _) => Some("must be a string".to_owned()),
        ("boolean", Value::Bool(_)) => None,
        ("boolean", _) => Some("must be true or false".to_owned()),
        ("integer", Value::Number(n)) => integer_format(format, n),
        ("integer", _) => Some("must be a whole number".to_owned()),
        ("number", Value::Number(_)) => None,
        ("number", _) => Some("must be a number".to_owned()),
        _ => None,
    };
    if let Some(message) = problem {
        faults.push(fault(field_name(path), &message));
    }
}

/// Follows a `$ref` into the document's components.
fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            &crate::server::checked_document()["components"]["schemas"][name]
        }
        None => schema,
    }
}

fn string_format(format: &str, s: &str) -> Option<String> {
    let ok = match format {
        "uuid" => uuid::Uuid::parse_str(s).is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        "date-time" => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        _ => true,
    };
    (!ok).then(|| match format {
        "uuid" => "must be a UUID".to_owned(),
        "date" => "must be a date like 2026-01-31".to_owned(),
        _ => "must be an RFC 3339 time like 2026-01-31T09:00:00Z".to_owned(),
    })
}

fn integer_format(format: &str, n: &serde_json::Number) -> Option<String> {
    let (min, max): (i128, i128) = match format {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "uint8" => (0, u8::MAX.into()),
        "uint16" => (0, u16::MAX.into()),
        "uint32" => (0, u32::MAX.into()),
        "uint64" => (0, u64::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    };
    let value = n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    match value {
        Some(v) if (min..=max).contains(&v) => None,
        Some(_) => Some(format!("must be a whole number from {min} to {max}")),
        None => Some("must be a whole number".to_owned()),
    }
}
