//! Days in Asia/Shanghai: what a report keeps instead of a time, and what deadlines count.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

/// The day `at` falls on in Asia/Shanghai.
pub fn local_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Shanghai).date_naive()
}

/// Midnight at the start of `day` in Asia/Shanghai, as an instant. Should a midnight ever not
/// exist locally, China Standard Time (UTC+8) is used: never anything nearer the real time.
pub fn start_of(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    Shanghai
        .from_local_datetime(&midnight)
        .earliest()
        .map_or_else(
            || (midnight - Duration::hours(8)).and_utc(),
            |at| at.with_timezone(&Utc),
        )
}

/// Midnight (Asia/Shanghai) of the day `now` falls on: a reporter's own actions keep only this.
pub fn start_of_day(now: DateTime<Utc>) -> DateTime<Utc> {
    start_of(local_day(now))
}

/// The midnight (Asia/Shanghai) that ends the day `at` falls on, or `at` itself when it is
/// one: an expiry kept to the day, never earlier than the real one.
pub fn end_of_day(at: DateTime<Utc>) -> DateTime<Utc> {
    let start = start_of_day(at);
    if start == at {
        return at;
    }
    local_day(at).succ_opt().map_or(at, start_of)
}

/// An instant written as a UTC date and time to the second, for tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn utc(year: i32, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, min, sec)
        .single()
        .unwrap()
}

/// A day written `YYYY-MM-DD`, for tests.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_anonymous_answer_keeps_only_its_day_in_shanghai() {
        // 2026-03-02 23:30 in Shanghai is still 15:30 UTC on the same date.
        let now = utc(2026, 3, 2, 15, 30, 0);
        let day = start_of_day(now);
        assert_eq!(
            day,
            Utc.with_ymd_and_hms(2026, 3, 1, 16, 0, 0).single().unwrap()
        );
        assert_eq!(day.with_timezone(&Shanghai).time(), NaiveTime::MIN);
        // 00:30 in Shanghai on the 3rd is the previous day in UTC.
        let early = utc(2026, 3, 2, 16, 30, 0);
        assert_eq!(local_day(start_of_day(early)).to_string(), "2026-03-03");
    }

    #[test]
    fn a_spent_token_expires_at_the_midnight_after_its_expiry() {
        // 09:13 on the 12th in Shanghai (01:13 UTC) runs to midnight of the 13th.
        let expiry = "2025-06-12T01:13:05Z".parse::<DateTime<Utc>>().unwrap();
        let end = end_of_day(expiry);
        assert_eq!(
            end,
            "2025-06-12T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(end > expiry);
        assert_eq!(end_of_day(end), end, "a midnight is its own end");
    }

    #[test]
    fn an_intake_recusal_keeps_the_day_but_not_the_time() {
        let now = "2026-03-14T17:45:12Z".parse::<DateTime<Utc>>().unwrap();
        // 17:45 UTC is 01:45 on the 15th in Shanghai.
        assert_eq!(
            start_of_day(now),
            "2026-03-14T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }
}
