//! The OpenAPI document as clients and generators read it: poem-openapi's rendering, refined
//! where poem-openapi cannot say what we mean, with every limit taken from the domain's own
//! constants so that the document and the rules cannot drift apart.
//!
//! The refinements, each applied to the whole document:
//!
//! - A property of an enum or object type with a description is rendered by poem-openapi as
//!   `allOf: [{$ref}, {description}]`, which code generators refuse (openapi-python-client
//!   drops the schema and every operation that uses it). It becomes a plain `$ref`; the enum or
//!   object describes itself.
//! - Dates are `format: date` (poem-openapi says `naive-date`, which no tool knows).
//! - `If-Match` is required where an update answers 428 without it (the handlers read it as
//!   optional so that they can answer 428 rather than 400).
//! - Every string a request carries states its limits ([`LIMITS`], [`PARAMETER_LIMITS`]):
//!   length, pattern or format, as the domain's parse constructors check them, so that input
//!   valid by the document is accepted by the server (or refused by a rule the document
//!   cannot express, such as a taken email address).

use account_core::domain::credits::CreditAmount;
use account_core::domain::email::EmailAddress;
use account_core::domain::linkedin::LinkedInUrl;
use account_core::domain::organisation::{MAX_LICENCES, MAX_PLANS, MIN_LICENCES};
use account_core::domain::password::{Password, PasswordAttempt};
use account_core::domain::products::{MAX_OFFERING_LEN, MAX_OFFERINGS};
use account_core::domain::secret::VerificationCode;
use account_core::domain::text::{
    self, CompanyName, DataType, EventId, FullName, JobTitle, KeyLabel, OrganisationName,
    PersonName, PlanName, PostalAddress, Provider, PurchaseOrderNumber, Reason, RegistrationNumber,
};
use account_core::domain::username::Username;
use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Value, json};

/// The characters no text field takes, as the body of a regular-expression class: the control
/// characters (what `char::is_control` refuses: U+0000–U+001F, U+007F–U+009F) and the
/// invisible formatting characters of [`text::INVISIBLE_FORMAT`] in the basic multilingual
/// plane, written `\uXXXX`. Those above it (tag characters, Egyptian and musical format
/// controls, a handful more) are refused by the server as well but left out of the pattern:
/// a pattern cannot name them in a form every schema tool reads (ECMAScript needs the `u`
/// flag for `\u{…}`, Python's `re` and schemathesis refuse it).
fn refused_class() -> String {
    let mut class = String::from(r"\u0000-\u001f\u007f-\u009f");
    for &(first, last) in text::INVISIBLE_FORMAT {
        let (first, last) = (u32::from(first), u32::from(last));
        if last > 0xFFFF {
            continue;
        }
        let _ = write!(class, r"\u{first:04x}");
        if last != first {
            let _ = write!(class, r"-\u{last:04x}");
        }
    }
    class
}

/// No refused character ([`refused_class`]).
fn no_refused() -> String {
    format!("^[^{}]*$", refused_class())
}

/// No refused character and at least one character that is not a space.
fn not_blank() -> String {
    let class = refused_class();
    format!(r"^[^{class}]*[^\s{class}][^{class}]*$")
}

/// Required text: trimmed by the domain, not blank, no control characters, at most `max`
/// characters.
fn text(max: usize) -> Value {
    json!({ "minLength": 1, "maxLength": max, "pattern": not_blank() })
}

/// Optional text: blank clears it; no control characters, at most `max` characters.
fn optional_text(max: usize) -> Value {
    json!({ "maxLength": max, "pattern": no_refused() })
}

fn email() -> Value {
    json!({ "format": "email", "minLength": 3, "maxLength": EmailAddress::MAX_LEN })
}

fn new_password() -> Value {
    json!({ "minLength": Password::MIN_LEN, "maxLength": Password::MAX_LEN })
}

fn password_attempt() -> Value {
    json!({ "minLength": 1, "maxLength": PasswordAttempt::MAX_BYTES })
}

