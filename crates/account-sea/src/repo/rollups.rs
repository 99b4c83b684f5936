//! Usage reports from `consumption_rollups`. A report's periods run from local midnight to
//! local midnight, which are seldom UTC midnights, so each period is read as the roll-ups
//! between the UTC midnights nearest its bounds, corrected by the raw consumptions between
//! each bound and its UTC midnight (at most 12 hours). With `C(t)` the consumption before
//! `t`, a bound `b` and its midnight `a`, `C(b) = C(a) ± raw[a, b)`, so a period
//! `[b₀, b₁)` sums to `rollups[a₀, a₁) + (C(b₁) − C(a₁)) − (C(b₀) − C(a₀))`: exact whatever
//! the zone, with raw reads only near the bounds. Between its midnights a period takes whole
//! UTC months where they fit and UTC days elsewhere; days that are most of their month are
//! read as the month less its other days (a month's roll-up is the sum of its days'), so a
//! report up to today reads this month's roll-up and today's days instead of the month so far.

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

/// Roll-up rows of `unit` whose start (Unix seconds) is in `[from, to)` count `sign` times
/// (1 or −1) in `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    pub unit: Unit,
    pub from: i64,
    pub to: i64,
    pub period: usize,
    pub sign: i64,
}

impl Piece {
    /// Whether the piece is one roll-up start (one day or one month): its rows are then one
    /// per spender, kind, data type and provider, with nothing to sum.
    pub(crate) fn is_single_start(&self) -> bool {
        match self.unit {
            Unit::Day => self.to - self.from == DAY_SECS,
            Unit::Month => next_month(self.from) == Some(self.to),
        }
    }
}

/// Raw consumptions in `[from, to)` count `sign` times in each listed period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub effects: Vec<(usize, i64)>,
}

/// How to read the periods between `bounds`: roll-up pieces (those of one unit and sign
/// disjoint), and raw windows ascending and disjoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub periods: usize,
    pub pieces: Vec<Piece>,
    pub windows: Vec<Window>,
}

impl Plan {
    /// The label that rows of `piece` carry in the sums query: `period` for the pieces that
    /// add, `periods + period` for those that subtract.
    pub(crate) fn piece_label(&self, piece: &Piece) -> i64 {
        let label = if piece.sign < 0 { self.periods + piece.period } else { piece.period };
        i64::try_from(label).unwrap_or(i64::MAX)
    }

    /// The label that rows of window `w` carry in the sums query: −1, −2, ….
    pub(crate) fn window_label(w: usize) -> i64 {
        -1 - i64::try_from(w).unwrap_or(i64::MAX - 1)
    }

    /// The periods, each with its sign, that a summed row labelled `label` counts in; `None`
    /// for a label the plan never gives.
    pub(crate) fn effects(&self, label: i64) -> Option<Vec<(usize, i64)>> {
        match usize::try_from(label) {
            Ok(l) if l < self.periods => Some(vec![(l, 1)]),
            Ok(l) if l < 2 * self.periods => Some(vec![(l - self.periods, -1)]),
            Ok(_) => None,
            Err(_) => {
                let w = usize::try_from(-1 - label).ok()?;
                Some(self.windows.get(w)?.effects.clone())
            }
        }
    }
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
    let first_month = month_at_or_after(from)?;
    let mut month_end = first_month;
    while let Some(next) = next_month(month_end).filter(|n| *n <= to) {
        month_end = next;
    }
    if month_end == first_month {
        // No whole month: the days, split where a month begins.
        let split = first_month.min(to).max(from);
        days_of_one_month(from, split, period, out)?;
        days_of_one_month(split, to, period, out)
    } else {
        days_of_one_month(from, first_month, period, out)?;
        out.push(Piece { unit: Unit::Month, from: first_month, to: month_end, period, sign: 1 });
        days_of_one_month(month_end, to, period, out)
    }
}

