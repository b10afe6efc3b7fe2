//! Mail on the staff side: failed notifications on the admin page and as a banner, sent again
//! with a button; escalation from the case page; staff mail addresses.

use sea_orm::EntityTrait;
use tipoff::domain::Role;
use tipoff::entities::user;
use tipoff::services::outbox::{self as mail_outbox, FAILED, PENDING};
use tipoff::services::routing;

use crate::helpers::mail::{BUREAU, POST, SmtpSink, outbox_rows, via_smtp};
use crate::helpers::reports::{report_body, report_on_a_cadre, submit};
use crate::helpers::storage::audit_entries;
use crate::helpers::{
    Backend, TestApp, body_with, free_port, smtp_server_available, spawn_app_with,
};
use crate::{on_both_backends, on_each_backend};

on_both_backends!(
    an_inspector_escalates_a_case_from_its_page_and_sees_the_routing_record,
    an_admin_gives_a_new_account_a_mail_address,
    a_case_about_civil_affairs_staff_is_never_offered_to_their_post,
);

on_each_backend!(a_failed_mail_is_shown_to_admins_and_inspectors_and_sent_again);

const ALARM: &str = "1 封通知邮件发送失败";

// 1. A failed mail: the admin page, the banner, the retry button.

async fn a_failed_mail_is_shown_to_admins_and_inspectors_and_sent_again(backend: Backend) {
    let port = free_port();
    let Some(app) = spawn_app_with(backend, |s| {
        via_smtp(s, port);
        s.mail.max_attempts = 1;
    })
    .await
    else {
        return;
    };
    let admin = app.signed_in("admin1", "管理员甲", Role::Admin).await;
    let inspector = app
        .signed_in("inspector1", "检查员甲", Role::Inspector)
        .await;
    let operator = app.signed_in("operator1", "话务员甲", Role::Operator).await;

    // Nothing failed yet: no banner, and the page says so.
    let page = admin.page("/staff/admin/mail").await;
    assert!(!page.contains("mail-alarm"), "{page}");
    assert!(page.contains("没有发送失败的邮件"));

    let case = report_on_a_cadre(&app, "connection", "dalu-community").await;
    // Nobody listens on the port: the one attempt allowed fails.
    let batch = app.run_outbox().await;
    assert_eq!(batch.failed, 1);
    let row = outbox_rows(app.db()).await.remove(0);
    assert_eq!(row.state, FAILED);

    let response = admin.get("/staff/admin/mail").await;
    let page = body_with(response, 200).await;
    assert!(page.contains(&format!("id=\"mail-{}\"", row.id)), "{page}");
    assert!(page.contains(&case.case_number));
    assert!(page.contains("纪律检查岗"));
    assert!(page.contains(POST));
    assert!(page.contains(&format!(
        "action=\"/staff/admin/mail/{}/retry?lang=zh\"",
        row.id
    )));
    assert!(page.contains("重新发送"));
    assert!(
        page.contains("id=\"failed-count\" class=\"late\">1<"),
        "{page}"
    );
    assert!(page.contains("id=\"pending-count\">0<"));
    // The banner on every page an admin sees, leading to the admin page.
    for path in ["/staff/admin/users", "/staff/admin/mail", "/staff/totp"] {
        let page = admin.page(path).await;
        assert!(page.contains(ALARM), "{path}: {page}");
        assert!(page.contains("<p class=\"alarm\" role=\"alert\" id=\"mail-alarm\"><a href=\"/staff/admin/mail?lang=zh\">"));
    }
    // Inspectors see it too, without the link they could not follow; operators do not.
    let page = inspector.page("/staff/cases").await;
    assert!(page.contains(ALARM), "{page}");
    assert!(!page.contains("href=\"/staff/admin/mail"));
    assert_eq!(inspector.get("/staff/admin/mail").await.status(), 403);
    let page = operator.page("/staff/cases").await;
    assert!(!page.contains(ALARM) && !page.contains("mail-alarm"));

    // Inspectors may not press the button; the admin may.
    let path = format!("/staff/admin/mail/{}/retry", row.id);
    assert_eq!(inspector.post(&path, &[]).await.status(), 403);
    assert_eq!(outbox_rows(app.db()).await[0].state, FAILED);
    let response = admin.post(&path, &[]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"].to_str().unwrap(),
        "/staff/admin/mail?lang=zh"
    );
    let row = outbox_rows(app.db()).await.remove(0);
    assert_eq!((row.state.as_str(), row.attempts), (PENDING, 0));
    let page = admin.page("/staff/admin/mail").await;
    assert!(!page.contains("mail-alarm") && !page.contains(ALARM));
    assert!(page.contains("id=\"pending-count\">1<"));
    assert!(!inspector.page("/staff/cases").await.contains(ALARM));
    // A second press finds nothing to send again.
    let again = admin.post_for(&path, &[], 404).await;
    assert!(again.contains("已不在发送失败之列"));
    let audited = audit_entries(&app, "mail_retry").await;
    assert_eq!(audited.len(), 1);

    // With the server back, it goes out with the next batch, under its own Message-ID.
    if smtp_server_available() {
        let sink = SmtpSink::start(port);
        let batch = app.run_outbox().await;
        assert_eq!(batch.sent, 1);
        let messages = sink.wait_for(1, 10).await;
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].message_id, row.message_id);
        assert_eq!(mail_outbox::failed_count(app.db()).await.unwrap(), 0);
    }
}

