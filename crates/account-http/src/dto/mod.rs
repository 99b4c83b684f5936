//! The API's request and response bodies (`#[derive(Object)]`), converted to and from the
//! domain's types. They carry no validation of their own: the domain's parse constructors
//! validate, and name each invalid field as the DTO names it.

pub(crate) mod auth;
pub(crate) mod me;
pub(crate) mod operator;
pub(crate) mod organisation;
pub(crate) mod team;

use std::borrow::Cow;

use account_core::domain::audit::Principal;
use account_core::domain::contact::ContactRole as CoreContactRole;
use account_core::domain::credits::{CreditKind as CoreCreditKind, EntryType as CoreEntryType};
use account_core::domain::member::{MemberStatus as CoreMemberStatus, Role as CoreRole};
use account_core::domain::session::ApiKey as CoreApiKey;
use account_core::services::credits::{
    Balance as CoreBalance, Bucket as CoreBucket, UsageReport as CoreUsageReport,
};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use poem_openapi::{Enum, Object};
use serde_json::Value;
use uuid::Uuid;

/// An instant, sent as RFC 3339 in UTC with a `Z` and always six fractional digits
/// (`2026-01-05T09:00:00.123456Z`): the stores keep microseconds, so entries written by
/// different processes within one second keep their order, and the strings sort as the times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timestamp(pub DateTime<Utc>);

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t)
    }
}

impl Timestamp {
    /// The RFC 3339 form, to the microsecond.
    pub(crate) fn rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

impl Type for Timestamp {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => DateTime::parse_from_rfc3339(&s)
                .map(|t| Self(t.with_timezone(&Utc)))
                .map_err(|e| ParseError::custom(e.to_string())),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Timestamp {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.rfc3339()))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.rfc3339())
    }
}

/// Optional timestamps.
pub(crate) fn ts(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(Timestamp)
}

/// Declares a page type: `items` and the `next_cursor` to pass as `cursor` for the next page
/// (absent on the last page).
macro_rules! page {
    ($(#[$meta:meta])* $name:ident, $item:ty) => {
        $(#[$meta])*
        #[derive(poem_openapi::Object, serde::Serialize, Debug, Clone)]
        #[oai(skip_serializing_if_is_none)]
        pub(crate) struct $name {
            /// The items of this page.
            pub items: Vec<$item>,
            /// Pass as `cursor` to get the next page; absent on the last page.
            #[serde(skip_serializing_if = "Option::is_none")]
            #[oai(skip_serializing_if_is_none)]
            pub next_cursor: Option<String>,
        }
    };
}
pub(crate) use page;

/// A member's role.
#[derive(serde::Serialize, Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "Role", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    /// Manages the organisation.
    Admin,
    /// Manages their own profile; sees their own credits and usage.
    SubUser,
}

impl From<CoreRole> for Role {
    fn from(r: CoreRole) -> Self {
        match r {
            CoreRole::Admin => Self::Admin,
            CoreRole::SubUser => Self::SubUser,
        }
    }
}

impl From<Role> for CoreRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => Self::Admin,
            Role::SubUser => Self::SubUser,
        }
    }
}

/// Whether a member holds a licence and may act.
#[derive(serde::Serialize, Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "MemberStatus", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub(crate) enum MemberStatus {
    /// Holds a licence (pending invitations included).
    Enabled,
    /// Holds no licence; cannot log in; data kept.
    Disabled,
}

impl From<CoreMemberStatus> for MemberStatus {
    fn from(s: CoreMemberStatus) -> Self {
        match s {
            CoreMemberStatus::Enabled => Self::Enabled,
            CoreMemberStatus::Disabled => Self::Disabled,
        }
    }
}

impl From<MemberStatus> for CoreMemberStatus {
    fn from(s: MemberStatus) -> Self {
        match s {
            MemberStatus::Enabled => Self::Enabled,
            MemberStatus::Disabled => Self::Disabled,
        }
    }
}

/// A kind of credit (calling minutes are one).
#[derive(serde::Serialize, Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "CreditKind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub(crate) enum CreditKind {
    /// Export credits.
    Export,
    /// Direct-dial credits.
    DirectDial,
    /// Calling credits.
    CallingCredits,
    /// Calling minutes.
    CallingMinutes,
}

impl From<CoreCreditKind> for CreditKind {
    fn from(k: CoreCreditKind) -> Self {
        match k {
            CoreCreditKind::Export => Self::Export,
            CoreCreditKind::DirectDial => Self::DirectDial,
            CoreCreditKind::CallingCredits => Self::CallingCredits,
            CoreCreditKind::CallingMinutes => Self::CallingMinutes,
        }
    }
}