/// The UTC midnights `[from, to)`, all in one UTC month, as day pieces; or, when that reads
/// fewer roll-up starts (counting the month as one), as the month less its other days.
fn days_of_one_month(from: i64, to: i64, period: usize, out: &mut Vec<Piece>) -> Option<()> {
    if from >= to {
        return Some(());
    }
    let month = month_start(instant(from)?);
    let month_end = next_month(month)?;
    let inside = (to - from) / DAY_SECS;
    let outside = (from - month + month_end - to) / DAY_SECS;
    let mut push = |unit, from, to, sign| {
        if from < to {
            out.push(Piece { unit, from, to, period, sign });
        }
    };
    if 1 + outside < inside {
        push(Unit::Month, month, month_end, 1);
        push(Unit::Day, month, from, -1);
        push(Unit::Day, to, month_end, -1);
    } else {
        push(Unit::Day, from, to, 1);
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
    Some(Plan { periods, pieces, windows })
}

/// The pieces of one unit and sign, ascending, in runs of contiguous pieces: each run's
/// starts are one range, from its first piece's `from` to its last piece's `to`.
pub(crate) fn runs_of(plan: &Plan, unit: Unit, sign: i64) -> Vec<Vec<Piece>> {
    let mut pieces: Vec<Piece> =
        plan.pieces.iter().filter(|p| p.unit == unit && p.sign == sign).copied().collect();
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
            for sign in [1, -1] {
                let found = plan
                    .pieces
                    .iter()
                    .filter(|p| p.unit.as_str() == *unit && p.from <= *start && *start < p.to)
                    .filter(|p| p.sign == sign)
                    .collect::<Vec<_>>();
                assert!(found.len() <= 1, "roll-up {unit} {start} in two pieces of sign {sign}");
                if let Some(p) = found.first() {
                    sums[p.period] += sign * n;
                }
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

    fn day(s: &str) -> i64 {
        t(&format!("{s}T00:00:00Z")).timestamp()
    }

    fn piece(unit: Unit, from: &str, to: &str, period: usize, sign: i64) -> Piece {
        Piece { unit, from: day(from), to: day(to), period, sign }
    }

    #[test]
    fn a_utc_report_reads_months_and_days_only() {
        let bounds =
            [t("2025-01-20T00:00:00Z"), t("2025-02-01T00:00:00Z"), t("2025-05-01T00:00:00Z")];
        let plan = plan(&bounds).unwrap();
        assert!(plan.windows.is_empty());
        assert_eq!(
            plan.pieces,
            [
                piece(Unit::Day, "2025-01-20", "2025-02-01", 0, 1),
                piece(Unit::Month, "2025-02-01", "2025-05-01", 1, 1),
            ]
        );
        let runs = runs_of(&plan, Unit::Day, 1);
        assert_eq!(runs.iter().map(Vec::len).sum::<usize>(), 1);
        let ranges: Vec<_> = runs.iter().map(|r| (r[0].from, r[r.len() - 1].to)).collect();
        assert_eq!(ranges, [(day("2025-01-20"), day("2025-02-01"))]);
        assert!(runs_of(&plan, Unit::Day, -1).is_empty());
    }

    #[test]
    fn days_that_are_most_of_their_month_are_the_month_less_the_others() {
        // A year by month up to 24 November: the first period is a week of days, the last
        // is November's roll-up less its last week (future days but today's have no rows).
        let mut bounds = vec![t("2025-11-24T00:00:00Z")];
        bounds.extend((0..12).map(|m| {
            let (y, m) = if m == 0 { (2025, 12) } else { (2026, m) };
            Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).unwrap()
        }));
        bounds.push(t("2026-11-24T00:00:00Z"));
        let plan = plan(&bounds).unwrap();
        assert_eq!(plan.periods, 13);
        assert_eq!(plan.pieces.first(), Some(&piece(Unit::Day, "2025-11-24", "2025-12-01", 0, 1)));
        assert_eq!(
            plan.pieces[plan.pieces.len() - 2..],
            [
                piece(Unit::Month, "2026-11-01", "2026-12-01", 12, 1),
                piece(Unit::Day, "2026-11-24", "2026-12-01", 12, -1),
            ]
        );
        // The months are one run of single months, each its own period: nothing to sum.
        let months = runs_of(&plan, Unit::Month, 1);
        assert_eq!(months.len(), 1);
        assert_eq!(months[0].len(), 12);
        assert!(months[0].iter().all(Piece::is_single_start));
        assert!(!plan.pieces[0].is_single_start());
        // Labels: a period's own, past the periods for what it subtracts, below zero for
        // the raw windows; and back.
        let last = plan.pieces[plan.pieces.len() - 1];
        assert_eq!(plan.piece_label(&last), 25);
        assert_eq!(plan.effects(25), Some(vec![(12, -1)]));
        assert_eq!(plan.effects(12), Some(vec![(12, 1)]));
        assert_eq!(plan.effects(26), None);
        assert_eq!(plan.effects(Plan::window_label(0)), None);
        assert_eq!(through_plan(&bounds, &events(&bounds)), directly(&bounds, &events(&bounds)));
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
