//! The campaign clock, played as the office lives it with an injected clock from the notice
//! to past the 2024 National Day week: the dashboard says what each milestone of the plan
//! still needs and which are late, an inspector moves a milestone, and the overdue
//! rectification of a substantiated case reaches the daily digest.

use std::io::Cursor;

use calamine::{Reader, Xlsx};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tipoff::domain::{Role, SiteKind};
use tipoff::entities::outbox;
use tipoff::services::digest::{self as digests, KIND_DIGEST};

use crate::helpers::mail::POST;
use crate::helpers::reports::report_saying;
use crate::helpers::sites::add_site;
use crate::helpers::storage::audit_entries;
use crate::helpers::{Staff, TestApp};
use crate::on_both_backends;

on_both_backends!(the_dashboard_follows_the_campaign_across_the_national_day);

/// The dashboard's row for milestone `id`: its day, its progress and what is due.
fn milestone(page: &str, id: &str) -> (String, String, Vec<String>) {
    let at = page
        .find(&format!("<tr id=\"milestone-{id}\""))
        .unwrap_or_else(|| panic!("milestone {id} in {page}"));
    let row = &page[at..at + page[at..].find("</tr>").unwrap()];
    let cells: Vec<&str> = row.split("<td").skip(1).collect();
    let text = |cell: &str| {
        let inner = &cell[cell.find('>').unwrap() + 1..];
        inner[..inner.find("</td>").unwrap_or(inner.len())].to_string()
    };
    let due = text(cells[2])
        .split("<li>")
        .skip(1)
        .map(|d| d.split("</li>").next().unwrap().to_string())
        .collect();
    (text(cells[0]), text(cells[1]), due)
}

/// `staff` gives campaign milestone `milestone` the day `on`, which must be answered with
/// `status`; the page.
async fn set_due(staff: &Staff<'_>, milestone: &str, on: &str, status: u16) -> String {
    let fields = [("milestone", milestone), ("on", on)];
    staff.post_for("/staff/campaign", &fields, status).await
}

async fn dashboard(app: &TestApp) -> (Staff<'_>, String) {
    let inspector = app.sign_in("li.jc").await;
    let page = inspector.page("/staff/campaign?lang=zh").await;
    (inspector, page)
}