impl From<CreditKind> for CoreCreditKind {
    fn from(k: CreditKind) -> Self {
        match k {
            CreditKind::Export => Self::Export,
            CreditKind::DirectDial => Self::DirectDial,
            CreditKind::CallingCredits => Self::CallingCredits,
            CreditKind::CallingMinutes => Self::CallingMinutes,
        }
    }
}

/// What a ledger entry did.
#[derive(serde::Serialize, Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "EntryType", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub(crate) enum EntryType {
    /// Credits added to the pool.
    Grant,
    /// Pool headroom handed to a member.
    Allocate,
    /// A member's unspent credits taken back.
    Reclaim,
    /// Credits spent.
    Consume,
    /// Unallocated credits removed from the pool.
    Expire,
}

impl From<CoreEntryType> for EntryType {
    fn from(t: CoreEntryType) -> Self {
        match t {
            CoreEntryType::Grant => Self::Grant,
            CoreEntryType::Allocate => Self::Allocate,
            CoreEntryType::Reclaim => Self::Reclaim,
            CoreEntryType::Consume => Self::Consume,
            CoreEntryType::Expire => Self::Expire,
        }
    }
}

impl From<EntryType> for CoreEntryType {
    fn from(t: EntryType) -> Self {
        match t {
            EntryType::Grant => Self::Grant,
            EntryType::Allocate => Self::Allocate,
            EntryType::Reclaim => Self::Reclaim,
            EntryType::Consume => Self::Consume,
            EntryType::Expire => Self::Expire,
        }
    }
}

/// A contact address's role.
#[derive(serde::Serialize, Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "ContactRole", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub(crate) enum ContactRole {
    /// Receives invoices.
    Billing,
    /// Receives technical notices.
    Tech,
    /// The data protection officer.
    Dpo,
}

impl From<CoreContactRole> for ContactRole {
    fn from(r: CoreContactRole) -> Self {
        match r {
            CoreContactRole::Billing => Self::Billing,
            CoreContactRole::Tech => Self::Tech,
            CoreContactRole::Dpo => Self::Dpo,
        }
    }
}

impl From<ContactRole> for CoreContactRole {
    fn from(r: ContactRole) -> Self {
        match r {
            ContactRole::Billing => Self::Billing,
            ContactRole::Tech => Self::Tech,
            ContactRole::Dpo => Self::Dpo,
        }
    }
}

/// One kind of a member's credits.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Balance {
    /// The kind.
    pub kind: CreditKind,
    /// Allocated to the member (for an admin: the pool's unallocated credits).
    pub allocated: i64,
    /// Spent.
    pub used: i64,
    /// What can still be spent.
    pub available: i64,
}

impl From<&CoreBalance> for Balance {
    fn from(b: &CoreBalance) -> Self {
        Self { kind: b.kind.into(), allocated: b.allocated, used: b.used, available: b.available }
    }
}

/// An API key as listed: never its secret.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct ApiKey {
    /// Its id.
    pub id: Uuid,
    /// Its owner.
    pub member_id: Uuid,
    /// The owner's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub label: Option<String>,
    /// The start of the secret that identifies it: `ack_`, the key's id in hex and the
    /// secret's first 4 hex digits (a key an older server made, and not rotated since,
    /// shows `ack_` and 12 hex digits). It changes when the key is rotated; the id does not.
    pub prefix: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last used (updated at most once a minute).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub last_used_at: Option<Timestamp>,
}

impl From<&CoreApiKey> for ApiKey {
    fn from(k: &CoreApiKey) -> Self {
        Self {
            id: k.id.as_uuid(),
            member_id: k.member_id.as_uuid(),
            label: k.label.as_ref().map(|l| l.as_str().to_owned()),
            prefix: k.prefix.clone(),
            created_at: k.created_at.into(),
            last_used_at: ts(k.last_used_at),
        }
    }
}

page!(
    /// A page of API keys.
    ApiKeyPage,
    ApiKey
);

/// A new or rotated API key with its secret, shown this once.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct CreatedApiKey {
    /// The key as it will be listed.
    pub key: ApiKey,
    /// The full key, for the `X-Api-Key` header. It is not stored and cannot be shown again.
    pub secret: String,
}

impl From<&account_core::services::api_keys::CreatedApiKey> for CreatedApiKey {
    fn from(c: &account_core::services::api_keys::CreatedApiKey) -> Self {
        Self { key: (&c.key).into(), secret: c.secret.clone() }
    }
}