// 2. Escalation from the case page.

/// The `<option>` values of the escalation form on a case page.
fn escalation_choices(page: &str) -> Vec<String> {
    let Some(start) = page.find("id=\"escalate\"") else {
        return Vec::new();
    };
    let form = &page[start..start + page[start..].find("</form>").unwrap()];
    form.split("<option value=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_string())
        .collect()
}

/// The routing record's list on a case page.
fn routing_record(page: &str) -> &str {
    let start = page.find("id=\"routes\"").expect("a routing record");
    &page[start..start + page[start..].find("</ul>").unwrap()]
}

async fn an_inspector_escalates_a_case_from_its_page_and_sees_the_routing_record(app: TestApp) {
    app.set_clock("2024-10-03 10:00");
    let inspector = app.signed_in("li.jc", "李监察", Role::Inspector).await;
    let case = report_on_a_cadre(&app, "connection", "dalu-community").await;
    let page_path = format!("/staff/cases/{}", case.id);
    let page = inspector.page(&page_path).await;
    let record = routing_record(&page);
    assert!(record.contains("纪律检查岗（按转送规则）"), "{record}");
    assert!(
        record.contains("<span class=\"at\">2024-10-03</span>"),
        "an anonymous report's routing shows its day only: {record}"
    );
    assert_eq!(
        escalation_choices(&page),
        ["civil_affairs_post", "district_bureau"],
        "every group but the one it went to"
    );

    // Accepted on Fri 11 Oct, escalated the same day: the mail says when verification is due.
    app.set_clock("2024-10-11 10:00");
    // Eight days on, the old session has long ended.
    let inspector = app.sign_in("li.jc").await;
    let accepted = inspector
        .post(
            &format!("/staff/cases/{}/status", case.id),
            &[("transition", "accept")],
        )
        .await;
    assert_eq!(accepted.status(), 303);
    assert!(
        accepted.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&page_path)
    );
    let escalate = format!("/staff/cases/{}/escalate", case.id);
    let rows_before = outbox_rows(app.db()).await.len();
    let response = inspector
        .post(&escalate, &[("group", "district_bureau")])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"].to_str().unwrap(),
        format!("{page_path}?lang=zh")
    );
    let rows = outbox_rows(app.db()).await;
    assert_eq!(rows.len(), rows_before + 1);
    let mail = rows
        .iter()
        .find(|r| r.kind == routing::KIND_ESCALATION)
        .unwrap();
    assert_eq!(mail.recipient, BUREAU);
    assert_eq!(mail.report_id, Some(case.id));
    assert!(
        mail.body_text.contains("办理期限：2024-10-31"),
        "{}",
        mail.body_text
    );

    let page = inspector.page(&page_path).await;
    let record = routing_record(&page);
    assert!(
        record.contains("<li class=\"escalated\"><span class=\"at\">2024-10-11 ")
            && record.contains("</span> 区民政局救助科（升级转送，李监察）"),
        "{record}"
    );
    assert!(record.find("纪律检查岗") < record.find("区民政局救助科"));
    assert_eq!(escalation_choices(&page), ["civil_affairs_post"]);

    // Refusals come back on the case page with the reason, and change nothing.
    for (group, reason) in [
        ("district_bureau", "本案已转送过该单位"),
        ("discipline_post", "本案已转送过该单位"),
        ("nowhere_office", "没有这个转送单位"),
        ("", "没有这个转送单位"),
    ] {
        let response = inspector.post(&escalate, &[("group", group)]).await;
        assert_eq!(response.status(), 422, "{group}");
        let page = response.text().await.unwrap();
        assert!(page.contains(reason), "{group}: {page}");
        assert!(page.contains("id=\"routes\""), "the case page again");
    }
    let about_staff = submit(
        &app,
        report_body("policy", "xinmin-village", Some("civil_affairs_staff")),
    )
    .await
    .report;
    let response = inspector
        .post_for(
            &format!("/staff/cases/{}/escalate", about_staff.id),
            &[("group", "civil_affairs_post")],
            422,
        )
        .await;
    assert!(response.contains("反映民政工作人员的案件不转送本级民政岗"));
    assert_eq!(
        outbox_rows(app.db())
            .await
            .iter()
            .filter(|r| r.kind == routing::KIND_ESCALATION)
            .count(),
        1
    );
    let routes = routing::routes_of_case(app.db(), &app.state.routing, case.id)
        .await
        .unwrap();
    assert_eq!(routes.len(), 2);
}

