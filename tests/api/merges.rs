//! Merging cases (并案): the number as inspectors type it, both cases linking to each
//! other, and the merged report's reporter learning how the matter ended.

use chrono::Utc;
use serde_json::{Value, json};
use tipoff::domain::{Outcome, Role, Transition};
use tipoff::services::ServiceError;
use tipoff::services::cases::{self, Viewer};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::reports::{Submitted, next_ip, related_numbers, submit};
use crate::on_both_backends;

on_both_backends!(
    a_case_is_merged_by_its_number_however_it_is_typed,
    the_merged_reporter_sees_the_combined_cases_progress_and_feedback,
    reports_naming_one_cadre_with_a_space_or_a_comma_are_related,
);

async fn a_report(app: &TestApp, description: &str) -> Submitted {
    about(app, "刘某某，青山村党支部书记", description).await
}

async fn about(app: &TestApp, subject: &str, description: &str) -> Submitted {
    let body = json!({
        "category": "nepotism",
        "village": "qingshan-village",
        "subject": subject,
        "description": description,
        "anonymous": true
    });
    submit(app, body).await
}

async fn change(
    app: &TestApp,
    viewer: &Viewer,
    id: Uuid,
    transition: Transition,
) -> Result<(), ServiceError> {
    cases::change_status(app.on_case(viewer, id, Utc::now()), transition).await
}

fn merge(into: &str) -> Transition {
    Transition::Merge {
        into_case_number: into.into(),
    }
}

/// The serial part of a case number: `2026-0001` → `0001`.
fn serial(number: &str) -> &str {
    number.split_once('-').expect("YYYY-NNNN").1
}

fn full_width(digits: &str) -> String {
    digits
        .chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
        .collect()
}

async fn a_case_is_merged_by_its_number_however_it_is_typed(app: TestApp) {
    let inspector = app.signed_in("zheng", "郑主任", Role::Inspector).await;
    let viewer = app.staff("wu", "吴敏", &[Role::Inspector]).await;
    let master = a_report(&app, "刘某某把低保给了他的侄子").await;
    let second = a_report(&app, "书记的侄子家有车还在吃低保").await;
    let third = a_report(&app, "刘书记侄子有两套房").await;
    let number = &master.report.case_number;

    // Nonsense is refused with the reason, nothing changes.
    let refused = change(&app, &viewer, second.report.id, merge("青山村")).await;
    assert!(matches!(
        refused,
        Err(ServiceError::Invalid("error.merge_target"))
    ));

    // "0001", as inspectors say it, and "２０２６－０００１" typed on a Chinese keyboard.
    let short = format!(" {} ", serial(number));
    change(&app, &viewer, second.report.id, merge(&short))
        .await
        .unwrap();
    let (year, digits) = number.split_once('-').unwrap();
    let wide = format!("{}－{}", full_width(year), full_width(digits));
    change(&app, &viewer, third.report.id, merge(&wide))
        .await
        .unwrap();

    // The master lists both as links; each merged case links back.
    let page = inspector
        .page(&format!("/staff/cases/{}", master.report.id))
        .await;
    for merged in [&second, &third] {
        let link = format!(
            r#"<a href="/staff/cases/{}?lang=zh">{}</a>"#,
            merged.report.id, merged.report.case_number
        );
        assert!(page.contains(&link), "{link} in {page}");
    }
    assert!(page.contains("并入本案的案件"));
    let merged_page = inspector
        .page(&format!("/staff/cases/{}", second.report.id))
        .await;
    let back = format!(
        r#"→ <a href="/staff/cases/{}?lang=zh">{number}</a>"#,
        master.report.id
    );
    assert!(merged_page.contains(&back), "{merged_page}");
}

async fn the_merged_reporter_sees_the_combined_cases_progress_and_feedback(app: TestApp) {
    let inspector = app.staff("zheng", "郑主任", &[Role::Inspector]).await;
    let master = a_report(&app, "刘某某把低保给了他的侄子").await;
    let merged = a_report(&app, "书记的侄子家有车还在吃低保").await;
    let into = master.report.case_number.clone();
    change(&app, &inspector, merged.report.id, merge(&into))
        .await
        .unwrap();

    let tracked = |code: String| {
        let app = &app;
        async move {
            let answer = app.post_track(&code, &next_ip()).await;
            assert_eq!(answer.status(), 200);
            answer.json::<Value>().await.unwrap()
        }
    };
    let answer = tracked(merged.code.clone()).await;
    assert_eq!(answer["status"], "merged");
    assert_eq!(answer["merged_case"]["status"], "received");
    assert_eq!(answer["feedback"], Value::Null);

    let id = master.report.id;
    change(&app, &inspector, id, Transition::Accept)
        .await
        .unwrap();
    change(&app, &inspector, id, Transition::StartVerifying)
        .await
        .unwrap();
    let conclude = Transition::Conclude {
        outcome: Outcome::Substantiated,
        finding: "经入户核查，反映属实".into(),
    };
    change(&app, &inspector, id, conclude).await.unwrap();
    let feedback = "经核查属实，已停发其侄子的低保并追回违规资金。";
    let close = Transition::Close {
        feedback: feedback.into(),
    };
    change(&app, &inspector, id, close).await.unwrap();

    let answer = tracked(merged.code.clone()).await;
    assert_eq!(answer["status"], "merged");
    assert_eq!(answer["merged_case"]["status"], "closed");
    assert_eq!(answer["feedback"], feedback);
    // The master's own reporter reads the same feedback.
    assert_eq!(tracked(master.code.clone()).await["feedback"], feedback);

    let page = app
        .post_form("/track", &[("tracking_code", &merged.code)], &next_ip())
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("合并办理"), "{page}");
    assert!(page.contains(feedback), "{page}");
}

async fn reports_naming_one_cadre_with_a_space_or_a_comma_are_related(app: TestApp) {
    let inspector = app.staff("zheng", "郑主任", &[Role::Inspector]).await;
    let spaced = about(&app, "刘某某 青山村书记", "刘某某把低保给了他的侄子").await;
    let comma = about(&app, "刘某某，青山村党支部书记", "书记的侄子家有车").await;
    let deadlines = &app.state.deadlines;
    let id = comma.report.id;
    let seen = cases::open_case(app.caller(&inspector, Utc::now()), id, deadlines)
        .await
        .unwrap()
        .expect("the inspector sees the case");
    let related = related_numbers(&seen);
    assert_eq!(related, vec![spaced.report.case_number.as_str()]);
}
