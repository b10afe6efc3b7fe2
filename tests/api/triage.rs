//! The triage desk through its pages: recusal by every route, the message round trip, the
//! workflow's refusals, and who read a case.

use serde_json::{Value, json};
use tipoff::domain::{Role, SiteKind};

use crate::helpers::reports::submit;
use crate::helpers::sites::add_site;
use crate::helpers::{TestApp, body_with, hidden_value, sqlite_app};
use crate::on_both_backends;

on_both_backends!(
    a_cadre_named_in_a_report_cannot_reach_it_by_any_route,
    an_inspector_asks_and_the_reporter_answers_on_the_status_page,
    the_workflow_refuses_illegal_moves_with_the_reason,
);

/// An anonymous report naming `subject`, in `village`.
fn naming(subject: &str, village: &str) -> Value {
    json!({"category": "nepotism", "village": village, "subject": subject,
           "description": "把低保名额给了自己的亲戚", "anonymous": true})
}

/// What the JSON API tells the reporter holding `code`.
async fn tracked(app: &TestApp, code: &str, client_ip: &str) -> Value {
    app.post_track(code, client_ip).await.json().await.unwrap()
}

/// The reporter answers the inspector through the JSON API.
async fn reply_by_api(app: &TestApp, code: &str, text: &str, client_ip: &str) -> reqwest::Response {
    let body = json!({"tracking_code": code, "text": text});
    app.post_json("/api/v1/track/reply", &body, client_ip).await
}

/// The case ids an inspector's list links to.
fn linked_cases(html: &str) -> Vec<String> {
    regex::Regex::new(r#"href="/staff/cases/([0-9a-f-]{36})"#)
        .unwrap()
        .captures_iter(html)
        .map(|c| c[1].to_string())
        .collect()
}

async fn a_cadre_named_in_a_report_cannot_reach_it_by_any_route(app: TestApp) {
    app.create_staff("wang", "王建国", &[Role::Inspector], &["王书记"])
        .await;
    app.create_staff("li", "李检查", &[Role::Inspector], &[])
        .await;
    submit(&app, naming("王书记，村支书", "qingshan-village")).await;
    submit(&app, naming("王书记", "qingshan-village")).await;
    submit(&app, naming("张会计", "qingshan-village")).await;

    let li = app.sign_in("li").await;
    let list = li.page("/staff/cases").await;
    let all = linked_cases(&list);
    assert_eq!(all.len(), 3, "an unrecused inspector sees all three");
    // The two reports about 王书记 in the same village are related.
    let first = li.get(&format!("/staff/cases/{}", all[1])).await;
    let first_page = first.text().await.unwrap();
    let named: Vec<String> = all
        .iter()
        .filter(|id| first_page.contains(&format!("/staff/cases/{id}")) && **id != all[1])
        .cloned()
        .collect();
    assert!(
        first_page.contains("王建国"),
        "colleagues see who is recused"
    );

    let wang = app.sign_in("wang").await;
    let list = wang.page("/staff/cases").await;
    let visible = linked_cases(&list);
    assert_eq!(
        visible.len(),
        1,
        "王书记 sees only the report that does not name him"
    );
    assert!(
        list.contains("共计：<strong>1</strong>"),
        "counts leave the recused cases out"
    );
    for id in all.iter().filter(|id| !visible.contains(id)) {
        let page = wang.get(&format!("/staff/cases/{id}")).await;
        assert_eq!(page.status(), 404, "the case page");
        let missing = wang
            .get(&format!("/staff/cases/{}", uuid::Uuid::new_v4()))
            .await;
        assert_eq!(missing.status(), 404);
        for action in [
            "status", "assign", "notes", "messages", "events", "recusals",
        ] {
            let response = wang
                .post(
                    &format!("/staff/cases/{id}/{action}"),
                    &[
                        ("transition", "accept"),
                        ("text", "试图越权"),
                        ("event", "reported_bureau"),
                        ("user", "x"),
                        ("reason", "x"),
                    ],
                )
                .await;
            assert_eq!(response.status(), 404, "{action} on a recused case");
        }
    }
    // The unrecused case he can open does not link to the recused ones.
    let open = wang.page(&format!("/staff/cases/{}", visible[0])).await;
    for id in all.iter().filter(|id| !visible.contains(id)) {
        assert!(
            !open.contains(id.as_str()),
            "no related-case link to a recused case"
        );
    }
    let _ = named;
}

async fn an_inspector_asks_and_the_reporter_answers_on_the_status_page(app: TestApp) {
    app.create_staff("insp", "周检查", &[Role::Inspector], &[])
        .await;
    let code = submit(&app, naming("赵主任", "dalu-community")).await.code;
    let inspector = app.sign_in("insp").await;
    let list = inspector.page("/staff/cases").await;
    let id = linked_cases(&list).remove(0);

    inspector
        .post_for(
            &format!("/staff/cases/{id}/messages"),
            &[("text", "请问您说的亲戚叫什么名字？")],
            303,
        )
        .await;

    // The reporter checks progress on the public page and sees the question.
    let page = app
        .post_form("/track", &[("tracking_code", &code)], "198.51.100.43")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("请问您说的亲戚叫什么名字？"));
    let reply_code = hidden_value(&page, "tracking_code");
    let answered = app
        .post_form(
            "/track/reply",
            &[
                ("tracking_code", &reply_code),
                ("text", "叫赵小宝，住在三组"),
            ],
            "198.51.100.43",
        )
        .await;
    let answered = body_with(answered, 200).await;
    assert!(answered.contains("您的回复已送达"));
    assert!(answered.contains("叫赵小宝，住在三组"));

    let empty = app
        .post_form(
            "/track/reply",
            &[("tracking_code", &reply_code), ("text", "  ")],
            "198.51.100.44",
        )
        .await;
    assert_eq!(empty.status(), 422);

    let list = inspector.page("/staff/cases").await;
    assert!(
        list.contains("未读回复"),
        "the list flags the unread answer"
    );
    let case = inspector.page(&format!("/staff/cases/{id}")).await;
    assert!(case.contains("叫赵小宝，住在三组"));
    assert!(
        case.contains("class=\"from-reporter unread\""),
        "marked unread the first time"
    );
    let again = inspector.page(&format!("/staff/cases/{id}")).await;
    assert!(!again.contains("from-reporter unread"), "read once seen");
    assert!(again.contains("周检查"), "the case page shows who read it");

    // The JSON API gives the same conversation.
    let tracked = tracked(&app, &code, "198.51.100.45").await;
    assert_eq!(tracked["messages"][0]["from"], "inspector");
    assert_eq!(tracked["messages"][1]["from"], "reporter");
    assert_eq!(tracked["can_reply"], true);
    let api_reply = reply_by_api(&app, &code, "还有一件事", "198.51.100.45").await;
    assert_eq!(api_reply.status(), 200);
}