fn code() -> Value {
    json!({ "pattern": format!("^[0-9]{{{}}}$", VerificationCode::DIGITS) })
}

fn username() -> Value {
    json!({
        "minLength": Username::MIN_LEN,
        "maxLength": Username::MAX_LEN,
        "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
    })
}

fn registration_number() -> Value {
    json!({
        "minLength": RegistrationNumber::MIN_LEN,
        "maxLength": RegistrationNumber::MAX_LEN,
        "pattern": "^[A-Za-z0-9-][A-Za-z0-9 -]*[A-Za-z0-9-]$",
    })
}

fn amount() -> Value {
    json!({ "minimum": 1, "maximum": CreditAmount::MAX })
}

/// An IANA time-zone name's shape (`Europe/Stockholm`, `UTC`); which names exist is the time-zone
/// database's business, so an unknown one is still refused (422).
fn timezone() -> Value {
    json!({ "minLength": 1, "maxLength": 64, "pattern": r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$" })
}

/// Where each request string's limits come from: (schema, property, keywords).
pub(crate) fn limits() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("LoginRequest", "email", json!({ "minLength": 1, "maxLength": EmailAddress::MAX_LEN })),
        ("LoginRequest", "password", password_attempt()),
        (
            "AcceptInvitationRequest",
            "token",
            json!({ "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$" }),
        ),
        ("AcceptInvitationRequest", "password", new_password()),
        ("PasswordResetRequest", "email", email()),
        (
            "CompletePasswordResetRequest",
            "token",
            json!({ "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$" }),
        ),
        ("CompletePasswordResetRequest", "password", new_password()),
        ("Profile", "first_name", text(PersonName::MAX_LEN)),
        ("Profile", "last_name", optional_text(PersonName::MAX_LEN)),
        ("Profile", "phone", json!({ "maxLength": 16, "pattern": r"^(\+[1-9][0-9]{7,14})?$" })),
        ("Profile", "company", optional_text(CompanyName::MAX_LEN)),
        ("Profile", "job_title", optional_text(JobTitle::MAX_LEN)),
        (
            "Profile",
            "linkedin",
            json!({
                "maxLength": LinkedInUrl::MAX_LEN,
                "pattern": r"^(https://(www\.)?linkedin\.com/(in|company|pub|school)/[A-Za-z0-9_.%-]+/?)?$",
            }),
        ),
        ("Preferences", "timezone", timezone()),
        ("OfferingInput", "text", text(MAX_OFFERING_LEN)),
        ("OfferingsRequest", "offerings", json!({ "maxItems": MAX_OFFERINGS })),
        ("ChangePasswordRequest", "current_password", password_attempt()),
        ("ChangePasswordRequest", "new_password", new_password()),
        ("CodeRequest", "code", code()),
        ("NewEmailRequest", "new_email", email()),
        ("NewEmailRequest", "new_email_repeat", email()),
        ("DeleteAccountRequest", "password", password_attempt()),
        ("DeleteAccountRequest", "username", username()),
        ("CreateApiKeyRequest", "label", optional_text(KeyLabel::MAX_LEN)),
        ("AddMemberRequest", "first_name", text(PersonName::MAX_LEN)),
        ("AddMemberRequest", "last_name", optional_text(PersonName::MAX_LEN)),
        ("AddMemberRequest", "email", email()),
        ("AddMemberRequest", "plan", optional_text(PlanName::MAX_LEN)),
        ("SetMemberPlanRequest", "plan", text(PlanName::MAX_LEN)),
        ("CreditMoveRequest", "amount", amount()),
        ("CreditMoveRequest", "reason", optional_text(Reason::MAX_LEN)),
        ("ConsumptionRequest", "amount", amount()),
        ("ConsumptionRequest", "data_type", text(DataType::MAX_LEN)),
        ("ConsumptionRequest", "provider", text(Provider::MAX_LEN)),
        ("ConsumptionRequest", "event_id", text(EventId::MAX_LEN)),
        ("StartImpersonationRequest", "reason", text(Reason::MAX_LEN)),
        ("CustomerInfo", "contact_person", optional_text(FullName::MAX_LEN)),
        (
            "CustomerInfo",
            "postal_address",
            json!({
                "maxItems": PostalAddress::MAX_LINES,
                "items": { "type": "string", "maxLength": PostalAddress::MAX_LINE_LEN, "pattern": no_refused() },
            }),
        ),
        ("CustomerInfo", "company_name", optional_text(CompanyName::MAX_LEN)),
        ("CustomerInfo", "purchase_order_number", optional_text(PurchaseOrderNumber::MAX_LEN)),
        ("AddContactRequest", "email", email()),
        ("SetRolesRequest", "roles", json!({ "uniqueItems": true, "maxItems": 3 })),
        ("CreateOrganisationRequest", "name", text(OrganisationName::MAX_LEN)),
        ("CreateOrganisationRequest", "registration_number", registration_number()),
        ("CreateOrganisationRequest", "plan", text(PlanName::MAX_LEN)),
        (
            "CreateOrganisationRequest",
            "licences",
            json!({ "minimum": MIN_LICENCES, "maximum": MAX_LICENCES }),
        ),
        ("CreateOrganisationRequest", "admin_first_name", text(PersonName::MAX_LEN)),
        ("CreateOrganisationRequest", "admin_last_name", optional_text(PersonName::MAX_LEN)),
        ("CreateOrganisationRequest", "admin_email", email()),
        ("CreateOrganisationRequest", "admin_password", new_password()),
        ("SetSeatsRequest", "plans", json!({ "minItems": 1, "maxItems": MAX_PLANS })),
        ("PlanSeatsRequest", "plan", text(PlanName::MAX_LEN)),
        ("PlanSeatsRequest", "licences", json!({ "minimum": 0, "maximum": MAX_LICENCES })),
        ("PlanSeatsRequest", "replaces", optional_text(PlanName::MAX_LEN)),
        ("SetRegistrationNumberRequest", "registration_number", registration_number()),
        ("PoolChangeRequest", "amount", amount()),
        ("PoolChangeRequest", "reason", text(Reason::MAX_LEN)),
        (
            "FindMemberRequest",
            "query",
            json!({ "minLength": 1, "maxLength": EmailAddress::MAX_LEN, "pattern": not_blank() }),
        ),
        ("RenameUsernameRequest", "username", username()),
        ("CreateProductRequest", "name", text(MAX_OFFERING_LEN)),
        ("UpdateProductRequest", "name", text(MAX_OFFERING_LEN)),
        ("RunDigestsRequest", "limit", json!({ "minimum": 1, "maximum": 10_000 })),
    ]
}

