//! The weekly usage digest's schedule, the one thing a member schedules: it keeps the time
//! zone it was scheduled in, so a later time-zone change applies only from the next one on
//! (rule 19).

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};

use super::timezone::Timezone;
use crate::ids::MemberId;

/// A scheduled digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledDigest {
    /// Who receives it.
    pub member_id: MemberId,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// The zone it was scheduled in.
    pub timezone: Timezone,
}

/// The first Monday 08:00 in `tz` strictly after `after`.
#[must_use]
pub fn next_monday_morning(after: DateTime<Utc>, tz: Timezone) -> DateTime<Utc> {
    let zone = tz.tz();
    let local = after.with_timezone(&zone).date_naive();
    let eight = NaiveTime::from_hms_opt(8, 0, 0).unwrap_or(NaiveTime::MIN);
    let days_to_monday = (7 - local.weekday().num_days_from_monday()) % 7;
    let mut day = local + Duration::days(i64::from(days_to_monday));
    loop {
        // 08:00 exists in every zone's Mondays; `earliest` also covers an ambiguous hour.
        if let Some(at) = zone.from_local_datetime(&day.and_time(eight)).earliest() {
            let at = at.with_timezone(&Utc);
            if at > after && day.weekday() == Weekday::Mon {
                return at;
            }
        }
        day += Duration::days(7);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_monday_is_in_the_given_zone() {
        // Wednesday 2026-11-25 12:00 UTC.
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let stockholm = next_monday_morning(now, Timezone::parse("Europe/Stockholm").unwrap());
        assert_eq!(stockholm, Utc.with_ymd_and_hms(2026, 11, 30, 7, 0, 0).unwrap());
        let ny = next_monday_morning(now, Timezone::parse("America/New_York").unwrap());
        assert_eq!(ny, Utc.with_ymd_and_hms(2026, 11, 30, 13, 0, 0).unwrap());
        // On Monday after 08:00 local, the next one is a week later.
        let monday_noon = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        assert_eq!(
            next_monday_morning(monday_noon, Timezone::UTC),
            Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap()
        );
    }
}
