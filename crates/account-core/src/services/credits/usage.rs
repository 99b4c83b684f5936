//! Usage reports (rule 14): consumption summed by the store per period of the viewer's local days,
//! weeks or months, per kind, data type, provider and member.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::{CreditService, MyCredits, credits_of};
use crate::domain::credits::{ConsumptionSum, ConsumptionSums, CreditKind};
use crate::domain::member::{Member, Role};
use crate::domain::text::{DataType, Provider};
use crate::domain::timezone::Timezone;
use crate::error::{InternalError, ValidationErrors};
use crate::ids::MemberId;
use crate::ports::{StoreError, Tx};
use crate::services::Actor;
use crate::services::auth::Authenticated;
use crate::services::common::{Denied, integration_member, member_of_org, op_error};

/// Longest period a usage report covers.
pub const MAX_REPORT_DAYS: i64 = 731;

/// Building a usage report failed.
#[derive(Debug, thiserror::Error)]
pub enum UsageReportError {
    /// Fields are invalid; each is named.
    #[error(transparent)]
    Validation(ValidationErrors),
    /// No such member in the caller's organisation.
    #[error("no such member in your organisation")]
    MemberNotFound,
    /// The caller may not.
    #[error(transparent)]
    Denied(Denied),
    /// Our fault.
    #[error(transparent)]
    Internal(InternalError),
}
op_error!(UsageReportError);

/// Report granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Local days.
    Day,
    /// ISO weeks, Monday to Sunday, named by their Monday.
    Week,
    /// Calendar months, named by their first day.
    Month,
}

/// Whose usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageScope {
    /// The caller's own.
    Own,
    /// The whole team, with a per-member breakdown (admins).
    Team,
    /// One member (admins; anyone for themselves).
    Member(MemberId),
}

/// A usage report request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    /// Whose usage.
    pub scope: UsageScope,
    /// First local day, inclusive.
    pub from: NaiveDate,
    /// Last local day, inclusive.
    pub to: NaiveDate,
    /// Granularity.
    pub bucket: Bucket,
    /// An IANA zone overriding the viewer's preference.
    pub timezone: Option<String>,
}

/// One bucket of the series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagePoint {
    /// First local day of the bucket.
    pub start: NaiveDate,
    /// Credits spent in it.
    pub total: i64,
}

/// One member's share of a team report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberUsage {
    /// The member (`None` if the spender was not a member).
    pub member_id: Option<MemberId>,
    /// Their display name; `None` once they deleted their account.
    pub name: Option<String>,
    /// Credits they spent.
    pub total: i64,
    /// Per data type.
    pub by_data_type: Vec<(DataType, i64)>,
}

/// A usage report (rule 14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    /// First local day.
    pub from: NaiveDate,
    /// Last local day.
    pub to: NaiveDate,
    /// The zone days are counted in.
    pub timezone: Timezone,
    /// Granularity.
    pub bucket: Bucket,
    /// Credits spent in the period.
    pub total: i64,
    /// Per kind.
    pub by_kind: Vec<(CreditKind, i64)>,
    /// Per data type.
    pub by_data_type: Vec<(DataType, i64)>,
    /// Per provider.
    pub by_provider: Vec<(Provider, i64)>,
    /// Every bucket of the period, zeros included.
    pub series: Vec<UsagePoint>,
    /// Per member, for team reports; empty otherwise.
    pub members: Vec<MemberUsage>,
    /// For one member's report (their own, or a member's for an admin): what they hold now,
    /// per kind (allocated, used, available), as `my_credits` gives it; `None` for team
    /// reports. Read beside the sums, not in one snapshot with them.
    pub credits: Option<MyCredits>,
}

impl CreditService<'_> {
    /// A usage report (rule 14): admins see the team, each member, and themselves; others
    /// only themselves. Days are counted in the viewer's time zone unless one is given.
    ///
    /// # Errors
    /// [`UsageReportError`].
    pub async fn usage_report(
        &self,
        actor: &Actor,
        query: &UsageQuery,
    ) -> Result<UsageReport, UsageReportError> {
        // The sums are one consistent read by themselves; the rest are lookups by key.
        let mut tx = self.ctx.ports.store.lookup().await?;
        let viewer = integration_member(tx.as_mut(), actor).await?;
        report_for(tx.as_mut(), &viewer, query).await
    }

    /// [`Self::usage_report`] for a session's caller, with the member authentication read
    /// and checked: the viewer is not read again, so a report of one's own usage is the sums'
    /// statement and the caller's balances.
    ///
    /// # Errors
    /// [`UsageReportError`].
    pub async fn session_usage_report(
        &self,
        auth: &Authenticated,
        query: &UsageQuery,
    ) -> Result<UsageReport, UsageReportError> {
        let mut tx = self.ctx.ports.store.lookup().await?;
        report_for(tx.as_mut(), auth.member(), query).await
    }
}

