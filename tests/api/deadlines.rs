//! Deadlines in working days: due dates on the list and the case page, "overdue" as the
//! calendar moves on, the daily digest's selection, and a holiday calendar checked at start.

use chrono::NaiveDate;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use tipoff::domain::{Role, Status};
use tipoff::entities::{recusal, report};
use tipoff::services::cases::{self, CaseFilter, CaseList, Transition, Viewer};
use tipoff::services::deadlines::{self, DueCase, Stage};
use tipoff::startup::{Application, StartupError};
use uuid::Uuid;

use crate::helpers::reports::submit;
use crate::helpers::{TestApp, logs, settings_in, sqlite_app_with};
use crate::on_both_backends;

on_both_backends!(a_case_received_in_the_national_day_week_falls_due_and_becomes_overdue);

fn d(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn today(app: &TestApp) -> NaiveDate {
    deadlines::today(app.now())
}

/// An anonymous report from Qingshan, the same each time.
fn qingshan_report() -> Value {
    json!({
        "category": "connection",
        "village": "qingshan-village",
        "description": "村主任的亲戚开着小车还在吃低保",
        "anonymous": true
    })
}

async fn list(app: &TestApp, viewer: &Viewer, overdue: bool) -> CaseList {
    cases::list_cases(
        app.db(),
        viewer,
        &CaseFilter {
            overdue,
            ..Default::default()
        },
        1,
        50,
        &app.state.deadlines,
        today(app),
    )
    .await
    .unwrap()
}

/// The cases the daily digest of `day` lists: every due case, or only `assignee`'s.
async fn due_on(app: &TestApp, day: NaiveDate, assignee: Option<Uuid>) -> Vec<DueCase> {
    deadlines::due_or_overdue(app.db(), &app.state.deadlines, day, assignee)
        .await
        .unwrap()
}

/// A row's case number, due date and whether it is overdue.
type DueRow = (String, Option<(Stage, NaiveDate)>, bool);

/// Every row's `DueRow`, in list order.
/// The row `dues` lists for case `number`: due at `stage`'s end on `date`, late or not.
fn due(number: &str, stage: Stage, date: &str, overdue: bool) -> DueRow {
    (number.to_string(), Some((stage, d(date))), overdue)
}

fn dues(list: &CaseList) -> Vec<DueRow> {
    list.rows
        .iter()
        .map(|r| (r.case_number.clone(), r.due, r.overdue))
        .collect()
}

async fn a_case_received_in_the_national_day_week_falls_due_and_becomes_overdue(app: TestApp) {
    app.set_clock("2024-10-03 10:00");
    let inspector = app.staff("li.jc", "李监察", &[Role::Inspector]).await;
    let inspector_id = inspector.user_id;
    let report::Model {
        id: a,
        case_number: a_number,
        ..
    } = submit(&app, qingshan_report()).await.report;

    // Received on a holiday: 3 working days are Tue 8, Wed 9 and Thu 10 October.
    app.set_clock("2024-10-10 17:30");
    let on_the_day = list(&app, &inspector, false).await;
    assert_eq!(
        dues(&on_the_day),
        vec![due(&a_number, Stage::Accept, "2024-10-10", false)]
    );
    assert!(list(&app, &inspector, true).await.rows.is_empty());

    app.set_clock("2024-10-11 09:00");
    let report::Model {
        id: b,
        case_number: b_number,
        ..
    } = submit(&app, qingshan_report()).await.report;
    let next_day = list(&app, &inspector, false).await;
    // B, received Fri 11 Oct: Sat 12 Oct is a make-up working day, then Mon 14 and Tue 15.
    assert_eq!(
        dues(&next_day),
        vec![
            due(&b_number, Stage::Accept, "2024-10-15", false),
            due(&a_number, Stage::Accept, "2024-10-10", true),
        ]
    );
    let overdue = list(&app, &inspector, true).await;
    assert_eq!(dues(&overdue), vec![dues(&next_day)[1].clone()]);
    assert_eq!(overdue.total, 1);
    let received = overdue.counts.iter().find(|(s, _)| *s == Status::Received);
    assert_eq!(
        received,
        Some(&(Status::Received, 1)),
        "counts follow the filter"
    );

    let page = cases::open_case(app.caller(&inspector, app.now()), a, &app.state.deadlines)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.due, Some((Stage::Accept, d("2024-10-10"))));
    assert!(page.overdue);

    // Accepted late, on Fri 11 Oct: 15 working days from then, Sat 12 Oct included.
    cases::change_status(app.on_case(&inspector, a, app.now()), Transition::Accept)
        .await
        .unwrap();
    cases::assign(app.on_case(&inspector, a, app.now()), Some(inspector_id))
        .await
        .unwrap();
    let accepted = list(&app, &inspector, false).await;
    assert_eq!(
        dues(&accepted)[1],
        due(&a_number, Stage::Verify, "2024-10-31", false)
    );
    assert!(list(&app, &inspector, true).await.rows.is_empty());

    // B is in time on its due date and late the day after.
    app.set_clock("2024-10-15 18:00");
    assert!(list(&app, &inspector, true).await.rows.is_empty());
    app.set_clock("2024-10-16 08:00");
    let b_late = list(&app, &inspector, true).await;
    assert_eq!(
        dues(&b_late),
        vec![due(&b_number, Stage::Accept, "2024-10-15", true)]
    );

    // The digest on Tue 29 Oct looks 2 working days ahead, to Thu 31 Oct.
    app.set_clock("2024-10-29 08:00");
    let post = due_on(&app, today(&app), None).await;
    let summary: Vec<(String, Stage, NaiveDate, bool, Option<String>)> = post
        .iter()
        .map(|c| {
            (
                c.case_number.clone(),
                c.stage,
                c.due,
                c.overdue,
                c.assignee.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (b_number.clone(), Stage::Accept, d("2024-10-15"), true, None),
            (
                a_number.clone(),
                Stage::Verify,
                d("2024-10-31"),
                false,
                Some("李监察".to_string())
            ),
        ]
    );
    assert_eq!(post[1].village.as_deref(), Some("qingshan-village"));
    let mine = due_on(&app, today(&app), Some(inspector_id)).await;
    assert_eq!(
        mine.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![a],
        "an assignee's digest has their own cases"
    );
    // A day earlier, Thu 31 Oct is still 3 working days away.
    let earlier = due_on(&app, d("2024-10-28"), None).await;
    assert_eq!(earlier.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b]);

    // The assignee recused afterwards no longer gets the case in their digest.
    recusal::ActiveModel {
        report_id: Set(a),
        user_id: Set(inspector_id),
        source: Set("manual".into()),
        reason: Set(None),
        by_user: Set(None),
        at: Set(app.now()),
    }
    .insert(app.db())
    .await
    .unwrap();
    let recused = due_on(&app, today(&app), Some(inspector_id)).await;
    assert!(recused.is_empty());
    recusal::Entity::delete_by_id((a, inspector_id))
        .exec(app.db())
        .await
        .unwrap();

    // Thu 31 Oct is A's last day; Fri 1 Nov it is late.
    app.set_clock("2024-10-31 23:00");
    let ids = |list: &CaseList| list.rows.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(&list(&app, &inspector, true).await), vec![b]);
    app.set_clock("2024-11-01 09:00");
    assert_eq!(
        dues(&list(&app, &inspector, true).await),
        vec![
            due(&b_number, Stage::Accept, "2024-10-15", true),
            due(&a_number, Stage::Verify, "2024-10-31", true),
        ]
    );
}

