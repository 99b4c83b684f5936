//! Exports: a member's own data as one JSON document (before deleting the account, rule 11),
//! and an organisation's ledger and audit log as CSV for its admins (rules 12 and 21).
//!
//! An export is read page by page ([`PAGE`] rows a read unit) and handed out in chunks as
//! the pages come ([`Export::next_chunk`]), so a year of a busy member costs the memory of one
//! page, never of the whole document. Each page is its own read unit; what makes the pages
//! one consistent export is its cutoff, [`Export::as_of`], the time of the request: ledger and
//! audit entries after it are left out, and both logs are append-only, so a later page cannot
//! see a change an earlier one missed. The rest of a member's document (profile, keys,
//! sessions, balances, usage) is read in the first unit, at the cutoff. Who may export is
//! checked once, when the export starts: it goes on as a response in flight would.

pub mod csv;
mod json;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::common::{
    acting_admin, acting_member_and_organisation, not_impersonating, session_only,
};
use super::credits::{Bucket, MyCredits, UsageReport, credits_of, monthly_periods};
use super::profile::AccessError;
use super::{Actor, Context};
use crate::domain::audit::{AuditCursor, AuditEntry, Principal};
use crate::domain::credits::{ConsumptionTotal, LedgerEntry};
use crate::domain::member::Member;
use crate::domain::organisation::Organisation;
use crate::domain::products::{Offering, Product};
use crate::domain::session::{ApiKey, Session};
use crate::ids::{AuditEntryId, OrganisationId};
use crate::ports::{LedgerCursor, LedgerFilter, Page};
use json::{Obj, push_array};

/// Rows read per unit of work, and so at most per chunk.
pub const PAGE: u32 = 500;

/// The `format` of a member's export document; a change that breaks readers changes it.
pub const MEMBER_FORMAT: &str = "accounts.member-export.v1";

/// The columns of the ledger's CSV.
pub const LEDGER_COLUMNS: [&str; 12] = [
    "id",
    "at",
    "kind",
    "entry_type",
    "amount",
    "member_id",
    "actor",
    "acting_as",
    "reason",
    "data_type",
    "provider",
    "event_id",
];

/// The columns of the audit log's CSV.
pub const AUDIT_COLUMNS: [&str; 7] =
    ["id", "at", "actor", "acting_as", "action", "target", "detail"];

/// Starting exports.
#[derive(Debug, Clone)]
pub struct ExportService {
    ctx: Arc<Context>,
}

impl ExportService {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// The caller's own data as one JSON document: member, profile, preferences, products
    /// and services, API keys (metadata: never a secret or its digest), sessions (the same),
    /// balances, monthly usage since the account was made, and every ledger entry that names
    /// them. Needs a login session of the member themselves: refused under an impersonation,
    /// as deleting the account is (rule 16), and to API keys.
    ///
    /// # Errors
    /// [`AccessError`], before anything is written.
    pub async fn member(&self, actor: &Actor) -> Result<Export, AccessError> {
        let ctx = &self.ctx;
        session_only(actor)?;
        not_impersonating(actor)?;
        let mut tx = ctx.ports.store.read().await?;
        let (member, organisation) = acting_member_and_organisation(tx.as_mut(), actor).await?;
        let as_of = ctx.now();
        let mut sessions = tx.sessions().list_for_member(member.id).await?;
        sessions.retain(|s| s.impersonation.is_none() && s.expires_at > as_of);
        let keys = tx.api_keys().list_for_member(member.id).await?;
        let catalogue = tx.catalogue().list().await?;
        let credits = credits_of(tx.as_mut(), &member).await?;
        let tz = member.preferences.timezone;
        // Through the cutoff: the last period ends just after it.
        let (months, bounds) =
            monthly_periods(member.created_at, as_of, as_of + Duration::microseconds(1), tz);
        let usage =
            tx.credits().consumption_totals(member.org_id, Some(member.id), &bounds).await?;
        drop(tx);
        let head = MemberHead {
            as_of,
            member: &member,
            organisation: &organisation,
            sessions: &sessions,
            keys: &keys,
            catalogue: &catalogue,
            credits: &credits,
            months: &months,
            usage,
        }
        .render();
        let filter = LedgerFilter { naming: Some(member.id), ..LedgerFilter::default() };
        let source = Source::Ledger { org: member.org_id, filter, after: None, json: true };
        Ok(Export::new(self.ctx.clone(), as_of, head, source, "]}"))
    }

