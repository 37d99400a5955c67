//! Days as people give them: calendar days in `[console] timezone`, turned into the UTC
//! instants where they really begin and end (a day of a DST change lasts 23 or 25 hours).
//!
//! The register stores UTC; a search "from 30/11 to 06/12" by a French user means Paris
//! days, so that a night brigade's recording at 00:30 local time falls on its own day.

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::CommandError;

/// The UTC instant at which `day` begins in `tz`.
///
/// Midnight may not exist (a zone that moves its clocks at midnight): the day then begins
/// at its first local time that does; when midnight happens twice, at the first.
pub(crate) fn day_start(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    for minutes in (0..=180).step_by(15) {
        let local = day
            .and_hms_opt(0, 0, 0)
            .map(|t| t + chrono::Duration::minutes(minutes));
        if let Some(at) = local.and_then(|t| tz.from_local_datetime(&t).earliest()) {
            return at.with_timezone(&Utc);
        }
    }
    super::recordings::day_start(day)
}

/// `[from 00:00, the day after to 00:00)` in `tz`, as UTC instants; open ends reach the
/// register's first and last possible days.
pub(crate) fn local_period(
    tz: Tz,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), CommandError> {
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        return Err(CommandError::Invalid(format!(
            "the last day {to} is before the first day {from}: give the first day, then the last"
        )));
    }
    // format_time of chrono's MIN/MAX would carry a sign, which sorts before every
    // stored time: open ends are the year 1 and the end of 9999.
    let start = match from {
        Some(day) => day_start(tz, day),
        None => super::recordings::day_start(NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default()),
    };
    let end = match to.and_then(|d| d.checked_add_days(Days::new(1))) {
        Some(next) if next.year() < 10_000 => day_start(tz, next),
        _ => {
            super::recordings::day_start(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default())
        }
    };
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Paris;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_paris_week_in_winter_begins_and_ends_an_hour_before_utc_midnight() {
        let (start, end) =
            local_period(Paris, Some(day("2026-11-30")), Some(day("2026-12-06"))).unwrap();
        assert_eq!(start, utc("2026-11-29T23:00:00Z"));
        assert_eq!(end, utc("2026-12-06T23:00:00Z"));
        // The night brigade's recordings: 00:30 on the 30th is in, 00:30 on the 7th is out.
        assert!((start..end).contains(&utc("2026-11-29T23:30:00Z")));
        assert!(!(start..end).contains(&utc("2026-12-06T23:30:00Z")));
    }

    #[test]
    fn the_days_of_a_dst_change_last_23_and_25_hours() {
        let (start, end) =
            local_period(Paris, Some(day("2026-03-29")), Some(day("2026-03-29"))).unwrap();
        assert_eq!(start, utc("2026-03-28T23:00:00Z"));
        assert_eq!(end, utc("2026-03-29T22:00:00Z"));
        assert_eq!((end - start).num_hours(), 23);
        let (start, end) =
            local_period(Paris, Some(day("2026-10-25")), Some(day("2026-10-25"))).unwrap();
        assert_eq!(start, utc("2026-10-24T22:00:00Z"));
        assert_eq!(end, utc("2026-10-25T23:00:00Z"));
        assert_eq!((end - start).num_hours(), 25);
    }

    #[test]
    fn a_day_whose_midnight_does_not_exist_begins_at_its_first_hour() {
        // Santiago moved its clocks from 00:00 to 01:00 on 2022-09-11.
        let tz: Tz = "America/Santiago".parse().unwrap();
        assert_eq!(
            day_start(tz, day("2022-09-11")),
            utc("2022-09-11T04:00:00Z")
        );
    }

    #[test]
    fn open_ends_reach_the_registers_first_and_last_days_and_order_is_checked() {
        let (start, end) = local_period(Paris, None, None).unwrap();
        assert_eq!(start, utc("0001-01-01T00:00:00Z"));
        assert_eq!(end, utc("9999-12-31T00:00:00Z"));
        let err =
            local_period(Paris, Some(day("2026-12-06")), Some(day("2026-11-30"))).unwrap_err();
        assert!(err.to_string().contains("before the first day"), "{err}");
    }
}