#[tokio::test]
async fn a_holiday_file_with_a_date_of_another_year_stops_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let holidays = dir.path().join("holidays");
    std::fs::create_dir(&holidays).unwrap();
    std::fs::write(
        holidays.join("2024.toml"),
        "year = 2024\nholidays = [\"2024-10-01\", \"2025-10-01\"]\nworkdays = []\n",
    )
    .unwrap();
    let mut settings = settings_in(dir.path());
    settings.deadlines.calendar_dir = holidays.clone();
    let Err(error) = Application::build(settings).await else {
        panic!("started with a broken holiday calendar");
    };
    assert!(matches!(error, StartupError::Calendar(_)));
    let message = error.to_string();
    assert!(
        message.contains(&holidays.join("2024.toml").display().to_string()),
        "{message}"
    );
    assert!(message.contains("2025-10-01 is not in 2024"), "{message}");
}

#[tokio::test]
async fn a_year_without_a_holiday_file_is_named_in_a_warning_at_start() {
    let holidays = tempfile::tempdir().unwrap();
    std::fs::write(
        holidays.path().join("2024.toml"),
        "year = 2024\nholidays = [\"2024-10-01\"]\n",
    )
    .unwrap();
    let dir = holidays.path().to_path_buf();
    let app = sqlite_app_with(move |settings| {
        settings.deadlines.calendar_dir = dir;
    })
    .await;
    let year = today(&app).format("%Y").to_string();
    let warning = logs()
        .contents()
        .lines()
        .find(|line| line.contains(&holidays.path().display().to_string()))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(warning.contains("WARN"), "{warning}");
    assert!(
        warning.contains(&format!("no holiday calendar for {year}")),
        "{warning}"
    );
    // The service runs, counting Monday to Friday for that year.
    assert_eq!(app.get("/healthz").await.status(), 200);
}