    /// The caller's organisation's ledger as CSV ([`LEDGER_COLUMNS`]), oldest first, with
    /// the filters of the ledger's list (admins).
    ///
    /// # Errors
    /// [`AccessError`], before anything is written.
    pub async fn ledger_csv(
        &self,
        actor: &Actor,
        filter: LedgerFilter,
    ) -> Result<Export, AccessError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let admin = acting_admin(tx.as_mut(), actor).await?;
        drop(tx);
        let mut head = String::new();
        csv::push_row(&mut head, &LEDGER_COLUMNS);
        let source = Source::Ledger { org: admin.org_id, filter, after: None, json: false };
        Ok(Export::new(self.ctx.clone(), self.ctx.now(), head, source, ""))
    }

    /// The caller's organisation's audit log as CSV ([`AUDIT_COLUMNS`]), newest first, as
    /// the log's list (admins, rule 21).
    ///
    /// # Errors
    /// [`AccessError`], before anything is written.
    pub async fn audit_csv(&self, actor: &Actor) -> Result<Export, AccessError> {
        let mut tx = self.ctx.ports.store.read().await?;
        let admin = acting_admin(tx.as_mut(), actor).await?;
        drop(tx);
        let as_of = self.ctx.now();
        let mut head = String::new();
        csv::push_row(&mut head, &AUDIT_COLUMNS);
        // Newest first: start just after the cutoff, every id at it included.
        let start = AuditCursor { at: as_of, id: AuditEntryId::from_uuid(uuid::Uuid::max()) };
        let source = Source::Audit { org: admin.org_id, after: Some(start) };
        Ok(Export::new(self.ctx.clone(), as_of, head, source, ""))
    }
}

/// Where the pages of an export come from.
#[derive(Debug)]
enum Source {
    /// An organisation's ledger, oldest first, as JSON objects of an array or as CSV rows.
    Ledger { org: OrganisationId, filter: LedgerFilter, after: Option<LedgerCursor>, json: bool },
    /// An organisation's audit log, newest first, as CSV rows.
    Audit { org: OrganisationId, after: Option<AuditCursor> },
}