/// Who did something, in the ledger and the audit log.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
#[oai(rename = "Principal")]
pub(crate) struct PrincipalRef {
    /// `member`, `operator` or `system`.
    #[serde(rename = "type")]
    #[oai(rename = "type")]
    pub kind: String,
    /// The member, for `member`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub member_id: Option<Uuid>,
}

impl From<Principal> for PrincipalRef {
    fn from(p: Principal) -> Self {
        match p {
            Principal::Member(id) => Self { kind: "member".into(), member_id: Some(id.as_uuid()) },
            Principal::Operator => Self { kind: "operator".into(), member_id: None },
            Principal::System => Self { kind: "system".into(), member_id: None },
        }
    }
}

/// Report granularity.
#[derive(serde::Serialize, Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "Bucket", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub(crate) enum Bucket {
    /// Local days.
    Day,
    /// ISO weeks (Monday to Sunday), named by their Monday.
    Week,
    /// Calendar months, named by their first day.
    Month,
}

impl From<Bucket> for CoreBucket {
    fn from(b: Bucket) -> Self {
        match b {
            Bucket::Day => Self::Day,
            Bucket::Week => Self::Week,
            Bucket::Month => Self::Month,
        }
    }
}

impl From<CoreBucket> for Bucket {
    fn from(b: CoreBucket) -> Self {
        match b {
            CoreBucket::Day => Self::Day,
            CoreBucket::Week => Self::Week,
            CoreBucket::Month => Self::Month,
        }
    }
}

/// Credits spent under one name (a kind, data type or provider).
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Total {
    /// The name.
    pub name: String,
    /// Credits spent.
    pub total: i64,
}

/// One bucket of a usage series.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct UsagePoint {
    /// First local day of the bucket.
    pub start: NaiveDate,
    /// Credits spent in it.
    pub total: i64,
}

/// One member's share of a team report.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct MemberUsage {
    /// The member (absent if the spender was not a member).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub member_id: Option<Uuid>,
    /// Their display name; absent once they deleted their account.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// Credits they spent.
    pub total: i64,
    /// Per data type.
    pub by_data_type: Vec<Total>,
}

/// A usage report: credits spent per kind, data type and provider over a period, bucketed by
/// local day, week or month.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct UsageReport {
    /// First local day.
    pub from: NaiveDate,
    /// Last local day (inclusive).
    pub to: NaiveDate,
    /// The IANA zone days are counted in.
    pub timezone: String,
    /// Granularity.
    pub bucket: Bucket,
    /// Credits spent in the period.
    pub total: i64,
    /// Per kind.
    pub by_kind: Vec<Total>,
    /// Per data type.
    pub by_data_type: Vec<Total>,
    /// Per provider.
    pub by_provider: Vec<Total>,
    /// Every bucket of the period, zeros included.
    pub series: Vec<UsagePoint>,
    /// Per member (team reports only).
    pub members: Vec<MemberUsage>,
    /// One member's report only (`/me/usage`, a member's usage, an integration's): what the
    /// member holds now per kind: `allocated`, `used`, and `available` (what remains), as
    /// `GET /me/credits` gives them. Absent from team reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none)]
    pub credits: Option<me::MyCredits>,
}

impl From<&CoreUsageReport> for UsageReport {
    fn from(r: &CoreUsageReport) -> Self {
        Self {
            from: r.from,
            to: r.to,
            timezone: r.timezone.name().to_owned(),
            bucket: r.bucket.into(),
            total: r.total,
            by_kind: r
                .by_kind
                .iter()
                .map(|(k, n)| Total { name: k.as_str().to_owned(), total: *n })
                .collect(),
            by_data_type: r
                .by_data_type
                .iter()
                .map(|(t, n)| Total { name: t.as_str().to_owned(), total: *n })
                .collect(),
            by_provider: r
                .by_provider
                .iter()
                .map(|(p, n)| Total { name: p.as_str().to_owned(), total: *n })
                .collect(),
            series: r
                .series
                .iter()
                .map(|p| UsagePoint { start: p.start, total: p.total })
                .collect(),
            credits: r.credits.as_ref().map(Into::into),
            members: r
                .members
                .iter()
                .map(|m| MemberUsage {
                    member_id: m.member_id.map(|id| id.as_uuid()),
                    name: m.name.clone(),
                    total: m.total,
                    by_data_type: m
                        .by_data_type
                        .iter()
                        .map(|(t, n)| Total { name: t.as_str().to_owned(), total: *n })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// An empty success body with a message, for actions that return nothing else.
#[derive(serde::Serialize, Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub(crate) struct Done {
    /// What happened.
    pub message: String,
}

impl Done {
    pub(crate) fn new(message: &str) -> Self {
        Self { message: message.to_owned() }
    }
}
