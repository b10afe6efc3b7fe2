//! The district bureau's account (区民政局救助科), and the civil-affairs verifiers' (民政核查人员): it reads the cases sent to the bureau — by
//! rule or by escalation — adds notes and records its instructions, and nothing else. Every
//! other case is as if it did not exist; recusal applies to it as to everyone.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tipoff::domain::Role;
use tipoff::entities::report_event;
use uuid::Uuid;

use crate::helpers::reports::{report_body, report_on_a_cadre, submit};
use crate::helpers::{Staff, TestApp};
use crate::on_both_backends;

on_both_backends!(
    the_bureau_reads_and_remarks_on_the_cases_sent_to_it_and_nothing_else,
    recusal_keeps_a_bureau_account_away_as_it_does_everyone,
    a_verifier_reads_the_cases_sent_to_the_civil_affairs_post_and_records_findings,
);

/// `staff` writes `text` into case `id` as the bureau's instruction; the answer.
async fn instruct(staff: &Staff<'_>, id: Uuid, text: &str) -> reqwest::Response {
    let path = format!("/staff/cases/{id}/instructions");
    staff.post(&path, &[("text", text)]).await
}

async fn the_bureau_reads_and_remarks_on_the_cases_sent_to_it_and_nothing_else(app: TestApp) {
    app.create_staff("zheng", "郑主任", &[Role::Inspector], &[])
        .await;
    // About civil-affairs staff: the rules send it to the bureau.
    let by_rule = submit(
        &app,
        report_body("policy", "qingshan-village", Some("civil_affairs_staff")),
    )
    .await
    .report;
    let escalated = report_on_a_cadre(&app, "connection", "qingshan-village").await;
    let kept = report_on_a_cadre(&app, "connection", "xinmin-village").await;
    let inspector = app.sign_in("zheng").await;
    inspector
        .work_case(
            escalated.id,
            &[("escalate", &[("group", "district_bureau")])],
        )
        .await;

    let bureau = app.signed_in("chen", "陈科长", Role::Bureau).await;
    let list = bureau.page("/staff/cases").await;
    assert!(list.contains(&by_rule.case_number), "{list}");
    assert!(list.contains(&escalated.case_number), "{list}");
    assert!(!list.contains(&kept.case_number), "{list}");
    assert!(
        list.contains(&format!("/staff/cases/{}", escalated.id)),
        "the bureau opens the cases it sees"
    );

    let case = |id| format!("/staff/cases/{id}");
    let page = bureau.page(&case(escalated.id)).await;
    assert!(
        page.contains("有人的亲戚开着小车还在吃低保"),
        "it reads the file"
    );
    assert!(
        !page.contains("id=\"move-accept\""),
        "it does not work the case"
    );
    let refused = bureau.get(&case(kept.id)).await;
    assert_eq!(
        refused.status(),
        404,
        "any other case is as if it did not exist"
    );
    let note = bureau
        .post(&format!("{}/notes", case(kept.id)), &[("text", "看看这件")])
        .await;
    assert_eq!(note.status(), 404, "no note on a case it cannot see");

    // The workflow is the inspectors'.
    for (action, fields) in [
        ("status", vec![("transition", "accept")]),
        ("assign", vec![("assignee", "")]),
        ("messages", vec![("text", "请问")]),
        ("recusals", vec![("user", ""), ("reason", "x")]),
        ("escalate", vec![("group", "civil_affairs_post")]),
        ("events", vec![("event", "reported_bureau")]),
    ] {
        let refused = bureau
            .post(&format!("{}/{action}", case(escalated.id)), &fields)
            .await;
        assert_eq!(refused.status(), 403, "{action}");
    }
    for path in ["/staff/quarantine", "/staff/intake", "/staff/admin/users"] {
        assert_eq!(bureau.get(path).await.status(), 403, "{path}");
    }

    // Its instruction and its note go into the file, sealed like every other entry.
    let instruction = "请街道七日内完成入户核查，结果报区局";
    assert_eq!(
        instruct(&bureau, escalated.id, instruction).await.status(),
        303
    );
    let blank = instruct(&bureau, escalated.id, "  ").await;
    assert_eq!(blank.status(), 422, "an empty instruction is refused");
    bureau
        .post_for(
            &format!("{}/notes", case(escalated.id)),
            &[("text", "已电话联系街道")],
            303,
        )
        .await;
    let stored = report_event::Entity::find()
        .filter(report_event::Column::ReportId.eq(escalated.id))
        .filter(report_event::Column::Kind.eq("instruction"))
        .one(app.db())
        .await
        .unwrap()
        .expect("the instruction is in the history");
    let sealed = stored.detail.expect("with its text");
    assert!(
        !String::from_utf8_lossy(&sealed).contains("入户核查"),
        "the instruction is sealed"
    );

    let file = inspector.page(&case(escalated.id)).await;
    assert!(file.contains(instruction), "the inspector reads it");
    assert!(file.contains("已电话联系街道"));
    assert!(file.contains("区民政局意见"));
    let refused = instruct(&inspector, escalated.id, "我来写").await;
    assert_eq!(refused.status(), 403, "instructions are the bureau's");
}

