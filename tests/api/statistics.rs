//! The statistics page: exact figures for a chosen period, for inspectors, counted from the
//! cases the test itself worked (channels, findings, transfers, rectification, working days
//! over the Mid-Autumn holiday), a recused case left out, each chart beside its table.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use tipoff::domain::Role;
use tipoff::entities::report;
use tipoff::services::recusal;

use crate::helpers::TestApp;
use crate::helpers::reports::submit;
use crate::on_both_backends;

on_both_backends!(the_statistics_count_what_the_office_did_in_the_period);

/// The value of the headline figure `id` on the page.
fn figure(page: &str, id: &str) -> String {
    let at = page
        .find(&format!("id=\"fig-{id}\""))
        .unwrap_or_else(|| panic!("figure {id} in {page}"));
    let rest = &page[at..];
    let start = rest.find("<dd>").unwrap() + 4;
    let end = rest.find("</dd>").unwrap();
    rest[start..end].to_string()
}

/// The rows of the table of section `id`, as (label, value).
fn table(page: &str, id: &str) -> Vec<(String, String)> {
    let at = page
        .find(&format!("<section class=\"chart-section\" id=\"{id}\""))
        .unwrap();
    let section = &page[at..at + page[at..].find("</section>").unwrap()];
    section
        .split("<tr><th scope=\"row\">")
        .skip(1)
        .map(|row| {
            let (label, rest) = row.split_once("</th><td>").unwrap();
            let value = rest.split_once("</td>").unwrap().0;
            (label.to_string(), value.to_string())
        })
        .collect()
}

