//! Working days in mainland China: weekends, public holidays and their make-up working days (调休).

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("holiday calendar: cannot read the directory {dir}: {source}")]
    Dir { dir: String, source: std::io::Error },
    /// Names the file and, where there is one, the offending date.
    #[error("holiday calendar {file}: {reason}")]
    File { file: String, reason: String },
}

/// One year's official schedule as written in `config/holidays/{year}.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
}

/// Which days are working days. Years with a schedule follow it; any other year falls back to
/// Monday to Friday, which is wrong around its holidays, so startup warns when the current
/// year has no schedule.
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    years: BTreeSet<i32>,
    holidays: HashSet<NaiveDate>,
    /// Saturdays and Sundays worked to make up for a holiday.
    workdays: HashSet<NaiveDate>,
}

impl WorkCalendar {
    /// No schedules at all: Monday to Friday are the working days.
    pub fn weekdays_only() -> WorkCalendar {
        WorkCalendar::default()
    }

    /// Reads every `*.toml` in `dir`; each must be named for its year (`2024.toml`). Other
    /// files (a README) are ignored. Any fault refuses the whole calendar: a deadline counted
    /// on a half-read schedule would be silently wrong.
    pub fn load(dir: &Path) -> Result<WorkCalendar, CalendarError> {
        let dir_error = |source| CalendarError::Dir {
            dir: dir.display().to_string(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(dir_error)? {
            let path = entry.map_err(dir_error)?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                paths.push(path);
            }
        }
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| CalendarError::File {
                file: path.display().to_string(),
                reason: e.to_string(),
            })?;
            files.push((path.display().to_string(), text));
        }
        WorkCalendar::from_files(files)
    }

    /// Builds the calendar from `(file name, contents)` pairs, validated as `load` does.
    pub fn from_files(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<WorkCalendar, CalendarError> {
        let mut calendar = WorkCalendar::default();
        for (file, text) in files {
            let refuse = |reason: String| CalendarError::File {
                file: file.clone(),
                reason,
            };
            let parsed: YearFile = toml::from_str(&text).map_err(|e| refuse(e.to_string()))?;
            let year = parsed.year;
            let stem = Path::new(&file)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if stem.parse::<i32>().ok() != Some(year) {
                return Err(refuse(format!(
                    "the file says year = {year} but is not named {year}.toml"
                )));
            }
            if !calendar.years.insert(year) {
                return Err(refuse(format!("a second schedule for {year}")));
            }
            let holidays = dates_of(&parsed.holidays, year).map_err(refuse)?;
            let workdays = dates_of(&parsed.workdays, year).map_err(refuse)?;
            for day in &workdays {
                if holidays.contains(day) {
                    return Err(refuse(format!(
                        "{day} is listed both as a holiday and as a working day"
                    )));
                }
                if !is_weekend(*day) {
                    return Err(refuse(format!(
                        "{day} is a {}: only a Saturday or Sunday can be a make-up working day",
                        day.weekday()
                    )));
                }
            }
            calendar.holidays.extend(holidays);
            calendar.workdays.extend(workdays);
        }
        Ok(calendar)
    }

    /// Whether `year` has an official schedule here (otherwise Monday to Friday is assumed).
    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.holidays.contains(&day) {
            false
        } else {
            self.workdays.contains(&day) || !is_weekend(day)
        }
    }

    /// The `n`-th working day after `start`. Counting starts the day after `start`, as Chinese
    /// administrative deadlines do (the day something arrives is not counted), so a report
    /// received on a Friday with 1 working day to accept is due on Monday; `start` itself may
    /// be a holiday. `n = 0` is `start`.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        self.step_working_days(start, n, NaiveDate::succ_opt)
    }

    /// The `n`-th working day before `end` (`n = 0` is `end`). It inverts `add_working_days`
    /// for comparisons: `add_working_days(d, n) < end` exactly when
    /// `d < sub_working_days(end, n)`, which lets "overdue" be a date comparison in SQL.
    pub fn sub_working_days(&self, end: NaiveDate, n: u32) -> NaiveDate {
        self.step_working_days(end, n, NaiveDate::pred_opt)
    }

    /// The `n`-th working day from `from`, one `step` (a day later or earlier) at a time;
    /// the last representable day where the dates run out.
    fn step_working_days(
        &self,
        from: NaiveDate,
        n: u32,
        step: fn(&NaiveDate) -> Option<NaiveDate>,
    ) -> NaiveDate {
        let mut day = from;
        let mut left = n;
        while left > 0 {
            let Some(next) = step(&day) else {
                return day;
            };
            day = next;
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// Working days after `from` up to and including `to`, by the same counting rule as
    /// `add_working_days` (so `working_days_between(s, add_working_days(s, n)) == n`); 0 when
    /// `to` is not after `from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|day| *day <= to)
            .filter(|day| self.is_working_day(*day))
            .fold(0u32, |n, _| n.saturating_add(1))
    }
}

fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

fn dates_of(texts: &[String], year: i32) -> Result<Vec<NaiveDate>, String> {
    texts
        .iter()
        .map(|text| {
            let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .map_err(|_| format!("'{text}' is not a date (YYYY-MM-DD)"))?;
            if day.year() == year {
                Ok(day)
            } else {
                Err(format!("{day} is not in {year}"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::day as d;

    /// The schedules shipped in config/holidays.
    fn shipped() -> WorkCalendar {
        WorkCalendar::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/holidays")).unwrap()
    }

    fn file(name: &str, text: &str) -> Result<WorkCalendar, CalendarError> {
        WorkCalendar::from_files([(name.to_string(), text.to_string())])
    }

    fn refusal(result: Result<WorkCalendar, CalendarError>) -> String {
        match result {
            Ok(_) => panic!("the calendar was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_national_day_week_of_2024_and_its_make_up_days() {
        let cal = shipped();
        // Sat 28 Sep off; Sun 29 Sep and Mon 30 Sep worked; 1–7 Oct off; Sat 12 Oct worked.
        assert!(!cal.is_working_day(d("2024-09-28")));
        assert!(cal.is_working_day(d("2024-09-29")));
        assert!(cal.is_working_day(d("2024-09-30")));
        for day in d("2024-10-01").iter_days().take(7) {
            assert!(!cal.is_working_day(day), "{day} is off");
        }
        assert!(cal.is_working_day(d("2024-10-08")));
        assert!(cal.is_working_day(d("2024-10-12")));
        assert!(!cal.is_working_day(d("2024-10-13")));

        // From Fri 27 Sep: Sun 29 Sep (1), Mon 30 Sep (2), then Tue 8 Oct (3).
        assert_eq!(cal.add_working_days(d("2024-09-27"), 1), d("2024-09-29"));
        assert_eq!(cal.add_working_days(d("2024-09-27"), 2), d("2024-09-30"));
        assert_eq!(cal.add_working_days(d("2024-09-27"), 3), d("2024-10-08"));
        // Received on a holiday: 8, 9, 10 Oct.
        assert_eq!(cal.add_working_days(d("2024-10-03"), 3), d("2024-10-10"));
        // From Fri 11 Oct: Sat 12 Oct is worked, so 15 working days end on 31 Oct, not 1 Nov.
        assert_eq!(cal.add_working_days(d("2024-10-11"), 1), d("2024-10-12"));
        assert_eq!(cal.add_working_days(d("2024-10-11"), 15), d("2024-10-31"));
        assert_eq!(
            cal.working_days_between(d("2024-09-27"), d("2024-10-12")),
            7
        );
        assert_eq!(
            cal.working_days_between(d("2024-09-30"), d("2024-10-07")),
            0
        );
        // Without the schedule the same week is plain Monday to Friday.
        let plain = WorkCalendar::weekdays_only();
        assert_eq!(plain.add_working_days(d("2024-09-27"), 3), d("2024-10-02"));
    }

    #[test]
    fn counting_crosses_into_2025_where_new_years_day_is_off() {
        let cal = shipped();
        assert!(!cal.is_working_day(d("2025-01-01")));
        // Tue 31 Dec 2024: Thu 2 Jan (1), Fri 3 Jan (2), Mon 6 Jan (3).
        assert_eq!(cal.add_working_days(d("2024-12-31"), 1), d("2025-01-02"));
        assert_eq!(cal.add_working_days(d("2024-12-31"), 3), d("2025-01-06"));
        assert_eq!(
            cal.working_days_between(d("2024-12-30"), d("2025-01-02")),
            2
        );
        // Spring Festival 2025: Sun 26 Jan worked, 28 Jan – 4 Feb off, Sat 8 Feb worked.
        assert_eq!(cal.add_working_days(d("2025-01-24"), 1), d("2025-01-26"));
        assert_eq!(cal.add_working_days(d("2025-01-27"), 1), d("2025-02-05"));
        assert_eq!(cal.add_working_days(d("2025-02-07"), 1), d("2025-02-08"));
    }

    #[test]
    fn a_year_without_a_schedule_counts_monday_to_friday() {
        let cal = shipped();
        assert!(!cal.has_year(2031));
        assert!(cal.has_year(2024) && cal.has_year(2025));
        // 1 Jan 2031 is a Wednesday: nothing is known about its holidays, so it is worked.
        assert!(cal.is_working_day(d("2031-01-01")));
        // Tue 31 Dec 2030 → Wed 1 Jan 2031; Thu 2 Jan + 2 → Fri 3 Jan, Mon 6 Jan.
        assert_eq!(cal.add_working_days(d("2030-12-31"), 1), d("2031-01-01"));
        assert_eq!(cal.add_working_days(d("2031-01-02"), 2), d("2031-01-06"));
        assert_eq!(
            cal.working_days_between(d("2031-01-03"), d("2031-01-10")),
            5
        );
        assert_eq!(
            cal.working_days_between(d("2031-01-10"), d("2031-01-03")),
            0
        );
    }

    #[test]
    fn sub_working_days_inverts_add_working_days() {
        let cal = shipped();
        let start = d("2024-09-01");
        for offset in 0..120 {
            let end = start + chrono::Duration::days(offset);
            for n in [0, 1, 3, 15] {
                let cut = cal.sub_working_days(end, n);
                for back in 0..40 {
                    let day = end - chrono::Duration::days(back);
                    assert_eq!(
                        cal.add_working_days(day, n) < end,
                        day < cut,
                        "n = {n}, start {day}, end {end}"
                    );
                }
            }
        }
        assert_eq!(cal.sub_working_days(d("2024-10-08"), 1), d("2024-09-30"));
    }

    #[test]
    fn a_date_from_another_year_is_refused_naming_file_and_date() {
        let message = refusal(file(
            "config/holidays/2024.toml",
            "year = 2024\nholidays = [\"2024-01-01\", \"2025-01-01\"]\n",
        ));
        assert!(message.contains("config/holidays/2024.toml"), "{message}");
        assert!(message.contains("2025-01-01 is not in 2024"), "{message}");
    }

    #[test]
    fn broken_schedules_are_refused() {
        let both = refusal(file(
            "2024.toml",
            "year = 2024\nholidays = [\"2024-10-12\"]\nworkdays = [\"2024-10-12\"]\n",
        ));
        assert!(both.contains("2024-10-12 is listed both"), "{both}");
        let weekday = refusal(file(
            "2024.toml",
            "year = 2024\nholidays = []\nworkdays = [\"2024-10-08\"]\n",
        ));
        assert!(weekday.contains("2024-10-08 is a Tue"), "{weekday}");
        let not_a_date = refusal(file(
            "2024.toml",
            "year = 2024\nholidays = [\"2024-13-01\"]\n",
        ));
        assert!(
            not_a_date.contains("'2024-13-01' is not a date"),
            "{not_a_date}"
        );
        let misnamed = refusal(file("holidays.toml", "year = 2024\nholidays = []\n"));
        assert!(misnamed.contains("holidays.toml"), "{misnamed}");
        let unknown_key = refusal(file("2024.toml", "year = 2024\nholiday = []\n"));
        assert!(unknown_key.contains("2024.toml"), "{unknown_key}");
        let not_toml = refusal(file("2024.toml", "year = \n"));
        assert!(
            not_toml.starts_with("holiday calendar 2024.toml"),
            "{not_toml}"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        type Schedule = (i32, BTreeSet<NaiveDate>, BTreeSet<NaiveDate>);

        prop_compose! {
            /// A well-formed schedule: some days off, and some weekend days worked that are
            /// not also days off.
            fn schedule()(
                year in 2000i32..2100,
                off in prop::collection::btree_set(0u64..366, 0..40),
                worked in prop::collection::btree_set(0u64..366, 0..20),
            ) -> Schedule {
                let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
                let in_year = |n: &u64| {
                    first
                        .checked_add_days(chrono::Days::new(*n))
                        .filter(|d| d.year() == year)
                };
                let off: BTreeSet<NaiveDate> = off.iter().filter_map(in_year).collect();
                let worked = worked
                    .iter()
                    .filter_map(in_year)
                    .filter(|d| is_weekend(*d) && !off.contains(d))
                    .collect();
                (year, off, worked)
            }
        }

        fn calendar_of((year, off, worked): &Schedule) -> WorkCalendar {
            let list = |days: &BTreeSet<NaiveDate>| {
                days.iter()
                    .map(|d| format!("\"{d}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let text = format!(
                "year = {year}\nholidays = [{}]\nworkdays = [{}]\n",
                list(off),
                list(worked)
            );
            WorkCalendar::from_files([(format!("config/holidays/{year}.toml"), text)]).unwrap()
        }

        proptest! {
            #[test]
            fn arbitrary_files_never_panic(name in any::<String>(), text in any::<String>()) {
                let _ = WorkCalendar::from_files([(name, text)]);
            }

            #[test]
            fn toml_shaped_files_never_panic(
                year in prop_oneof![Just("2024".to_string()), "-?[0-9]{1,12}"],
                dates in prop::collection::vec(
                    "[+-]?[0-9]{1,7}-[0-9]{1,3}-[0-9]{1,3}|.{0,12}",
                    0..4,
                ),
            ) {
                let list: Vec<String> = dates.iter().map(|d| format!("{d:?}")).collect();
                let list = list.join(", ");
                let text = format!("year = {year}\nholidays = [{list}]\nworkdays = [{list}]\n");
                let _ = WorkCalendar::from_files([(format!("{year}.toml"), text)]);
            }

            #[test]
            fn a_well_formed_schedule_is_followed_to_the_day(schedule in schedule()) {
                let calendar = calendar_of(&schedule);
                let (year, off, worked) = schedule;
                prop_assert!(calendar.has_year(year));
                let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
                for day in first.iter_days().take_while(|d| d.year() == year) {
                    let expected =
                        !off.contains(&day) && (worked.contains(&day) || !is_weekend(day));
                    prop_assert_eq!(calendar.is_working_day(day), expected, "{}", day);
                }
            }

            #[test]
            fn counting_forward_then_between_gives_back_n(
                schedule in schedule(),
                start in 0u64..366,
                n in 0u32..80,
            ) {
                let calendar = calendar_of(&schedule);
                let first = NaiveDate::from_ymd_opt(schedule.0, 1, 1).unwrap();
                let start = first + chrono::Days::new(start);
                let due = calendar.add_working_days(start, n);
                prop_assert_eq!(calendar.working_days_between(start, due), n);
                prop_assert!(n == 0 || calendar.is_working_day(due));
            }
        }
    }

    #[test]
    fn the_shipped_schedules_have_the_official_number_of_days_off() {
        let cal = shipped();
        // Weekdays off minus weekend days worked = statutory holidays: 11 in 2024, 13 from 2025.
        for (year, statutory) in [(2024, 11), (2025, 13), (2026, 13)] {
            let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
            let days = first.iter_days().take_while(|d| d.year() == year);
            let (mut weekdays_off, mut weekends_worked) = (0, 0);
            for day in days {
                if !is_weekend(day) && !cal.is_working_day(day) {
                    weekdays_off += 1;
                }
                if is_weekend(day) && cal.is_working_day(day) {
                    weekends_worked += 1;
                }
            }
            assert_eq!(weekdays_off - weekends_worked, statutory, "{year}");
        }
    }
}
