//! The usage report (rule 14): credits spent per data type, per provider and per kind over a
//! period the viewer picks, in day / week / month buckets of the viewer's time zone, as a bar
//! chart drawn here as SVG (no script) and as a CSV download (the API's CSV, written by
//! `account-core`). Admins pick the whole team or one member; sub-users see their own, with
//! their credit balances.

use std::sync::Arc;

use account_core::ids::MemberId;
use account_core::services::credits::{Bucket, UsageQuery, UsageReport, UsageScope};
use account_core::services::export::usage_csv;
use askama::Template;
use chrono::{Duration, NaiveDate};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use crate::app::Web;
use crate::form::FieldErrors;
use crate::layout::{Chrome, Section, html_status};
use crate::pages::{OrFail, query};
use crate::session::Viewer;
use crate::text::{amount, kind_name};

/// One bar of the chart, in the SVG's coordinates.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    pub label: String,
    pub value: String,
    /// The x-axis label is drawn under every n-th bar only, so they do not overlap.
    pub show_label: bool,
    /// Every other drawn label, left out at a phone's width where the chart is smaller.
    pub minor: bool,
    pub label_x: i64,
}

/// The chart's geometry.
pub(crate) const CHART_WIDTH: i64 = 720;
pub(crate) const CHART_HEIGHT: i64 = 260;
const LEFT: i64 = 56;
const BOTTOM: i64 = 40;
const TOP: i64 = 16;

/// The bars of a series: heights scaled to the largest bucket.
pub(crate) fn bars(report: &UsageReport) -> (Vec<Bar>, i64) {
    let n = i64::try_from(report.series.len()).unwrap_or(1).max(1);
    let max = report.series.iter().map(|p| p.total).max().unwrap_or(0).max(1);
    let plot_w = CHART_WIDTH - LEFT - 8;
    let plot_h = CHART_HEIGHT - TOP - BOTTOM;
    let slot = (plot_w / n).max(1);
    let width = (slot * 7 / 10).max(1);
    let every = (n + 11) / 12;
    let bars = report
        .series
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let i = i64::try_from(i).unwrap_or(0);
            let height = p.total * plot_h / max;
            let x = LEFT + i * slot + (slot - width) / 2;
            Bar {
                x,
                y: TOP + plot_h - height,
                width,
                height,
                label: label(report.bucket, p.start),
                value: amount(p.total),
                show_label: i % every.max(1) == 0,
                minor: i % (2 * every.max(1)) != 0,
                label_x: x + width / 2,
            }
        })
        .collect();
    (bars, max)
}

fn label(bucket: Bucket, start: NaiveDate) -> String {
    match bucket {
        Bucket::Day => start.format("%b %-d").to_string(),
        Bucket::Week => format!("wk {}", start.format("%b %-d")),
        Bucket::Month => start.format("%b %Y").to_string(),
    }
}

/// A row of a breakdown table.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub name: String,
    pub credits: String,
}

/// A choice of whose usage.
#[derive(Debug, Clone)]
pub(crate) struct WhoOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A balance the viewer can spend.
#[derive(Debug, Clone)]
pub(crate) struct BalanceRow {
    pub kind: &'static str,
    pub allocated: String,
    pub used: String,
    pub available: String,
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    chrome: Chrome,
    from: String,
    to: String,
    bucket: &'static str,
    who: Vec<WhoOption>,
    errors: FieldErrors,
    report: Option<Report>,
    balances: Vec<BalanceRow>,
    spends_from_pool: bool,
    csv_href: String,
    tz: &'static str,
    chart_width: i64,
    chart_height: i64,
    axis_y: i64,
    axis_x: i64,
    mid_y: i64,
}

/// The parts of the report the page shows.
struct Report {
    scope: String,
    total: String,
    by_kind: Vec<Row>,
    by_data_type: Vec<Row>,
    by_provider: Vec<Row>,
    members: Vec<Row>,
    series: Vec<Row>,
    bars: Vec<Bar>,
    max: String,
    half: String,
}

/// What the viewer asked for, from the query string, with defaults: the last 30 days, by
/// day, the team for admins.
struct Asked {
    from: String,
    to: String,
    bucket: Bucket,
    who: String,
}

fn bucket_name(b: Bucket) -> &'static str {
    match b {
        Bucket::Day => "day",
        Bucket::Week => "week",
        Bucket::Month => "month",
    }
}

fn asked(web: &Web, req: &Request, viewer: &Viewer) -> Asked {
    let q = query(req);
    let today = web.accounts.now().with_timezone(&viewer.tz().tz()).date_naive();
    let bucket = match q.get("bucket") {
        Some("week") => Bucket::Week,
        Some("month") => Bucket::Month,
        _ => Bucket::Day,
    };
    let default_who = if viewer.is_admin() { "team" } else { "me" };
    Asked {
        from: q.opt("from").unwrap_or_else(|| (today - Duration::days(29)).to_string()),
        to: q.opt("to").unwrap_or_else(|| today.to_string()),
        bucket,
        who: q.opt("who").unwrap_or_else(|| default_who.to_owned()),
    }
}

/// The report query, or the fields at fault.
fn usage_query(asked: &Asked, viewer: &Viewer) -> Result<UsageQuery, FieldErrors> {
    let mut errors = FieldErrors::none();
    let date = |field: &str, raw: &str, errors: &mut FieldErrors| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
            errors.push(
                field,
                format!("{} must be a date like 2026-01-31.", crate::text::field_label(field)),
            );
        })
    };
    let from = date("from", &asked.from, &mut errors);
    let to = date("to", &asked.to, &mut errors);
    let scope = match asked.who.as_str() {
        "me" => UsageScope::Own,
        "team" if viewer.is_admin() => UsageScope::Team,
        other if viewer.is_admin() => match other.parse::<MemberId>() {
            Ok(id) => UsageScope::Member(id),
            Err(_) => UsageScope::Team,
        },
        _ => UsageScope::Own,
    };
    match (from, to) {
        (Ok(from), Ok(to)) if !errors.any() => {
            Ok(UsageQuery { scope, from, to, bucket: asked.bucket, timezone: None })
        }
        _ => Err(errors),
    }
}

