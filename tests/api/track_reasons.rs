//! What a reporter reads on `/track` once the inspectors have decided: the reason a report
//! was not accepted, the feedback, and no question box once the conversation is over.

use chrono::Utc;
use serde_json::{Value, json};
use tipoff::domain::{Outcome, Role, Transition};
use tipoff::services::cases::{self, Viewer};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::reports::{next_ip, submit};
use crate::on_both_backends;

on_both_backends!(
    a_report_not_accepted_shows_its_reason_to_the_reporter,
    a_concluded_case_offers_no_question_box,
);

async fn a_report(app: &TestApp) -> (String, Uuid) {
    let body = json!({
        "category": "nepotism",
        "village": "qingshan-village",
        "description": "村主任把低保给了自己的亲戚",
        "anonymous": true
    });
    let submitted = submit(app, body).await;
    (submitted.code, submitted.report.id)
}

async fn move_to(app: &TestApp, viewer: &Viewer, id: Uuid, transition: Transition) {
    cases::change_status(app.on_case(viewer, id, Utc::now()), transition)
        .await
        .unwrap();
}

async fn tracked(app: &TestApp, code: &str) -> Value {
    let answer = app.post_track(code, &next_ip()).await;
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

async fn track_page(app: &TestApp, code: &str) -> String {
    let page = app
        .post_form("/track", &[("tracking_code", code)], &next_ip())
        .await;
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

async fn a_report_not_accepted_shows_its_reason_to_the_reporter(app: TestApp) {
    let inspector = app.staff("zheng", "郑主任", &[Role::Inspector]).await;
    let (code, id) = a_report(&app).await;
    assert_eq!(
        tracked(&app, &code).await["not_accepted_reason"],
        Value::Null
    );

    let reason = "所反映问题属于县医保局职责，已告知向其反映";
    let not_accept = Transition::NotAccept {
        reason: reason.into(),
    };
    move_to(&app, &inspector, id, not_accept).await;
    let answer = tracked(&app, &code).await;
    assert_eq!(answer["status"], "not_accepted");
    assert_eq!(answer["not_accepted_reason"], reason);
    let page = track_page(&app, &code).await;
    assert!(page.contains("不予受理的理由"), "{page}");
    assert!(page.contains(reason), "{page}");

    // Closed afterwards: the reason stays, the feedback joins it.
    let feedback = "感谢您的反映，已转县医保局。";
    let close = Transition::Close {
        feedback: feedback.into(),
    };
    move_to(&app, &inspector, id, close).await;
    let answer = tracked(&app, &code).await;
    assert_eq!(answer["not_accepted_reason"], reason);
    assert_eq!(answer["feedback"], feedback);
}

async fn a_concluded_case_offers_no_question_box(app: TestApp) {
    let inspector = app.staff("zheng", "郑主任", &[Role::Inspector]).await;
    let (code, id) = a_report(&app).await;
    move_to(&app, &inspector, id, Transition::Accept).await;
    let question = "请问是哪一年的事？";
    cases::ask_reporter(app.on_case(&inspector, id, Utc::now()), question)
        .await
        .unwrap();
    let page = track_page(&app, &code).await;
    assert!(page.contains(question));
    assert!(page.contains("send-reply"), "asked: the box is offered");

    move_to(&app, &inspector, id, Transition::StartVerifying).await;
    let conclude = Transition::Conclude {
        outcome: Outcome::Substantiated,
        finding: "经核查属实".into(),
    };
    move_to(&app, &inspector, id, conclude).await;
    assert_eq!(tracked(&app, &code).await["can_reply"], false);
    let page = track_page(&app, &code).await;
    assert!(page.contains(question), "the conversation stays readable");
    assert!(!page.contains("send-reply"), "concluded: no box");

    // A late answer is refused, and nothing more can be asked either.
    let late = json!({"tracking_code": code, "text": "是2023年"});
    let refused = app
        .post_json("/api/v1/track/reply", &late, &next_ip())
        .await;
    assert_eq!(refused.status(), 409);
    let asked = cases::ask_reporter(app.on_case(&inspector, id, Utc::now()), "还有吗？").await;
    assert!(asked.is_err());
}