/// The usage report `viewer` asks for (rule 14), read on `tx`.
async fn report_for(
    tx: &mut dyn Tx,
    viewer: &Member,
    query: &UsageQuery,
) -> Result<UsageReport, UsageReportError> {
    let mut e = ValidationErrors::new();
    let timezone = match &query.timezone {
        Some(tz) => e.check("timezone", Timezone::parse(tz)),
        None => Some(viewer.preferences.timezone),
    };
    if query.to < query.from {
        e.push("to", "must not be before from");
    } else if (query.to - query.from).num_days() >= MAX_REPORT_DAYS {
        e.push("to", format!("the period must be at most {MAX_REPORT_DAYS} days"));
    }
    let Some(timezone) = timezone.filter(|_| e.is_empty()) else {
        return Err(UsageReportError::Validation(e));
    };
    let spender = match query.scope {
        UsageScope::Own => Some(viewer.clone()),
        UsageScope::Member(id) if id == viewer.id => Some(viewer.clone()),
        UsageScope::Team | UsageScope::Member(_) if viewer.role != Role::Admin => {
            return Err(Denied::NotAdmin.into());
        }
        UsageScope::Team => None,
        UsageScope::Member(id) => Some(
            member_of_org(tx, viewer.org_id, id).await?.ok_or(UsageReportError::MemberNotFound)?,
        ),
    };
    let starts = series_starts(query);
    let bounds = series_bounds(query, timezone, &starts);
    let sums = tx
        .credits()
        .consumption_sums(viewer.org_id, spender.as_ref().map(|m| m.id), &bounds)
        .await?;
    let mut report = build_report(query, timezone, &starts, &sums);
    match &spender {
        Some(member) => report.credits = Some(credits_of(tx, member).await?),
        None => report.members = member_breakdown(tx, &sums.per_detail).await?,
    }
    Ok(report)
}

/// UTC bounds `[start, end)` of the local days `from..=to` in `tz`.
pub(crate) fn local_period_bounds(
    from: NaiveDate,
    to: NaiveDate,
    tz: Timezone,
) -> (DateTime<Utc>, DateTime<Utc>) {
    (start_of_local_day(from, tz), start_of_local_day(to + Duration::days(1), tz))
}

/// The local months of `tz` from the one holding `from` to the one holding `to`: their first
/// days, and the store's period bounds for them, the first clipped to start at the first
/// month's beginning and the last ending at `end` (exclusive).
pub(crate) fn monthly_periods(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: Timezone,
) -> (Vec<NaiveDate>, Vec<DateTime<Utc>>) {
    let local = |t: DateTime<Utc>| t.with_timezone(&tz.tz()).date_naive();
    let last = local(to);
    let mut starts = Vec::new();
    let mut start = bucket_start(local(from), Bucket::Month);
    while start <= last {
        starts.push(start);
        start = next_bucket(start, Bucket::Month);
    }
    let mut bounds: Vec<DateTime<Utc>> =
        starts.iter().map(|day| start_of_local_day(*day, tz)).collect();
    bounds.push(end);
    (starts, bounds)
}

fn start_of_local_day(day: NaiveDate, tz: Timezone) -> DateTime<Utc> {
    let zone = tz.tz();
    // Midnight may not exist (a DST gap at 00:00): take the first instant of that local day.
    (0..=120)
        .find_map(|minutes| {
            let local = day.and_hms_opt(0, 0, 0)? + Duration::minutes(minutes);
            zone.from_local_datetime(&local).earliest()
        })
        .map_or_else(
            || Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default()),
            |t| t.with_timezone(&Utc),
        )
}

fn bucket_start(day: NaiveDate, bucket: Bucket) -> NaiveDate {
    match bucket {
        Bucket::Day => day,
        Bucket::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        Bucket::Month => day.with_day(1).unwrap_or(day),
    }
}

