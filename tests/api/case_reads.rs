//! The case page's read log: one line per person per day, however often they reload; the
//! audit log still keeps every read.

use std::sync::atomic::Ordering;

use chrono::{Duration, Utc};
use tipoff::domain::Role;
use tipoff::services::audit;

use crate::helpers::TestApp;
use crate::helpers::reports::a_report;
use crate::on_both_backends;

on_both_backends!(the_read_log_shows_one_line_per_person_per_day);

/// The read log's lines on a case page.
fn read_lines(page: &str) -> Vec<String> {
    let start = page.find(r#"<ul class="reads">"#).expect("the read log");
    let end = start + page[start..].find("</ul>").unwrap();
    page[start..end]
        .split("<li>")
        .skip(1)
        .map(|line| line.trim_end_matches("</li>").to_string())
        .collect()
}

async fn the_read_log_shows_one_line_per_person_per_day(app: TestApp) {
    // 10:00 in Shanghai today, so that a few minutes later is still the same day.
    let now = Utc::now();
    let ten = now.date_naive().and_hms_opt(2, 0, 0).unwrap().and_utc();
    app.clock_offset
        .store((ten - now).num_seconds(), Ordering::SeqCst);
    app.create_staff("zheng", "郑主任", &[Role::Inspector], &[])
        .await;
    app.create_staff("wu", "吴敏", &[Role::Inspector], &[])
        .await;
    let (zheng, wu) = (app.sign_in("zheng").await, app.sign_in("wu").await);
    let case = a_report(&app).await.report;
    let path = format!("/staff/cases/{}", case.id);

    for _ in 0..3 {
        zheng.page(&path).await;
        app.advance(60);
    }
    wu.page(&path).await;
    let lines = read_lines(&zheng.page(&path).await);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let zheng_line = lines.iter().find(|l| l.contains("郑主任")).unwrap();
    assert!(zheng_line.contains("共 4 次"), "{zheng_line}");
    assert!(zheng_line.contains("10:00 至 10:03"), "{zheng_line}");
    assert!(
        !lines
            .iter()
            .find(|l| l.contains("吴敏"))
            .unwrap()
            .contains("次")
    );

    // The next day (signed in again: the session did not last the night) is a line of its
    // own.
    app.advance(Duration::days(1).num_seconds());
    let zheng = app.sign_in("zheng").await;
    let lines = read_lines(&zheng.page(&path).await);
    assert_eq!(lines.len(), 3, "{lines:?}");

    // The audit log keeps every read.
    let reads = audit::reads_of_case(app.db(), case.id).await.unwrap();
    assert_eq!(reads.len(), 6);
}