async fn the_statistics_count_what_the_office_did_in_the_period(app: TestApp) {
    // Mon 2 Sep 2024: two reports through the API, a hotline call the next day.
    app.set_clock("2024-09-02 10:00");
    let li_id = app
        .create_staff("li.jc", "李监察", &[Role::Inspector], &[])
        .await;
    let wang = app.staff("wang.jc", "王监察", &[Role::Inspector]).await;
    let web = |category: &str, village: &str| {
        json!({
            "category": category,
            "village": village,
            "description": "村干部给亲戚违规办理低保",
            "anonymous": true
        })
    };
    let found = submit(&app, web("favor", "qingshan-village")).await.report;
    let waiting = submit(&app, web("connection", "xinmin-village"))
        .await
        .report;
    app.set_clock("2024-09-03 10:00");
    let operator = app.signed_in("hua", "话务员小华", Role::Operator).await;
    assert_eq!(
        operator
            .enter_hotline_call("电话反映低保评议不公开")
            .await
            .status(),
        200
    );
    // After the period: not counted.
    app.set_clock("2024-10-08 10:00");
    submit(&app, web("policy", "qingshan-village")).await;

    // Accepted on Wed 4 Sep (two working days), concluded Tue 10 Sep (four more).
    app.set_clock("2024-09-04 10:00");
    let li = app.sign_in("li.jc").await;
    li.work_case(found.id, &[("status", &[("transition", "accept")])])
        .await;
    li.work_case(waiting.id, &[("status", &[("transition", "accept")])])
        .await;
    let hotline = report::Entity::find()
        .filter(report::Column::Channel.eq("hotline"))
        .one(app.db())
        .await
        .unwrap()
        .expect("the hotline case")
        .id;
    li.work_case(
        hotline,
        &[(
            "status",
            &[("transition", "not_accept"), ("text", "不属于救助领域")],
        )],
    )
    .await;
    app.set_clock("2024-09-10 10:00");
    let li = app.sign_in("li.jc").await;
    li.work_case(
        found.id,
        &[
            ("status", &[("transition", "start_verifying")]),
            (
                "status",
                &[
                    ("transition", "conclude"),
                    ("outcome", "substantiated"),
                    ("text", "属实"),
                ],
            ),
            (
                "events",
                &[("event", "transferred_discipline"), ("on", "2024-09-10")],
            ),
            (
                "rectification",
                &[
                    ("measure", "追回资金"),
                    ("responsible", "民政事务岗"),
                    ("due", "2024-09-20"),
                ],
            ),
            (
                "rectification/results",
                &[
                    ("measure", "1"),
                    ("kind", "funds_recovered"),
                    ("on", "2024-09-10"),
                    ("amount", "3600"),
                ],
            ),
            (
                "rectification/results",
                &[
                    ("measure", "1"),
                    ("kind", "admonition"),
                    ("on", "2024-09-10"),
                    ("count", "2"),
                ],
            ),
        ],
    )
    .await;
    recusal::recuse_manually(
        app.db(),
        &app.state.keyring,
        waiting.id,
        wang.user_id,
        li_id,
        "王监察是被反映人的亲属",
        app.now(),
    )
    .await
    .unwrap();

    // Mon 30 Sep: the waiting case is past its 15 working days to verify; the measure
    // was due on the 20th.
    app.set_clock("2024-09-30 10:00");
    let li = app.sign_in("li.jc").await;
    let page = li
        .page("/staff/statistics?lang=zh&from=2024-09-01&to=2024-09-30")
        .await;
    for (id, value) in [
        ("received", "3"),
        ("accepted", "2"),
        ("not_accepted", "1"),
        ("concluded", "1"),
        ("transferred", "1"),
        ("reported", "0"),
        ("measures", "0/1"),
        ("measures_overdue", "1"),
        ("funds", "3,600.00"),
        ("people", "2"),
        ("overdue_now", "1"),
        ("to_accept", "中位数 2，90% 在 2 以内（2 件）"),
        ("to_conclude", "中位数 4，90% 在 4 以内（1 件）"),
    ] {
        assert_eq!(figure(&page, id), value, "{id}");
    }
    assert_eq!(
        table(&page, "channels"),
        [
            ("系统对接".to_string(), "2".to_string()),
            ("监督电话".to_string(), "1".to_string())
        ]
    );
    let weekly = table(&page, "weekly");
    assert_eq!(weekly.len(), 6, "every week the period touches: {weekly:?}");
    assert_eq!(weekly[1], ("2024-09-02".to_string(), "3".to_string()));
    assert!(
        weekly
            .iter()
            .filter(|(w, _)| w != "2024-09-02")
            .all(|(_, n)| n == "0")
    );
    let findings = table(&page, "findings");
    assert_eq!(findings[0], ("属实".to_string(), "1".to_string()));
    let results = table(&page, "results");
    assert!(
        results.contains(&("追回资金".to_string(), "1 · 3,600.00 元".to_string())),
        "{results:?}"
    );
    assert!(results.contains(&("诫勉谈话".to_string(), "2".to_string())));
    let villages = table(&page, "villages");
    assert!(
        villages.contains(&("未说明村（社区）".to_string(), "1".to_string())),
        "{villages:?}"
    );
    assert_eq!(
        page.matches("<svg class=\"chart\" aria-hidden=\"true\"")
            .count(),
        7
    );
    assert!(!page.contains("村干部给亲戚"), "no content on the page");

    // A recused inspector's figures leave the case out.
    let wang = app.sign_in("wang.jc").await;
    let theirs = wang
        .page("/staff/statistics?from=2024-09-01&to=2024-09-30")
        .await;
    assert_eq!(figure(&theirs, "received"), "2");
    assert_eq!(figure(&theirs, "overdue_now"), "0");

    // A period that runs backwards is refused, the dates typed shown again.
    let refused = li
        .get("/staff/statistics?lang=zh&from=2024-09-30&to=2024-09-01")
        .await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("截止日期不能早于起始日期"));
    assert!(refused.contains("value=\"2024-09-30\""));
    let garbled = li.get("/staff/statistics?from=9月1日").await;
    assert_eq!(garbled.status(), 422);

    // Only inspectors see exact figures.
    let operator = app.sign_in("hua").await;
    assert_eq!(operator.get("/staff/statistics").await.status(), 403);
    assert!(!li.page("/staff/cases").await.is_empty());
}