async fn recusal_keeps_a_bureau_account_away_as_it_does_everyone(app: TestApp) {
    app.create_staff("zheng", "郑主任", &[Role::Inspector], &[])
        .await;
    let chen = app
        .create_staff("chen", "陈立新", &[Role::Bureau], &["陈科长"])
        .await;
    let mut body = report_body("policy", "qingshan-village", Some("civil_affairs_staff"));
    body["description"] = "区里的陈科长打过招呼，他表弟才吃上低保".into();
    let named = submit(&app, body).await.report;
    let other = submit(
        &app,
        report_body("policy", "xinmin-village", Some("civil_affairs_staff")),
    )
    .await
    .report;

    let bureau = app.sign_in("chen").await;
    let list = bureau.page("/staff/cases").await;
    assert!(!list.contains(&named.case_number), "{list}");
    assert!(list.contains(&other.case_number), "{list}");
    let hidden = bureau.get(&format!("/staff/cases/{}", named.id)).await;
    assert_eq!(hidden.status(), 404);

    // Inspectors see why, and may recuse the bureau's people by hand too.
    let inspector = app.sign_in("zheng").await;
    let file = inspector.page(&format!("/staff/cases/{}", named.id)).await;
    assert!(file.contains("陈立新"), "{file}");
    assert!(file.contains("陈科长"), "the alias named: {file}");
    let other_file = inspector.page(&format!("/staff/cases/{}", other.id)).await;
    assert!(
        other_file.contains(&format!("<option value=\"{chen}\">陈立新</option>")),
        "the bureau account can be recused by hand"
    );
}

async fn a_verifier_reads_the_cases_sent_to_the_civil_affairs_post_and_records_findings(
    app: TestApp,
) {
    app.create_staff("zheng", "郑主任", &[Role::Inspector], &[])
        .await;
    // Wrongful exclusion goes to the civil-affairs post by rule; a case about civil-affairs
    // staff never does, whatever else it is.
    let theirs = submit(
        &app,
        report_body("wrongful_exclusion", "qingshan-village", None),
    )
    .await
    .report;
    let about_them = submit(
        &app,
        report_body(
            "wrongful_exclusion",
            "xinmin-village",
            Some("civil_affairs_staff"),
        ),
    )
    .await
    .report;
    let other = report_on_a_cadre(&app, "connection", "qingshan-village").await;

    let verifier = app.signed_in("min", "民政小王", Role::Verifier).await;
    let list = verifier.page("/staff/cases").await;
    assert!(list.contains(&theirs.case_number), "{list}");
    assert!(!list.contains(&about_them.case_number), "{list}");
    assert!(!list.contains(&other.case_number), "{list}");
    assert!(list.contains("民政小王"), "signed in as the verifier");
    for hidden in [about_them.id, other.id] {
        let page = verifier.get(&format!("/staff/cases/{hidden}")).await;
        assert_eq!(page.status(), 404);
    }
    let path = format!("/staff/cases/{}", theirs.id);
    let page = verifier.page(&path).await;
    assert!(page.contains("<label for=\"instruction-text\">民政核查情况</label>"));
    assert!(page.contains("记录核查情况"));
    let accept = verifier
        .post(&format!("{path}/status"), &[("transition", "accept")])
        .await;
    assert_eq!(accept.status(), 403, "the workflow is the inspectors'");
    let finding = "入户核实：该户确实符合条件却被取消";
    verifier
        .post_for(&format!("{path}/instructions"), &[("text", finding)], 303)
        .await;
    let file = app.sign_in("zheng").await.page(&path).await;
    assert!(file.contains(finding), "the inspector reads the finding");
    assert!(file.contains("民政核查情况"));
}
