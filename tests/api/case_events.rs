//! Transfers and reports to the bureau carry the day they happened, as the inspector gives
//! it (often days later): today by default, never in the future nor before the report.

use chrono::Days;
use tipoff::domain::{Role, local_day};
use tipoff::entities::report_event;

use crate::helpers::TestApp;
use crate::helpers::reports::a_report;
use crate::helpers::storage::rows_where;
use crate::on_both_backends;

on_both_backends!(a_transfer_is_recorded_on_the_day_it_happened);

async fn a_transfer_is_recorded_on_the_day_it_happened(app: TestApp) {
    app.create_staff("zheng", "郑主任", &[Role::Inspector], &[])
        .await;
    let case = a_report(&app).await.report;
    let received = case.received_on;
    // Recorded three days later.
    app.advance(3 * 24 * 3600);
    let inspector = app.sign_in("zheng").await;
    let path = format!("/staff/cases/{}/events", case.id);
    let today = local_day(app.state.now());
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();

    let page = inspector.page(&format!("/staff/cases/{}", case.id)).await;
    assert!(
        page.contains(&format!(
            r#"name="on" value="{}" max="{}""#,
            day(today),
            day(today)
        )),
        "the form offers today, and no later"
    );

    for (on, reason) in [
        (day(today + Days::new(1)), "日期不能晚于今天"),
        (day(received - Days::new(1)), "日期不能早于收到举报的日期"),
        ("9月28日".to_string(), "日期格式应为"),
    ] {
        let refused = inspector
            .post(&path, &[("event", "transferred_discipline"), ("on", &on)])
            .await;
        assert_eq!(refused.status(), 422, "{on}");
        assert!(refused.text().await.unwrap().contains(reason), "{on}");
    }

    inspector
        .post_for(
            &path,
            &[
                ("event", "transferred_discipline"),
                ("on", &day(received + Days::new(1))),
                ("text", "移交街道纪检监察工作站"),
            ],
            303,
        )
        .await;
    inspector
        .post_for(&path, &[("event", "reported_bureau"), ("on", "")], 303)
        .await;

    let events = rows_where(&app, report_event::Column::ReportId, case.id).await;
    let on = |kind: &str| events.iter().find(|e| e.kind == kind).unwrap().happened_on;
    assert_eq!(on("transferred_discipline"), Some(received + Days::new(1)));
    assert_eq!(on("reported_bureau"), Some(today));

    let page = inspector.page(&format!("/staff/cases/{}", case.id)).await;
    let shown = format!("已移交纪律检查岗（{}）", day(received + Days::new(1)));
    assert!(page.contains(&shown), "{shown} in {page}");
}
