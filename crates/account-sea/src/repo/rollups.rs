//! Usage reports from `consumption_rollups`. A report's periods run from local midnight to
//! local midnight, which are seldom UTC midnights, so each period is read as the roll-ups
//! between the UTC midnights nearest its bounds, corrected by the raw consumptions between
//! each bound and its UTC midnight (at most 12 hours). With `C(t)` the consumption before
//! `t`, a bound `b` and its midnight `a`, `C(b) = C(a) ± raw[a, b)`, so a period
//! `[b₀, b₁)` sums to `rollups[a₀, a₁) + (C(b₁) − C(a₁)) − (C(b₀) − C(a₀))`: exact whatever
//! the zone, with raw reads only near the bounds. Between its midnights a period takes whole
//! UTC months where they fit and UTC days elsewhere.

use chrono::{DateTime, Datelike, TimeZone, Utc};

/// The roll-up units, as stored in `consumption_rollups.unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// A UTC day.
    Day,
    /// A UTC calendar month.
    Month,
}

impl Unit {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
        }
    }
}

/// Roll-up rows of `unit` whose start (Unix seconds) is in `[from, to)` count in `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    pub unit: Unit,
    pub from: i64,
    pub to: i64,
    pub period: usize,
}

/// Raw consumptions in `[from, to)` count `sign` times in each listed period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub effects: Vec<(usize, i64)>,
}

/// How to read the periods between `bounds`: roll-up pieces, and raw windows ascending and
/// disjoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub pieces: Vec<Piece>,
    pub windows: Vec<Window>,
}

const DAY_SECS: i64 = 86_400;

/// The first second of the UTC day of `t`, in Unix seconds.
pub(crate) fn day_start(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(DAY_SECS) * DAY_SECS
}

/// The first second of the UTC month of `t`, in Unix seconds.
pub(crate) fn month_start(t: DateTime<Utc>) -> i64 {
    Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
        .single()
        .map_or_else(|| day_start(t), |m| m.timestamp())
}