/// Limits of parameters, by name wherever they appear: (parameter, keywords).
pub(crate) fn parameter_limits() -> Vec<(&'static str, Value)> {
    vec![
        ("timezone", timezone()),
        // Cursors are hex, given out by the list itself.
        ("cursor", json!({ "maxLength": 512, "pattern": "^[0-9a-f]*$" })),
        (
            "Idempotency-Key",
            json!({ "minLength": 1, "maxLength": crate::idempotency::MAX_KEY_LEN, "pattern": "^[!-~]+$" }),
        ),
        ("If-Match", json!({ "pattern": "^\"[0-9]{1,19}\"$" })),
    ]
}

/// The limits table's entries that name no property of the document (a renamed field): the
/// tests require none.
#[cfg(test)]
pub(crate) fn unmatched_limits(doc: &Value) -> Vec<String> {
    let schemas = &doc["components"]["schemas"];
    limits()
        .into_iter()
        .filter(|(schema, property, _)| schemas[*schema]["properties"][*property].is_null())
        .map(|(schema, property, _)| format!("{schema}.{property}"))
        .collect()
}

/// Applies every refinement to poem-openapi's rendering, keeping its order of keys (so that
/// properties stay in the order of their structs).
pub(crate) fn refine(rendered: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<Node>(rendered) else {
        return rendered.to_owned();
    };
    plain_refs(&mut doc);
    if let Some(schemas) = doc.get_mut("components").and_then(|c| c.get_mut("schemas")) {
        for (schema, property, keywords) in limits() {
            if let Some(p) = schemas
                .get_mut(schema)
                .and_then(|s| s.get_mut("properties"))
                .and_then(|p| p.get_mut(property))
            {
                p.merge(&keywords);
            }
        }
    }
    let limits = parameter_limits();
    if let Some(Node::Object(paths)) = doc.get_mut("paths") {
        for (_, ops) in paths {
            let Node::Object(ops) = ops else { continue };
            for (_, op) in ops {
                let Some(Node::Array(params)) = op.get_mut("parameters") else { continue };
                for param in params {
                    let name = match param.get_mut("name") {
                        Some(Node::String(name)) => name.clone(),
                        _ => continue,
                    };
                    if name == "If-Match" {
                        param.set("required", Node::Bool(true));
                    }
                    if let Some((_, keywords)) = limits.iter().find(|(n, _)| *n == name)
                        && let Some(schema) = param.get_mut("schema")
                    {
                        schema.merge(keywords);
                    }
                }
            }
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| rendered.to_owned())
}

/// `{description, allOf: [{$ref}, {description}]}` becomes `{$ref}`, and `naive-date`
/// becomes `date`, everywhere.
fn plain_refs(node: &mut Node) {
    match node {
        Node::Object(entries) => {
            let reference = entries.iter().find(|(k, _)| k == "allOf").and_then(|(_, all)| {
                let Node::Array(all) = all else { return None };
                let annotation_only = matches!(all.get(1), Some(Node::Object(o))
                    if o.iter().all(|(k, _)| k == "description" || k == "title"));
                if all.len() != 2 || !annotation_only {
                    return None;
                }
                match &all[0] {
                    Node::Object(r) => r.iter().find(|(k, _)| k == "$ref").map(|(_, v)| v.clone()),
                    _ => None,
                }
            });
            if let Some(reference) = reference {
                *entries = vec![("$ref".to_owned(), reference)];
                return;
            }
            for (k, v) in entries.iter_mut() {
                if k == "format" && matches!(v, Node::String(f) if f == "naive-date") {
                    *v = Node::String("date".to_owned());
                }
                plain_refs(v);
            }
        }
        Node::Array(items) => items.iter_mut().for_each(plain_refs),
        _ => {}
    }
}

/// A JSON value whose objects keep their keys in order (`serde_json::Value` sorts them).
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match self {
            Self::Object(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn set(&mut self, key: &str, value: Node) {
        if let Self::Object(entries) = self {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => entries.push((key.to_owned(), value)),
            }
        }
    }

    /// Sets every keyword of `keywords` (a JSON object) on this schema.
    fn merge(&mut self, keywords: &Value) {
        if let Some(keywords) = keywords.as_object() {
            for (k, v) in keywords {
                self.set(k, Node::from(v));
            }
        }
    }
}

impl From<&Value> for Node {
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => Self::Number(n.clone()),
            Value::String(s) => Self::String(s.clone()),
            Value::Array(a) => Self::Array(a.iter().map(Self::from).collect()),
            Value::Object(o) => {
                Self::Object(o.iter().map(|(k, v)| (k.clone(), Self::from(v))).collect())
            }
        }
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => s.serialize_unit(),
            Self::Bool(b) => s.serialize_bool(*b),
            Self::Number(n) => n.serialize(s),
            Self::String(v) => s.serialize_str(v),
            Self::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NodeVisitor;

        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }

            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }

            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }

            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Number(v.into()))
            }

            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Number(v.into()))
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Node, E> {
                serde_json::Number::from_f64(v)
                    .map(Node::Number)
                    .ok_or_else(|| E::custom("not a finite number"))
            }

            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::String(v.to_owned()))
            }

            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::String(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Array(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Node>()? {
                    entries.push((k, v));
                }
                Ok(Node::Object(entries))
            }
        }

        d.deserialize_any(NodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> &'static Value {
        crate::server::document()
    }

    /// Every schema a request body reaches, by name.
    fn request_schemas(doc: &Value) -> Vec<String> {
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                        let name = r.rsplit('/').next().unwrap_or_default().to_owned();
                        if !out.contains(&name) {
                            out.push(name);
                        }
                    }
                    o.values().for_each(|v| refs(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let mut names = Vec::new();
        for ops in doc["paths"].as_object().unwrap().values() {
            for op in ops.as_object().unwrap().values() {
                refs(&op["requestBody"], &mut names);
            }
        }
        let mut i = 0;
        while i < names.len() {
            let schema = doc["components"]["schemas"][&names[i]].clone();
            refs(&schema, &mut names);
            i += 1;
        }
        names
    }

    #[test]
    fn enum_and_object_fields_are_plain_references_and_dates_are_dates() {
        let text = serde_json::to_string(doc()).unwrap();
        assert!(!text.contains("allOf"), "a property still wraps its $ref in allOf");
        assert!(!text.contains("naive-date"));
        assert!(text.contains(r#""format":"date""#));
    }

    #[test]
    fn every_limit_names_a_property_of_the_document() {
        assert_eq!(unmatched_limits(doc()), Vec::<String>::new());
    }

    #[test]
    fn every_string_and_number_a_request_carries_states_its_limits() {
        let doc = doc();
        let mut unbounded = Vec::new();
        for name in request_schemas(doc) {
            let schema = &doc["components"]["schemas"][&name];
            let Some(properties) = schema["properties"].as_object() else { continue };
            for (property, p) in properties {
                let bounded = match p["type"].as_str() {
                    Some("string") => {
                        p.get("maxLength").is_some()
                            || p.get("pattern").is_some()
                            || p.get("enum").is_some()
                            || matches!(p["format"].as_str(), Some("uuid" | "date" | "date-time"))
                    }
                    Some("integer") => p.get("maximum").is_some(),
                    Some("array") => p.get("maxItems").is_some(),
                    _ => true,
                };
                if !bounded {
                    unbounded.push(format!("{name}.{property}"));
                }
            }
        }
        assert_eq!(unbounded, Vec::<String>::new(), "add them to document::limits()");
    }

    #[test]
    fn limits_are_the_domains() {
        let p = &doc()["components"]["schemas"]["Profile"]["properties"];
        assert_eq!(p["first_name"]["maxLength"], PersonName::MAX_LEN);
        assert_eq!(p["linkedin"]["maxLength"], LinkedInUrl::MAX_LEN);
        let org = &doc()["components"]["schemas"]["CreateOrganisationRequest"]["properties"];
        assert_eq!(org["licences"]["maximum"], MAX_LICENCES);
        assert_eq!(org["admin_password"]["minLength"], Password::MIN_LEN);
        assert_eq!(org["admin_email"]["format"], "email");
    }

    #[test]
    fn if_match_is_required_where_an_update_needs_it() {
        let mut seen = 0;
        for ops in doc()["paths"].as_object().unwrap().values() {
            for op in ops.as_object().unwrap().values() {
                for param in op["parameters"].as_array().into_iter().flatten() {
                    if param["name"] == "If-Match" {
                        assert_eq!(param["required"], true, "{}", op["operationId"]);
                        seen += 1;
                    }
                }
            }
        }
        assert_eq!(seen, 3);
    }

    #[test]
    fn the_refined_document_keeps_the_order_of_properties() {
        let text = crate::server::openapi_json();
        let profile = text.find("\"Profile\": {").unwrap();
        let first = text[profile..].find("\"first_name\"").unwrap();
        let last = text[profile..].find("\"last_name\"").unwrap();
        assert!(first < last);
    }
}