/// An export in progress: call [`Export::next_chunk`] until it gives `None`. Nothing is read
/// until it is asked for, one page per chunk.
pub struct Export {
    ctx: Arc<Context>,
    as_of: DateTime<Utc>,
    head: Option<String>,
    source: Source,
    tail: &'static str,
    /// Rows written so far (JSON needs a comma before every row but the first).
    rows: u64,
    pages: u32,
    done: bool,
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Export")
            .field("as_of", &self.as_of)
            .field("source", &self.source)
            .field("rows", &self.rows)
            .field("pages", &self.pages)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Export {
    fn new(
        ctx: Arc<Context>,
        as_of: DateTime<Utc>,
        head: String,
        source: Source,
        tail: &'static str,
    ) -> Self {
        Self { ctx, as_of, head: Some(head), source, tail, rows: 0, pages: 0, done: false }
    }

    /// The cutoff: entries after it are not in the export.
    #[must_use]
    pub fn as_of(&self) -> DateTime<Utc> {
        self.as_of
    }

    /// How many pages were read so far.
    #[must_use]
    pub fn pages_read(&self) -> u32 {
        self.pages
    }

    /// The next piece of the document, or `None` when it is complete: first what was read
    /// when the export started, then one chunk per page (the last with the document's end).
    ///
    /// # Errors
    /// [`AccessError::Internal`] when a page cannot be read; the document is then incomplete
    /// and must not be taken for whole (a server ends the response without its end).
    pub async fn next_chunk(&mut self) -> Result<Option<String>, AccessError> {
        if let Some(head) = self.head.take() {
            return Ok(Some(head));
        }
        if self.done {
            return Ok(None);
        }
        let mut out = String::new();
        let more = match &mut self.source {
            Source::Ledger { org, filter, after, json } => {
                let mut tx = self.ctx.ports.store.read().await?;
                let page =
                    tx.credits().ledger(*org, *filter, Page { after: *after, limit: PAGE }).await?;
                drop(tx);
                self.pages += 1;
                let full = page.len() == usize::try_from(PAGE).unwrap_or(usize::MAX);
                let mut more = full;
                for e in &page {
                    if e.at > self.as_of {
                        more = false;
                        break;
                    }
                    if *json {
                        if self.rows > 0 {
                            out.push(',');
                        }
                        ledger_json(&mut out, e);
                    } else {
                        ledger_csv_row(&mut out, e);
                    }
                    self.rows += 1;
                    *after = Some(LedgerCursor { at: e.at, id: e.id });
                }
                more
            }
            Source::Audit { org, after } => {
                let mut tx = self.ctx.ports.store.read().await?;
                let page = tx.audit().list(*org, Page { after: *after, limit: PAGE }).await?;
                drop(tx);
                self.pages += 1;
                for e in &page {
                    audit_csv_row(&mut out, e);
                    self.rows += 1;
                    *after = Some(AuditCursor { at: e.at, id: e.id });
                }
                page.len() == usize::try_from(PAGE).unwrap_or(usize::MAX)
            }
        };
        if !more {
            out.push_str(self.tail);
            self.done = true;
        }
        Ok(Some(out))
    }
}

fn principal_text(p: Principal) -> String {
    match p {
        Principal::Member(id) => format!("member:{id}"),
        Principal::Operator => "operator".to_owned(),
        Principal::System => "system".to_owned(),
    }
}

fn push_principal(out: &mut String, p: Principal) {
    let mut o = Obj::new(out);
    match p {
        Principal::Member(id) => o.str("type", "member").str("member_id", &id.to_string()),
        Principal::Operator => o.str("type", "operator"),
        Principal::System => o.str("type", "system"),
    };
    o.end();
}

fn ledger_json(out: &mut String, e: &LedgerEntry) {
    let mut o = Obj::new(out);
    o.str("id", &e.id.to_string())
        .time("at", e.at)
        .str("kind", e.kind.as_str())
        .str("entry_type", e.entry_type.as_str())
        .int("amount", e.amount)
        .opt_str("member_id", e.member_id.map(|m| m.to_string()).as_deref());
    push_principal(o.key("actor"), e.actor);
    o.opt_str("acting_as", e.acting_as.map(|m| m.to_string()).as_deref())
        .opt_str("reason", e.reason.as_ref().map(|r| r.as_str()));
    match &e.consumption {
        Some(c) => {
            let mut d = Obj::new(o.key("consumption"));
            d.str("data_type", c.data_type.as_str())
                .str("provider", c.provider.as_str())
                .str("event_id", c.event_id.as_str());
            d.end();
        }
        None => {
            o.raw("consumption", "null");
        }
    }
    o.end();
}

fn ledger_csv_row(out: &mut String, e: &LedgerEntry) {
    let c = e.consumption.as_ref();
    csv::push_row(
        out,
        &[
            e.id.to_string(),
            json::time(e.at),
            e.kind.as_str().to_owned(),
            e.entry_type.as_str().to_owned(),
            e.amount.to_string(),
            e.member_id.map(|m| m.to_string()).unwrap_or_default(),
            principal_text(e.actor),
            e.acting_as.map(|m| m.to_string()).unwrap_or_default(),
            e.reason.as_ref().map(|r| r.as_str().to_owned()).unwrap_or_default(),
            c.map(|c| c.data_type.as_str().to_owned()).unwrap_or_default(),
            c.map(|c| c.provider.as_str().to_owned()).unwrap_or_default(),
            c.map(|c| c.event_id.as_str().to_owned()).unwrap_or_default(),
        ],
    );
}

fn audit_csv_row(out: &mut String, e: &AuditEntry) {
    csv::push_row(
        out,
        &[
            e.id.to_string(),
            json::time(e.at),
            principal_text(e.actor),
            e.acting_as.map(|m| m.to_string()).unwrap_or_default(),
            e.action.as_str().to_owned(),
            e.target.to_string(),
            e.detail.clone(),
        ],
    );
}

/// What a member's document holds before its ledger, read when the export starts.
struct MemberHead<'a> {
    as_of: DateTime<Utc>,
    member: &'a Member,
    organisation: &'a Organisation,
    sessions: &'a [Session],
    keys: &'a [ApiKey],
    catalogue: &'a [Product],
    credits: &'a MyCredits,
    months: &'a [chrono::NaiveDate],
    usage: Vec<ConsumptionTotal>,
}