fn instant(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// The UTC midnight nearest to `t`.
fn nearest_midnight(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    instant((t.timestamp() + DAY_SECS / 2).div_euclid(DAY_SECS) * DAY_SECS)
}

/// The first UTC month start at or after the UTC midnight `secs`.
fn month_at_or_after(secs: i64) -> Option<i64> {
    let t = instant(secs)?;
    let start = month_start(t);
    if start == secs { Some(start) } else { next_month(start) }
}

fn next_month(month: i64) -> Option<i64> {
    let t = instant(month)?;
    let (y, m) = if t.month() == 12 { (t.year() + 1, 1) } else { (t.year(), t.month() + 1) };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single().map(|n| n.timestamp())
}

/// Splits the UTC midnights `[from, to)` of `period` into days, whole months, days.
fn pieces_between(from: i64, to: i64, period: usize, out: &mut Vec<Piece>) -> Option<()> {
    let mut push = |unit, from, to| {
        if from < to {
            out.push(Piece { unit, from, to, period });
        }
    };
    let first_month = month_at_or_after(from)?;
    let mut month_end = first_month;
    while let Some(next) = next_month(month_end).filter(|n| *n <= to) {
        month_end = next;
    }
    if month_end == first_month {
        push(Unit::Day, from, to);
    } else {
        push(Unit::Day, from, first_month);
        push(Unit::Month, first_month, month_end);
        push(Unit::Day, month_end, to);
    }
    Some(())
}

/// The plan for the periods `[bounds[i], bounds[i + 1])`, or `None` when the raw windows
/// would overlap (bounds less than a day apart) or a time is out of range: then the caller
/// sums the raw consumptions instead.
pub(crate) fn plan(bounds: &[DateTime<Utc>]) -> Option<Plan> {
    let periods = bounds.len().checked_sub(1).filter(|n| *n > 0)?;
    let anchors = bounds.iter().map(|b| nearest_midnight(*b)).collect::<Option<Vec<_>>>()?;
    let mut windows: Vec<Window> = Vec::new();
    for (i, (bound, anchor)) in bounds.iter().zip(&anchors).enumerate() {
        if bound == anchor {
            continue;
        }
        // C(bound) − C(anchor): + raw[anchor, bound) or − raw[bound, anchor).
        let (from, to, sign) =
            if bound > anchor { (*anchor, *bound, 1) } else { (*bound, *anchor, -1) };
        let mut effects = Vec::with_capacity(2);
        if i > 0 {
            effects.push((i - 1, sign));
        }
        if i < periods {
            effects.push((i, -sign));
        }
        if windows.last().is_some_and(|w| w.to > from) {
            return None;
        }
        windows.push(Window { from, to, effects });
    }
    let mut pieces = Vec::new();
    for (period, pair) in anchors.windows(2).enumerate() {
        pieces_between(pair[0].timestamp(), pair[1].timestamp(), period, &mut pieces)?;
    }
    Some(Plan { pieces, windows })
}

/// The pieces of one unit, ascending, in runs of contiguous pieces: each run's starts are one
/// range, from its first piece's `from` to its last piece's `to`.
pub(crate) fn runs_of_unit(plan: &Plan, unit: Unit) -> Vec<Vec<Piece>> {
    let mut pieces: Vec<Piece> = plan.pieces.iter().filter(|p| p.unit == unit).copied().collect();
    pieces.sort_by_key(|p| p.from);
    let mut runs: Vec<Vec<Piece>> = Vec::new();
    for p in pieces {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|last| last.to == p.from) => run.push(p),
            _ => runs.push(vec![p]),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Duration;

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Sums `events` (time, amount) per period through the plan, reading roll-ups and raw
    /// windows as the store does, and directly.
    fn through_plan(bounds: &[DateTime<Utc>], events: &[(DateTime<Utc>, i64)]) -> Vec<i64> {
        let plan = plan(bounds).expect("a plan");
        let mut rollups: BTreeMap<(&str, i64), i64> = BTreeMap::new();
        for (at, n) in events {
            *rollups.entry((Unit::Day.as_str(), day_start(*at))).or_default() += n;
            *rollups.entry((Unit::Month.as_str(), month_start(*at))).or_default() += n;
        }
        let mut sums = vec![0; bounds.len() - 1];
        for ((unit, start), n) in &rollups {
            let found = plan
                .pieces
                .iter()
                .filter(|p| p.unit.as_str() == *unit && p.from <= *start && *start < p.to)
                .collect::<Vec<_>>();
            assert!(found.len() <= 1, "roll-up {unit} {start} in two pieces");
            if let Some(p) = found.first() {
                sums[p.period] += n;
            }
        }
        for (at, n) in events {
            for w in plan.windows.iter().filter(|w| w.from <= *at && *at < w.to) {
                for (period, sign) in &w.effects {
                    sums[*period] += sign * n;
                }
            }
        }
        sums
    }

    fn directly(bounds: &[DateTime<Utc>], events: &[(DateTime<Utc>, i64)]) -> Vec<i64> {
        bounds
            .windows(2)
            .map(|b| events.iter().filter(|(at, _)| b[0] <= *at && *at < b[1]).map(|e| e.1).sum())
            .collect()
    }

    /// One event every 37 minutes from well before the first bound to well after the last.
    fn events(bounds: &[DateTime<Utc>]) -> Vec<(DateTime<Utc>, i64)> {
        let (first, last) = (bounds[0] - Duration::days(40), bounds[bounds.len() - 1]);
        let mut at = first;
        let mut out = Vec::new();
        let mut n = 1;
        while at < last + Duration::days(40) {
            out.push((at, n));
            at += Duration::minutes(37);
            n = n % 7 + 1;
        }
        out
    }

    #[test]
    fn periods_sum_as_the_raw_consumptions_in_every_offset() {
        // Local midnights of month, week and day buckets at offsets from −11 h to +14 h,
        // the half and quarter hours included, and a 23-hour and a 25-hour (DST) day.
        for offset_minutes in [0_i64, 60, -300, 330, 345, -210, 840, -660, 720, -720] {
            let offset = Duration::minutes(offset_minutes);
            let month = |y, m| Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).unwrap() - offset;
            let months: Vec<_> = (1..=12).map(|m| month(2025, m)).chain([month(2026, 1)]).collect();
            let weeks: Vec<_> = (0..10).map(|w| month(2025, 3) + Duration::days(7 * w)).collect();
            let mut days: Vec<_> = (0..5).map(|d| month(2025, 3) + Duration::days(d)).collect();
            days.push(days[4] + Duration::hours(23));
            days.push(days[5] + Duration::hours(25));
            let mid_month =
                vec![month(2025, 2) + Duration::days(9), month(2025, 6) + Duration::days(3)];
            for bounds in [months, weeks, days, mid_month] {
                assert_eq!(
                    through_plan(&bounds, &events(&bounds)),
                    directly(&bounds, &events(&bounds)),
                    "offset {offset_minutes} min, bounds {bounds:?}"
                );
            }
        }
    }

    #[test]
    fn a_utc_report_reads_months_and_days_only() {
        let bounds =
            [t("2025-01-15T00:00:00Z"), t("2025-02-01T00:00:00Z"), t("2025-05-01T00:00:00Z")];
        let plan = plan(&bounds).unwrap();
        assert!(plan.windows.is_empty());
        let day = |s: &str| t(s).timestamp();
        assert_eq!(
            plan.pieces,
            [
                Piece {
                    unit: Unit::Day,
                    from: day("2025-01-15T00:00:00Z"),
                    to: day("2025-02-01T00:00:00Z"),
                    period: 0
                },
                Piece {
                    unit: Unit::Month,
                    from: day("2025-02-01T00:00:00Z"),
                    to: day("2025-05-01T00:00:00Z"),
                    period: 1
                },
            ]
        );
        let runs = runs_of_unit(&plan, Unit::Day);
        assert_eq!(runs.iter().map(Vec::len).sum::<usize>(), 1);
        let ranges: Vec<_> = runs.iter().map(|r| (r[0].from, r[r.len() - 1].to)).collect();
        assert_eq!(ranges, [(day("2025-01-15T00:00:00Z"), day("2025-02-01T00:00:00Z"))]);
    }

    #[test]
    fn bounds_closer_than_a_day_or_too_few_have_no_plan() {
        assert_eq!(plan(&[t("2025-01-15T00:00:00Z")]), None);
        assert_eq!(plan(&[]), None);
        // Both bounds round up to the same midnight: their windows overlap.
        assert_eq!(
            plan(&[
                t("2025-01-15T13:00:00Z"),
                t("2025-01-15T14:00:00Z"),
                t("2025-01-17T00:00:00Z")
            ]),
            None
        );
    }
}