fn rows<T: std::fmt::Display>(items: &[(T, i64)]) -> Vec<Row> {
    items.iter().map(|(k, v)| Row { name: k.to_string(), credits: amount(*v) }).collect()
}

async fn run(
    web: &Web,
    viewer: &Viewer,
    asked: &Asked,
) -> poem::Result<Result<UsageReport, FieldErrors>> {
    let query = match usage_query(asked, viewer) {
        Ok(q) => q,
        Err(e) => return Ok(Err(e)),
    };
    match web.accounts.credits().session_usage_report(&viewer.auth, &query).await {
        Ok(r) => Ok(Ok(r)),
        Err(account_core::services::credits::UsageReportError::Validation(v)) => {
            Ok(Err(FieldErrors::from_domain(&v, &[])))
        }
        Err(e) => Err(e).or_fail(),
    }
}

/// `GET /usage`.
#[handler]
pub(crate) async fn show(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
) -> poem::Result<Response> {
    let asked = asked(&web, req, &viewer);
    let actor = viewer.actor();
    let mut who = vec![WhoOption {
        value: "me".to_owned(),
        label: "Me".to_owned(),
        selected: asked.who == "me",
    }];
    let mut scope_name = "your own usage".to_owned();
    if viewer.is_admin() {
        who.push(WhoOption {
            value: "team".to_owned(),
            label: "The whole team".to_owned(),
            selected: asked.who == "team",
        });
        if asked.who == "team" {
            scope_name = "the whole team".to_owned();
        }
        for m in crate::pages::team::members_for_lists(&web, &actor).await? {
            let id = m.member.id.to_string();
            let selected = asked.who == id;
            let name = m.member.profile.display_name();
            if selected {
                scope_name = name.clone();
            }
            if m.member.id != viewer.me.member.id {
                who.push(WhoOption { value: id, label: name, selected });
            }
        }
    }
    let (report, errors) = match run(&web, &viewer, &asked).await? {
        Ok(r) => {
            let (bars, max) = bars(&r);
            let report = Report {
                scope: scope_name,
                total: amount(r.total),
                by_kind: r
                    .by_kind
                    .iter()
                    .map(|(k, v)| Row { name: kind_name(*k).to_owned(), credits: amount(*v) })
                    .collect(),
                by_data_type: rows(&r.by_data_type),
                by_provider: rows(&r.by_provider),
                members: r
                    .members
                    .iter()
                    .map(|m| Row {
                        name: m.name.clone().unwrap_or_else(|| "(deleted member)".to_owned()),
                        credits: amount(m.total),
                    })
                    .collect(),
                series: r
                    .series
                    .iter()
                    .map(|p| Row { name: p.start.to_string(), credits: amount(p.total) })
                    .collect(),
                bars,
                max: amount(max),
                // A middle line of 0 (when the largest bucket is 1) would say nothing.
                half: if max >= 2 { amount(max / 2) } else { String::new() },
            };
            (Some(report), FieldErrors::none())
        }
        Err(errors) => (None, errors),
    };
    let mine = web.accounts.credits().my_credits(&actor).await.or_fail()?;
    let balances = mine
        .balances
        .iter()
        .map(|b| BalanceRow {
            kind: kind_name(b.kind),
            allocated: amount(b.allocated),
            used: amount(b.used),
            available: amount(b.available),
        })
        .collect();
    let csv_href = format!(
        "/usage.csv?from={}&to={}&bucket={}&who={}",
        enc(&asked.from),
        enc(&asked.to),
        bucket_name(asked.bucket),
        enc(&asked.who)
    );
    let status = if errors.any() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let plot_h = CHART_HEIGHT - TOP - BOTTOM;
    let page = UsagePage {
        chrome: Chrome::new(&web, req, &viewer, Section::Usage, "Usage report"),
        from: asked.from,
        to: asked.to,
        bucket: bucket_name(asked.bucket),
        who,
        errors,
        report,
        balances,
        spends_from_pool: mine.spends_from_pool,
        csv_href,
        tz: viewer.tz().name(),
        chart_width: CHART_WIDTH,
        chart_height: CHART_HEIGHT,
        axis_y: TOP + plot_h,
        axis_x: LEFT,
        mid_y: TOP + plot_h / 2,
    };
    Ok(html_status(&page, status))
}

/// Keeps a query value to characters that need no escaping in a URL; anything else is
/// dropped (dates, `me`, `team` and ids need none).
fn enc(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect()
}

/// `GET /usage.csv`: the same report as a download.
#[handler]
pub(crate) async fn csv(
    req: &Request,
    web: Data<&Arc<Web>>,
    viewer: Viewer,
) -> poem::Result<Response> {
    let asked = asked(&web, req, &viewer);
    match run(&web, &viewer, &asked).await? {
        Ok(r) => Ok(Response::builder()
            .content_type("text/csv; charset=utf-8")
            .header(
                "content-disposition",
                format!("attachment; filename=\"usage-{}-{}.csv\"", r.from, r.to),
            )
            .body(usage_csv(&r))),
        Err(errors) => {
            let text = errors.all().iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join(" ");
            Ok(Response::builder()
                .status(StatusCode::UNPROCESSABLE_ENTITY)
                .content_type("text/plain; charset=utf-8")
                .body(text))
        }
    }
}
