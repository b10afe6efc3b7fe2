//! No time of day for reporters: anonymous reports sent between real-name ones leave nothing
//! in the database, the logs or the mail that places them within their day.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Asia::Shanghai;
use regex::Regex;
use serde_json::json;
use tipoff::domain::Role;
use tipoff::services::cases;

use crate::helpers::reports::{next_ip, report_of, submit};
use crate::helpers::storage::stored_bytes;
use crate::helpers::{TestApp, code_in, logs};
use crate::on_both_backends;

on_both_backends!(nothing_places_an_anonymous_report_within_its_day);

/// The day of the reports, and the next one (the inspector asks, the reporters answer).
const DAY: &str = "2025-06-11";
const NEXT: &str = "2025-06-12";
/// Staff act in these half hours only; everything else a reporter did must be at midnight.
const STAFF_AT: [&str; 2] = ["2025-06-11 07:00", "2025-06-12 07:00"];
const STAFF_MINUTES: i64 = 30;
/// When the anonymous reporters report (Asia/Shanghai), and when they answer.
const ANONYMOUS_AT: [&str; 2] = ["09:13", "16:47"];

async fn nothing_places_an_anonymous_report_within_its_day(app: TestApp) {
    let metrics_before = metric_values(&app).await;
    app.set_clock(STAFF_AT[0]);
    let inspector = app.staff("shi.jc", "时监察", &[Role::Inspector]).await;

    // Real-name reports at 08:00, 12:00 and 18:00, anonymous ones at 09:13 and 16:47, each
    // mailed at once (the worst case: the worker's batch follows the report at once).
    let mut anonymous = Vec::new();
    let mut case_numbers = Vec::new();
    for (at, is_anonymous, by_form) in [
        ("08:00", false, false),
        ("09:13", true, true),
        ("12:00", false, true),
        ("16:47", true, false),
        ("18:00", false, false),
    ] {
        app.set_clock(&format!("{DAY} {at}"));
        let code = send_report(&app, is_anonymous, by_form).await;
        let report = report_of(&app, &code).await;
        assert_eq!(report.anonymous, is_anonymous);
        case_numbers.push(report.case_number.clone());
        if is_anonymous {
            anonymous.push((code, report));
        }
        assert!(app.run_outbox().await.sent > 0, "mailed at {at}");
    }

    // The next morning the inspector asks; at 09:13 one reporter answers through the page,
    // at 16:47 the other through the API.
    app.set_clock(STAFF_AT[1]);
    for (_, report) in &anonymous {
        cases::ask_reporter(
            app.on_case(&inspector, report.id, app.now()),
            "请问车牌号是多少？",
        )
        .await
        .unwrap();
    }
    app.run_outbox().await;
    for ((code, _), at) in anonymous.iter().zip(ANONYMOUS_AT) {
        app.set_clock(&format!("{NEXT} {at}"));
        let answer = "车牌号是苏A12345";
        let response = if at == ANONYMOUS_AT[0] {
            app.post_form(
                "/track/reply",
                &[("tracking_code", code.as_str()), ("text", answer)],
                &next_ip(),
            )
            .await
        } else {
            app.post_json(
                "/api/v1/track/reply",
                &json!({"tracking_code": code, "text": answer}),
                &next_ip(),
            )
            .await
        };
        assert_eq!(response.status(), 200, "answered at {at}");
        app.run_outbox().await;
    }

    // Every table (the SQLite files, WAL included, or every PostgreSQL row) and every mail.
    let mut stored = String::from_utf8_lossy(&stored_bytes(&app).await).into_owned();
    let mail = mail_files(&app);
    assert!(mail.len() >= 5, "the reports were mailed");
    for eml in &mail {
        assert!(eml.contains("Date: "), "{eml}");
        stored.push_str(eml);
    }
    let found = instants(&stored);
    assert!(
        found.iter().any(|at| local(at).date() == day(DAY)),
        "the scan reads the stored instants at all"
    );
    let placing: Vec<String> = found
        .iter()
        .filter(|at| places_within_a_day(at))
        .map(|at| format!("{at} ({} in Shanghai)", local(at)))
        .collect();
    assert!(
        placing.is_empty(),
        "instants finer than the day outside the staff's own hours: {placing:#?}"
    );
    for at in ANONYMOUS_AT {
        let utc = (NaiveDateTime::new(day(DAY), time(at)) - Duration::hours(8)).time();
        for clock in [at.to_string(), utc.format("%H:%M").to_string()] {
            assert!(!stored.contains(&clock), "{clock} is stored or mailed");
        }
    }
    for case_number in &case_numbers {
        assert!(stored.contains(case_number.as_str()), "mail names the case");
    }

    // The logs, at TRACE: no request line for a successful public submission or answer (of
    // any test in this run), and nothing naming the anonymous reports or their instants.
    let logged = logs().contents();
    for line in logged.lines() {
        let quiet = [
            "route=\"/report\"",
            "route=\"/api/v1/reports\"",
            "route=\"/track/reply\"",
            "route=\"/api/v1/track/reply\"",
        ];
        assert!(
            !(line.contains("method=POST") && quiet.iter().any(|r| line.contains(r))),
            "a public submission or answer is logged: {line}"
        );
    }
    for (code, report) in &anonymous {
        for secret in [code.replace(' ', ""), report.id.to_string()] {
            assert!(!logged.contains(&secret), "{secret} is logged");
        }
    }
    let logged_instants: Vec<_> = instants(&logged)
        .into_iter()
        .filter(places_within_a_day)
        .collect();
    assert!(logged_instants.is_empty(), "{logged_instants:?}");

    // They are counted instead.
    let metrics_after = metric_values(&app).await;
    for (name, more) in [
        ("tipoff_public_submissions_total", 5),
        ("tipoff_public_replies_total", 2),
    ] {
        assert_eq!(
            metrics_after.get(name).copied().unwrap_or_default()
                - metrics_before.get(name).copied().unwrap_or_default(),
            more,
            "{name}"
        );
    }
}