async fn the_workflow_refuses_illegal_moves_with_the_reason(app: TestApp) {
    app.create_staff("insp", "吴检查", &[Role::Inspector], &[])
        .await;
    let code = submit(&app, naming("孙会计", "xinmin-village")).await.code;
    // Before any question the reporter cannot answer.
    let early = reply_by_api(&app, &code, "你好", "198.51.100.46").await;
    assert_eq!(early.status(), 409);

    let inspector = app.sign_in("insp").await;
    let id = linked_cases(&inspector.page("/staff/cases").await).remove(0);
    let path = format!("/staff/cases/{id}/status");
    let refused = inspector
        .post_for(&path, &[("transition", "close"), ("text", "已处理")], 422)
        .await;
    assert!(refused.contains("“已收到”状态的线索不能转为“已反馈结案”"));
    let no_reason = inspector
        .post_for(&path, &[("transition", "not_accept"), ("text", "")], 422)
        .await;
    assert!(no_reason.contains("请填写：不予受理的理由"));

    for (transition, extra) in [
        ("accept", vec![]),
        ("start_verifying", vec![]),
        (
            "conclude",
            vec![
                ("outcome", "partly_substantiated"),
                ("text", "入户核实，部分属实"),
            ],
        ),
        (
            "close",
            vec![("text", "已责令整改，取消不符合条件人员的低保")],
        ),
    ] {
        let mut fields = vec![("transition", transition)];
        fields.extend(extra);
        assert_eq!(
            inspector.post(&path, &fields).await.status(),
            303,
            "{transition}"
        );
    }
    let tracked = tracked(&app, &code, "198.51.100.47").await;
    assert_eq!(tracked["status"], "closed");
    assert_eq!(tracked["feedback"], "已责令整改，取消不符合条件人员的低保");
    let page = inspector.page(&format!("/staff/cases/{id}")).await;
    assert!(page.contains("部分属实"));
}

#[tokio::test]
async fn the_case_list_filters_by_posting_site_and_a_household_notice_reads_as_its_village() {
    let app = sqlite_app().await;
    let site = add_site(
        &app,
        SiteKind::Household,
        "青山村入户告知（张家）",
        Some("qingshan-village"),
    )
    .await;
    let via_site = json!({"category": "favor", "description": "扫了入户告知上的二维码", "anonymous": true, "site": site.token});
    assert_eq!(
        app.post_json("/api/v1/reports", &via_site, "198.51.100.60")
            .await
            .status(),
        201
    );
    submit(&app, naming("别人", "qingshan-village")).await;

    let inspector = app.signed_in("insp", "冯检查", Role::Inspector).await;
    let all = inspector.page("/staff/cases").await;
    assert_eq!(linked_cases(&all).len(), 2);
    assert!(
        all.contains("入户告知（青山村）"),
        "the household site reads as its village"
    );
    assert!(!all.contains("张家"), "never as a household");
    let filtered = inspector
        .page(&format!("/staff/cases?site={}", site.id))
        .await;
    assert_eq!(linked_cases(&filtered).len(), 1);

    // Failed lookups are in the metrics.
    app.post_track("1234", "198.51.100.62").await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("tipoff_track_failed_lookups_total 1"),
        "{metrics}"
    );
}