async fn the_dashboard_follows_the_campaign_across_the_national_day(app: TestApp) {
    // Thu 29 Aug 2024: the notice is out tomorrow, and no site has its code yet.
    app.set_clock("2024-08-29 09:00");
    app.inspector_with_mail("li.jc", "李监察", "li.jc@example.org")
        .await;
    let (_, page) = dashboard(&app).await;
    let (day, progress, due) = milestone(&page, "deploy");
    assert_eq!(
        (day.as_str(), progress.as_str()),
        ("2024-08-30", "还有 1 天")
    );
    assert!(due.contains(&"尚未设张贴点：1".to_string()), "{due:?}");
    add_site(
        &app,
        SiteKind::VillageBoard,
        "青山村公示栏",
        Some("qingshan-village"),
    )
    .await;
    let (_, page) = dashboard(&app).await;
    assert_eq!(milestone(&page, "deploy").1, "已完成");

    // September: a report comes in and is found substantiated; a self-inspection lead waits.
    app.set_clock("2024-09-05 10:00");
    let found = report_saying(
        &app,
        "favor",
        "qingshan-village",
        "村干部给亲戚违规办理低保",
    )
    .await
    .report;
    let operator = app.signed_in("hua", "话务员小华", Role::Operator).await;
    operator
        .post_for(
            "/staff/intake",
            &[
                ("channel", "self_inspection"),
                ("category", "policy"),
                ("description", "自查发现一户特困供养认定不准"),
                ("anonymous", "true"),
            ],
            200,
        )
        .await;
    app.set_clock("2024-09-09 10:00");
    let (inspector, _) = dashboard(&app).await;
    let path = |what: &str| format!("/staff/cases/{}/{what}", found.id);
    inspector.conclude(found.id, "substantiated", "属实").await;
    for (what, fields) in [
        ("assign", vec![("assignee", "")]),
        (
            "rectification",
            vec![
                ("measure", "停发违规低保"),
                ("responsible", "民政事务岗"),
                ("due", "2024-09-30"),
            ],
        ),
    ] {
        assert_eq!(
            inspector.post(&path(what), &fields).await.status(),
            303,
            "{what}"
        );
    }

    // Wed 11 Sep: the verification report was due yesterday with the case not reported.
    app.set_clock("2024-09-11 10:00");
    let (inspector, page) = dashboard(&app).await;
    let (_, progress, due) = milestone(&page, "verification_report");
    assert_eq!(progress, "已逾期 1 天");
    assert!(
        due.contains(&"属实线索尚未报区民政局：1 件".to_string()),
        "{due:?}"
    );
    let reported = [("event", "reported_bureau"), ("on", "2024-09-11")];
    assert_eq!(
        inspector.post(&path("events"), &reported).await.status(),
        303
    );
    let (inspector, page) = dashboard(&app).await;
    assert_eq!(milestone(&page, "verification_report").1, "已完成");

    // The office gives the investigation until 10 October; a day that is not one, or a
    // milestone that does not exist, is refused with the form shown again.
    let refused = set_due(&inspector, "investigation", "10月10日", 422).await;
    assert!(refused.contains("日期格式应为") && refused.contains("value=\"10月10日\""));
    set_due(&inspector, "party", "2024-10-10", 422).await;
    set_due(&inspector, "investigation", "2024-10-10", 303).await;
    let audited = audit_entries(&app, "campaign_change").await;
    assert_eq!(audited.len(), 1);
    assert!(
        audited[0]
            .detail
            .contains("investigation moved to 2024-10-10")
    );

    // Tue 8 Oct, the first working day after the National Day week.
    app.set_clock("2024-10-08 08:05");
    let (_, page) = dashboard(&app).await;
    let (day, progress, due) = milestone(&page, "investigation");
    assert_eq!(
        (day.as_str(), progress.as_str()),
        ("2024-10-10", "还有 2 天")
    );
    assert_eq!(due, ["节点前收到、尚未核查完毕的线索：1 件"]);
    let (_, progress, due) = milestone(&page, "self_inspection");
    assert_eq!(progress, "已逾期 8 天");
    assert!(
        due.contains(&"自查线索尚未受理：1 件".to_string()),
        "{due:?}"
    );
    let (_, progress, _) = milestone(&page, "summary");
    assert_eq!(progress, "还有 12 天");

    // The measure due on 30 September is chased in the morning's digest.
    digests::enqueue_digests(
        app.db(),
        &app.state.routing,
        &app.state.deadlines,
        8,
        app.now(),
    )
    .await
    .unwrap();
    let post = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq(KIND_DIGEST))
        .filter(outbox::Column::Recipient.eq(POST))
        .one(app.db())
        .await
        .unwrap()
        .expect("the post's digest");
    assert!(post.subject.contains("整改逾期 1 项"), "{}", post.subject);
    assert!(post.body_text.contains(&found.case_number) && post.body_text.contains("2024-09-30"));

    // The summary: the campaign's figures from the cases above, the substantiated case
    // with its rectification, and the sections written as a draft, then finalised.
    let (inspector, _) = dashboard(&app).await;
    let page = inspector.page("/staff/summary?lang=zh").await;
    for (id, value) in [
        ("received", "2"),
        ("accepted", "1"),
        ("concluded", "1"),
        ("reported", "1"),
        ("measures", "0/1"),
        ("measures_overdue", "1"),
    ] {
        let at = page.find(&format!("id=\"fig-{id}\"")).unwrap();
        let dd = &page[at..];
        let value_at = dd.find("<dd>").unwrap() + 4;
        assert_eq!(
            &dd[value_at..value_at + value.len() + 5],
            format!("{value}</dd>"),
            "{id}"
        );
    }
    let cases = &page[page.find("id=\"substantiated\"").unwrap()..];
    assert!(
        cases.contains(&found.case_number) && cases.contains("整改中（已完成 0/1 项），逾期 1 项")
    );
    let sections = [
        ("practices", "院坝会宣传，举报箱每周开箱"),
        ("problems", ""),
        ("next_steps", "建立长效机制"),
    ];
    let mut draft = sections.to_vec();
    draft.push(("action", "draft"));
    assert_eq!(inspector.post("/staff/summary", &draft).await.status(), 303);
    let page = inspector.page("/staff/summary?lang=zh&saved=1").await;
    assert!(page.contains("草稿已保存") && page.contains("院坝会宣传，举报箱每周开箱</textarea>"));
    let mut early = sections.to_vec();
    early.push(("action", "final"));
    let refused = inspector.post_for("/staff/summary", &early, 422).await;
    assert!(
        refused.contains("三部分都写好后才能定稿") && refused.contains("建立长效机制</textarea>")
    );
    let complete = [
        ("practices", "院坝会宣传，举报箱每周开箱"),
        ("problems", "个别村民政专干对政策把握不准"),
        ("next_steps", "建立长效机制"),
        ("action", "final"),
    ];
    assert_eq!(
        inspector.post("/staff/summary", &complete).await.status(),
        303
    );
    let page = inspector.page("/staff/summary?lang=zh").await;
    assert!(page.contains("定稿，不能再修改") && !page.contains("id=\"summary-form\""));
    let again = inspector.post("/staff/summary", &complete).await;
    assert_eq!(again.status(), 422, "a finalised summary is frozen");
    let page = inspector.page("/staff/campaign?lang=zh").await;
    assert_eq!(milestone(&page, "summary").1, "已完成");
    let xlsx = inspector.get("/staff/summary.xlsx").await;
    assert_eq!(xlsx.status(), 200);
    let mut book = Xlsx::new(Cursor::new(xlsx.bytes().await.unwrap().to_vec())).unwrap();
    let text: Vec<String> = book
        .worksheet_range("总结")
        .unwrap()
        .rows()
        .flat_map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>())
        .collect();
    assert!(
        text.contains(&"个别村民政专干对政策把握不准".to_string()),
        "{text:?}"
    );
    assert!(text.contains(&"收到线索".to_string()) && text.contains(&"2".to_string()));
    let ledger: Vec<String> = book
        .worksheet_range("属实问题台账")
        .unwrap()
        .rows()
        .flat_map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>())
        .collect();
    assert!(ledger.contains(&found.case_number), "{ledger:?}");
    let summaries = audit_entries(&app, "summary").await;
    assert_eq!(summaries.len(), 2, "the draft and the final save");

    // Others do not see the campaign's figures.
    let operator = app.sign_in("hua").await;
    assert_eq!(operator.get("/staff/campaign").await.status(), 403);
}
