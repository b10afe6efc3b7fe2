//! Targets for the files an operator edits: the holiday calendar.

use std::path::Path;

use chrono::{Datelike, NaiveDate};

use crate::domain::WorkCalendar;

/// One `config/holidays/*.toml`: the first line is the file name, the rest its contents
/// (input without a line break is the contents of `2024.toml`).
pub fn holiday_calendar(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (name, contents) = text.split_once('\n').unwrap_or(("2024.toml", text));
    let Ok(calendar) = WorkCalendar::from_files([(name.to_owned(), contents.to_owned())]) else {
        return;
    };
    // Accepted: the file is named for its year, and deadlines counted in it are consistent.
    let year: i32 = match Path::new(name).file_stem().and_then(|s| s.to_str()) {
        Some(stem) => match stem.parse() {
            Ok(year) => year,
            Err(_) => panic!("accepted a file not named for its year"),
        },
        None => panic!("accepted a file without a name"),
    };
    assert!(calendar.has_year(year));
    // Far from chrono's limits, where counting stops at the last representable day.
    if !(1..=9999).contains(&year) {
        return;
    }
    let Some(first) = NaiveDate::from_ymd_opt(year, 1, 1) else {
        return;
    };
    for start in first
        .iter_days()
        .step_by(37)
        .take_while(|d| d.year() == year)
    {
        for n in [0, 1, 3, 15, 60] {
            let due = calendar.add_working_days(start, n);
            assert_eq!(calendar.working_days_between(start, due), n);
            assert!(n == 0 || calendar.is_working_day(due));
            let cut = calendar.sub_working_days(due, n);
            for back in [0, 1, 2, 7] {
                let Some(day) = start.checked_sub_days(chrono::Days::new(back)) else {
                    continue;
                };
                assert_eq!(
                    calendar.add_working_days(day, n) < due,
                    day < cut,
                    "add and sub disagree"
                );
            }
        }
    }
}