// 3. Staff mail addresses.

async fn an_admin_gives_a_new_account_a_mail_address(app: TestApp) {
    let admin = app.signed_in("admin1", "管理员甲", Role::Admin).await;
    let fields = |username: &'static str, email: &'static str| {
        [
            ("username", username),
            ("display_name", "李监察"),
            ("password", "a-long-enough-password"),
            ("inspector", "1"),
            ("email", email),
        ]
    };
    let refused = admin
        .post_for(
            "/staff/admin/users",
            &fields("li.jc", "li.jc at example.org"),
            422,
        )
        .await;
    assert!(refused.contains("邮箱地址格式不正确"));
    let created = admin
        .post_for(
            "/staff/admin/users",
            &fields("li.jc", " li.jc@example.org "),
            200,
        )
        .await;
    assert!(created.contains("<td>li.jc@example.org</td>"));
    admin
        .post_for("/staff/admin/users", &fields("wang.jc", ""), 200)
        .await;
    let emails: Vec<(String, Option<String>)> = user::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .filter(|u| u.username != "admin1")
        .map(|u| (u.username, u.email))
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .collect();
    assert_eq!(
        emails,
        [
            ("li.jc".to_string(), Some("li.jc@example.org".to_string())),
            ("wang.jc".to_string(), None),
        ]
    );
}

async fn a_case_about_civil_affairs_staff_is_never_offered_to_their_post(app: TestApp) {
    let inspector = app.signed_in("li.jc", "李监察", Role::Inspector).await;
    let body = report_body("connection", "dalu-community", Some("civil_affairs_staff"));
    let case = submit(&app, body).await.report;
    let page = inspector.page(&format!("/staff/cases/{}", case.id)).await;
    let choices = escalation_choices(&page);
    assert!(
        !choices.iter().any(|c| c == "civil_affairs_post"),
        "{choices:?}"
    );
    // Posted anyway, it is refused with the reason.
    inspector
        .post_for(
            &format!("/staff/cases/{}/escalate", case.id),
            &[("group", "civil_affairs_post")],
            422,
        )
        .await;
}