fn next_bucket(start: NaiveDate, bucket: Bucket) -> NaiveDate {
    match bucket {
        Bucket::Day => start + Duration::days(1),
        Bucket::Week => start + Duration::days(7),
        Bucket::Month => {
            let (y, m) = if start.month() == 12 {
                (start.year() + 1, 1)
            } else {
                (start.year(), start.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(start + Duration::days(31))
        }
    }
}

fn sorted<K: Ord + Clone>(map: BTreeMap<K, i64>) -> Vec<(K, i64)> {
    map.into_iter().collect()
}

/// The first day of each bucket of the report's series: the bucket holding `from`, then
/// each next one up to the bucket holding `to`.
fn series_starts(query: &UsageQuery) -> Vec<NaiveDate> {
    let mut starts = Vec::new();
    let mut start = bucket_start(query.from, query.bucket);
    while start <= query.to {
        starts.push(start);
        start = next_bucket(start, query.bucket);
    }
    starts
}

/// The instants where the series' buckets begin in `timezone`, clipped to the period (the
/// first bucket counts from `from`), then the end of `to`: the store's period bounds.
fn series_bounds(
    query: &UsageQuery,
    timezone: Timezone,
    starts: &[NaiveDate],
) -> Vec<DateTime<Utc>> {
    let (first, end) = local_period_bounds(query.from, query.to, timezone);
    let mut bounds = Vec::with_capacity(starts.len() + 1);
    bounds.push(first);
    bounds.extend(starts.iter().skip(1).map(|day| start_of_local_day(*day, timezone)));
    bounds.push(end);
    bounds
}

/// The report of the store's sums: the totals of its details, and a gap-free series of local
/// buckets (one per entry of `starts`, the sums' periods).
pub(crate) fn build_report(
    query: &UsageQuery,
    timezone: Timezone,
    starts: &[NaiveDate],
    sums: &ConsumptionSums,
) -> UsageReport {
    // Keyed by the sums' own names: a few names.
    let mut by_kind = BTreeMap::new();
    let mut by_data_type: BTreeMap<&str, (&DataType, i64)> = BTreeMap::new();
    let mut by_provider: BTreeMap<&str, (&Provider, i64)> = BTreeMap::new();
    for d in &sums.per_detail {
        *by_kind.entry(d.kind).or_insert(0) += d.amount;
        by_data_type.entry(d.data_type.as_str()).or_insert((&d.data_type, 0)).1 += d.amount;
        by_provider.entry(d.provider.as_str()).or_insert((&d.provider, 0)).1 += d.amount;
    }
    let series = starts
        .iter()
        .enumerate()
        .map(|(i, start)| UsagePoint {
            start: *start,
            total: sums.per_period.get(i).copied().unwrap_or(0),
        })
        .collect();
    UsageReport {
        from: query.from,
        to: query.to,
        timezone,
        bucket: query.bucket,
        total: sums.total(),
        by_kind: sorted(by_kind),
        by_data_type: by_data_type.into_values().map(|(d, n)| (d.clone(), n)).collect(),
        by_provider: by_provider.into_values().map(|(p, n)| (p.clone(), n)).collect(),
        series,
        members: Vec::new(),
        credits: None,
    }
}

async fn member_breakdown(
    tx: &mut dyn Tx,
    details: &[ConsumptionSum],
) -> Result<Vec<MemberUsage>, StoreError> {
    type PerType<'a> = BTreeMap<&'a str, (&'a DataType, i64)>;
    let mut per_member: BTreeMap<Option<MemberId>, (i64, PerType<'_>)> = BTreeMap::new();
    for r in details {
        let slot = per_member.entry(r.spender).or_default();
        slot.0 += r.amount;
        slot.1.entry(r.data_type.as_str()).or_insert((&r.data_type, 0)).1 += r.amount;
    }
    // Every spender's name in one read (a team may have hundreds of spenders).
    let ids: Vec<MemberId> = per_member.keys().flatten().copied().collect();
    let names: BTreeMap<MemberId, String> = tx
        .members_by_id(&ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m.profile.display_name()))
        .collect();
    let mut out = Vec::with_capacity(per_member.len());
    for (member_id, (total, types)) in per_member {
        let name = member_id.and_then(|id| names.get(&id).cloned());
        out.push(MemberUsage {
            member_id,
            name,
            total,
            by_data_type: types.into_values().map(|(d, n)| (d.clone(), n)).collect(),
        });
    }
    out.sort_by(|a, b| b.total.cmp(&a.total).then(a.member_id.cmp(&b.member_id)));
    Ok(out)
}