/// A report sent as a resident would: anonymous or with name and phone, through the form
/// (spending its token) or the API. Returns the tracking code.
async fn send_report(app: &TestApp, anonymous: bool, by_form: bool) -> String {
    let description = "村主任的亲戚开着小车还在吃低保";
    if by_form {
        let mut extra = vec![("subject", "王某，村主任")];
        if !anonymous {
            extra.extend([
                ("anonymous", "false"),
                ("reporter_name", "张三"),
                ("reporter_phone", "13900001111"),
            ]);
        }
        let receipt = app.submit_form(&extra, &next_ip()).await;
        assert_eq!(receipt.status(), 200);
        return code_in(&receipt.text().await.unwrap());
    }
    let mut body = json!({
        "category": "connection", "village": "dalu-community",
        "subject": "王某，村主任", "description": description, "anonymous": anonymous
    });
    if !anonymous {
        body["reporter"] = json!({"name": "李四", "phone": "13900002222"});
    }
    submit(app, body).await.code
}

/// The mail the file transport wrote, raw.
fn mail_files(app: &TestApp) -> Vec<String> {
    std::fs::read_dir(&app.state.settings.mail.file_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// The metric values the service exports, by name.
async fn metric_values(app: &TestApp) -> std::collections::HashMap<String, i64> {
    let text = app.get("/metrics").await.text().await.unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(name, value)| Some((name.to_string(), value.trim().parse().ok()?)))
        .collect()
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn time(text: &str) -> NaiveTime {
    NaiveTime::parse_from_str(text, "%H:%M").unwrap()
}

fn local(at: &DateTime<FixedOffset>) -> NaiveDateTime {
    at.with_timezone(&Shanghai).naive_local()
}

/// An instant of the test's two days (or the two after, where spent tokens run out) that is
/// not a midnight and not in the staff's hours: something that places a reporter in a day.
fn places_within_a_day(at: &DateTime<FixedOffset>) -> bool {
    let first = Shanghai
        .from_local_datetime(&day(DAY).and_time(NaiveTime::MIN))
        .unwrap();
    let in_test_days = *at >= first && *at < first + Duration::days(4);
    let midnight = local(at).time() == NaiveTime::MIN;
    let staff = STAFF_AT.iter().any(|start| {
        let start = Shanghai
            .from_local_datetime(&NaiveDateTime::parse_from_str(start, "%Y-%m-%d %H:%M").unwrap())
            .unwrap();
        // (`set_clock` may land a second early.)
        *at >= start - Duration::minutes(1) && *at < start + Duration::minutes(STAFF_MINUTES)
    });
    in_test_days && !midnight && !staff
}

/// Every instant written out in `text`: ISO 8601 and PostgreSQL's rendering (a date, `T` or
/// a space, a time, an offset), and mail's RFC 2822 dates. A time without an offset is read
/// both as UTC and as Shanghai time.
fn instants(text: &str) -> Vec<DateTime<FixedOffset>> {
    let iso = Regex::new(
        r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s?(Z|[+-]\d{2}(?::?\d{2})?)?",
    )
    .unwrap();
    let rfc2822 = Regex::new(
        r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}",
    )
    .unwrap();
    let utc = FixedOffset::east_opt(0).unwrap();
    let cst = FixedOffset::east_opt(8 * 3600).unwrap();
    let mut found = Vec::new();
    for c in iso.captures_iter(text) {
        let Ok(date) = NaiveDate::parse_from_str(&c[1], "%Y-%m-%d") else {
            continue;
        };
        let clock = &c[2];
        let Ok(clock) = NaiveTime::parse_from_str(clock, "%H:%M:%S%.f")
            .or_else(|_| NaiveTime::parse_from_str(clock, "%H:%M"))
        else {
            continue;
        };
        let naive = date.and_time(clock);
        let offsets = match c.get(3).map(|m| m.as_str()) {
            None => vec![utc, cst],
            Some("Z") => vec![utc],
            Some(offset) => {
                let digits: String = offset[1..].chars().filter(char::is_ascii_digit).collect();
                let hours: i32 = digits[..2].parse().unwrap();
                let minutes: i32 = digits.get(2..4).map_or(0, |m| m.parse().unwrap());
                let sign = if offset.starts_with('-') { -1 } else { 1 };
                vec![FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).unwrap()]
            }
        };
        for offset in offsets {
            found.extend(offset.from_local_datetime(&naive).single());
        }
    }
    for m in rfc2822.find_iter(text) {
        found.extend(DateTime::parse_from_rfc2822(m.as_str()).ok());
    }
    found
}