impl MemberHead<'_> {
    /// The document up to the opening of its `ledger` array.
    fn render(mut self) -> String {
        let m = self.member;
        let mut out = String::with_capacity(4096);
        // The object stays open: the ledger's entries follow, then the export's tail.
        let mut doc = Obj::new(&mut out);
        doc.str("format", MEMBER_FORMAT).time("as_of", self.as_of);
        let mut o = Obj::new(doc.key("member"));
        o.str("id", &m.id.to_string())
            .str("organisation_id", &m.org_id.to_string())
            .str("organisation_name", self.organisation.name.as_str())
            .str("role", m.role.as_str())
            .str("status", m.status.as_str())
            .str("username", m.username.as_str())
            .str("email", m.email.as_str())
            .time("created_at", m.created_at)
            .bool("invitation_pending", m.invitation.is_some());
        o.end();
        let p = &m.profile;
        let mut o = Obj::new(doc.key("profile"));
        o.int("version", i64::try_from(m.profile_version).unwrap_or(i64::MAX))
            .str("first_name", p.first_name.as_str())
            .opt_str("last_name", p.last_name.as_ref().map(|v| v.as_str()))
            .opt_str("phone", p.phone.as_ref().map(|v| v.as_str()))
            .opt_str("company", p.company.as_ref().map(|v| v.as_str()))
            .opt_str("job_title", p.job_title.as_ref().map(|v| v.as_str()))
            .opt_str("linkedin", p.linkedin.as_ref().map(|v| v.as_str()));
        o.end();
        let prefs = &m.preferences;
        let mut o = Obj::new(doc.key("preferences"));
        let mut n = Obj::new(o.key("notifications"));
        n.bool("low_credit_alerts", prefs.notifications.low_credit_alerts)
            .bool("weekly_usage_digest", prefs.notifications.weekly_usage_digest)
            .bool("product_news", prefs.notifications.product_news);
        n.end();
        let mut x = Obj::new(o.key("export"));
        x.str("format", prefs.export.format.as_str())
            .bool("include_emails", prefs.export.include_emails)
            .bool("include_phone_numbers", prefs.export.include_phone_numbers);
        x.end();
        o.str("timezone", prefs.timezone.name());
        o.end();
        let catalogue = self.catalogue;
        push_array(doc.key("offerings"), &m.offerings, |out, offering| {
            let mut o = Obj::new(out);
            match offering {
                Offering::Catalogue(id) => {
                    let name = catalogue.iter().find(|p| p.id == *id).map(|p| p.name.as_str());
                    o.str("catalogue_id", &id.to_string()).opt_str("name", name);
                }
                Offering::Custom(name) => {
                    o.raw("catalogue_id", "null").str("name", name.as_str());
                }
            }
            o.end();
        });
        push_array(doc.key("api_keys"), self.keys, |out, k| {
            let mut o = Obj::new(out);
            o.str("id", &k.id.to_string())
                .opt_str("label", k.label.as_ref().map(|l| l.as_str()))
                .str("prefix", &k.prefix)
                .time("created_at", k.created_at)
                .opt_time("last_used_at", k.last_used_at);
            o.end();
        });
        push_array(doc.key("sessions"), self.sessions, |out, s| {
            let mut o = Obj::new(out);
            o.str("id", &s.id.to_string())
                .time("created_at", s.created_at)
                .time("last_seen_at", s.last_seen_at)
                .time("expires_at", s.expires_at)
                .opt_str("client", s.client.as_ref().map(|c| c.as_str()));
            o.end();
        });
        let mut o = Obj::new(doc.key("credits"));
        o.bool("spends_from_pool", self.credits.spends_from_pool);
        push_array(o.key("balances"), &self.credits.balances, |out, b| {
            let mut o = Obj::new(out);
            o.str("kind", b.kind.as_str())
                .int("allocated", b.allocated)
                .int("used", b.used)
                .int("available", b.available);
            o.end();
        });
        o.end();
        self.usage.sort_by(|a, b| {
            (a.period, a.kind, a.data_type.as_str(), a.provider.as_str()).cmp(&(
                b.period,
                b.kind,
                b.data_type.as_str(),
                b.provider.as_str(),
            ))
        });
        let months = self.months;
        let mut o = Obj::new(doc.key("usage"));
        o.str("timezone", m.preferences.timezone.name()).str("bucket", "month");
        push_array(o.key("rows"), &self.usage, |out, t| {
            let mut r = Obj::new(out);
            let month = months.get(t.period).map(ToString::to_string);
            r.opt_str("month", month.as_deref())
                .str("kind", t.kind.as_str())
                .str("data_type", t.data_type.as_str())
                .str("provider", t.provider.as_str())
                .int("credits", t.amount);
            r.end();
        });
        o.end();
        doc.key("ledger").push('[');
        out
    }
}

/// A usage report as CSV, one row per figure: `breakdown,name,credits`, where `breakdown` is
/// `total`, `kind`, `data_type`, `provider`, the bucket (`day`, `week` or `month`, named by
/// its first day) or `member` (team reports). What the API and the console download.
#[must_use]
pub fn usage_csv(r: &UsageReport) -> String {
    let mut out = String::new();
    csv::push_row(&mut out, &["breakdown", "name", "credits"]);
    let mut line = |breakdown: &str, name: &str, credits: i64| {
        csv::push_row(&mut out, &[breakdown, name, &credits.to_string()]);
    };
    line("total", "all", r.total);
    for (k, v) in &r.by_kind {
        line("kind", k.as_str(), *v);
    }
    for (k, v) in &r.by_data_type {
        line("data_type", k.as_str(), *v);
    }
    for (k, v) in &r.by_provider {
        line("provider", k.as_str(), *v);
    }
    let bucket = match r.bucket {
        Bucket::Day => "day",
        Bucket::Week => "week",
        Bucket::Month => "month",
    };
    for p in &r.series {
        line(bucket, &p.start.to_string(), p.total);
    }
    for m in &r.members {
        line("member", m.name.as_deref().unwrap_or("(deleted member)"), m.total);
    }
    out
}
