//! The inspectors' desk: the workflow, the conversation with the reporter, and who sees what.

use crate::helpers::body_with;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tipoff::domain::{Category, Role, Status, TrackingCode};
use tipoff::entities::{message, note, recusal, report, report_event, report_name};
use tipoff::services::ServiceError;
use tipoff::services::cases::{
    self, CaseEvent, CaseFilter, Order, Outcome, ReplyOutcome, Transition, Viewer,
};
use tipoff::services::deadlines;
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::reports::{Submitted, next_ip, related_numbers, submit};
use crate::helpers::storage::{contains_bytes as contains, rows_where};
use crate::on_both_backends;

on_both_backends!(
    a_case_goes_from_received_to_closed_and_the_reporter_reads_the_feedback,
    illegal_moves_are_refused_with_the_reason,
    an_inspector_asks_and_the_anonymous_reporter_answers,
    an_operator_sees_only_the_reports_they_entered,
    a_recused_inspector_never_sees_the_case,
    the_triage_list_filters_orders_and_pages,
    notes_events_and_assignments_are_recorded_and_sealed,
    a_merged_case_names_its_target_only_to_those_who_may_see_it,
);

/// What a service call on a case came to.
type Tried<T = ()> = Result<T, ServiceError>;

fn now() -> DateTime<Utc> {
    Utc::now()
}

async fn submit_anonymous(app: &TestApp, category: &str, village: &str) -> Submitted {
    submit(
        app,
        json!({
            "category": category,
            "village": village,
            "subject": "王某，村委会主任",
            "description": "村主任的亲戚开着小车还在吃低保",
            "anonymous": true
        }),
    )
    .await
}

async fn submit_real_name(app: &TestApp) -> Submitted {
    submit(
        app,
        json!({
            "category": "bribery",
            "village": "qingshan-village",
            "description": "办低保要先送两条烟",
            "anonymous": false,
            "reporter": {"name": "赵六", "phone": "13912345678"}
        }),
    )
    .await
}

async fn track(app: &TestApp, code: &str) -> Value {
    let response = app
        .post_json(
            "/api/v1/track?lang=en",
            &json!({"tracking_code": code}),
            &next_ip(),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// `cases::ask_reporter` as `viewer`, now.
async fn try_ask(app: &TestApp, viewer: &Viewer, id: Uuid, question: &str) -> Tried<Uuid> {
    cases::ask_reporter(app.on_case(viewer, id, now()), question).await
}

async fn move_to(app: &TestApp, viewer: &Viewer, id: Uuid, transition: Transition) {
    try_move(app, viewer, id, transition).await.unwrap();
}

/// `cases::change_status` as `viewer`, now.
async fn try_move(app: &TestApp, viewer: &Viewer, id: Uuid, to: Transition) -> Tried {
    cases::change_status(app.on_case(viewer, id, now()), to).await
}

/// `cases::record_event` as `viewer`, now, which records it: `event` happened `on`.
async fn record(
    app: &TestApp,
    viewer: &Viewer,
    id: Uuid,
    event: CaseEvent,
    on: NaiveDate,
    note: Option<&str>,
) {
    let happened = cases::Happened {
        event,
        on,
        note: note.map(Into::into),
    };
    cases::record_event(app.on_case(viewer, id, now()), happened)
        .await
        .unwrap();
}

/// Recuses `who` from a report, as intake does when the report names them.
async fn recuse(app: &TestApp, report_id: Uuid, who: &Viewer) {
    recusal::ActiveModel {
        report_id: Set(report_id),
        user_id: Set(who.user_id),
        source: Set("named".into()),
        reason: Set(None),
        by_user: Set(None),
        at: Set(now()),
    }
    .insert(app.db())
    .await
    .unwrap();
}

/// `cases::assign` as `viewer`, now: the case goes to `assignee`, or to nobody.
async fn try_assign(app: &TestApp, viewer: &Viewer, id: Uuid, assignee: Option<Uuid>) -> Tried {
    cases::assign(app.on_case(viewer, id, now()), assignee).await
}

async fn open(app: &TestApp, viewer: &Viewer, id: Uuid) -> Option<cases::CaseView> {
    cases::open_case(app.caller(viewer, now()), id, &app.state.deadlines)
        .await
        .unwrap()
}

/// `cases::add_note` as `viewer`, now.
async fn try_note(app: &TestApp, viewer: &Viewer, id: Uuid, text: &str) -> Tried<Uuid> {
    cases::add_note(app.on_case(viewer, id, now()), text).await
}

async fn list(app: &TestApp, viewer: &Viewer, filter: &CaseFilter) -> cases::CaseList {
    cases::list_cases(
        app.db(),
        viewer,
        filter,
        1,
        50,
        &app.state.deadlines,
        deadlines::today(now()),
    )
    .await
    .unwrap()
}

/// The default filter with one thing changed.
fn filter(change: impl FnOnce(&mut CaseFilter)) -> CaseFilter {
    let mut filter = CaseFilter::default();
    change(&mut filter);
    filter
}

fn numbers(list: &cases::CaseList) -> Vec<String> {
    list.rows.iter().map(|r| r.case_number.clone()).collect()
}

fn count_of(list: &cases::CaseList, status: Status) -> u64 {
    list.counts
        .iter()
        .find(|(s, _)| *s == status)
        .map(|(_, n)| *n)
        .unwrap()
}

async fn a_case_goes_from_received_to_closed_and_the_reporter_reads_the_feedback(app: TestApp) {
    let inspector = app.staff("li.jc", "李监察", &[Role::Inspector]).await;
    let case = submit_anonymous(&app, "connection", "dalu-community").await;
    assert!(case.report.case_number.ends_with("-0001"));

    move_to(&app, &inspector, case.report.id, Transition::Accept).await;
    assert_eq!(track(&app, &case.code).await["status"], "accepted");
    move_to(&app, &inspector, case.report.id, Transition::StartVerifying).await;
    let finding = "经入户核查，该户家庭收入部分超标";
    move_to(
        &app,
        &inspector,
        case.report.id,
        Transition::Conclude {
            outcome: Outcome::PartlySubstantiated,
            finding: finding.to_string(),
        },
    )
    .await;
    let concluded = track(&app, &case.code).await;
    assert_eq!(concluded["status"], "concluded");
    assert_eq!(
        concluded["feedback"],
        Value::Null,
        "no feedback before closing"
    );

    let feedback = "经核查，反映问题部分属实，已取消该户低保待遇。感谢您的监督。";
    move_to(
        &app,
        &inspector,
        case.report.id,
        Transition::Close {
            feedback: format!("  {feedback}\n"),
        },
    )
    .await;

    let answer = track(&app, &case.code).await;
    assert_eq!(answer["status"], "closed");
    assert_eq!(answer["status_text"], "Closed with feedback");
    assert_eq!(answer["feedback"], feedback);
    assert_eq!(answer["can_reply"], false);

    let page = app
        .post_form(
            "/track?lang=zh",
            &[("tracking_code", case.code.as_str())],
            &next_ip(),
        )
        .await;
    let html = body_with(page, 200).await;
    assert!(
        html.contains("办理结果反馈"),
        "the feedback heading is shown"
    );
    assert!(html.contains(feedback), "the feedback is shown");

    let view = open(&app, &inspector, case.report.id).await.unwrap();
    assert_eq!(view.status, Status::Closed);
    assert_eq!(view.outcome, Some(Outcome::PartlySubstantiated));
    let moves: Vec<(Option<Status>, Option<Status>)> =
        view.events.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(
        moves,
        vec![
            (Some(Status::Received), Some(Status::Accepted)),
            (Some(Status::Accepted), Some(Status::Verifying)),
            (Some(Status::Verifying), Some(Status::Concluded)),
            (Some(Status::Concluded), Some(Status::Closed)),
        ]
    );
    assert!(view.events.iter().all(|e| e.kind == "status"));
    assert_eq!(
        view.events[2].detail.as_deref().map(String::as_str),
        Some(finding)
    );
    assert_eq!(view.events[3].actor.as_deref(), Some("李监察"));

    let stored = rows_where(&app, report_event::Column::ReportId, case.report.id).await;
    let raw: Vec<u8> = stored
        .iter()
        .filter_map(|e| e.detail.clone())
        .flatten()
        .collect();
    assert!(!contains(&raw, finding.as_bytes()), "the finding is sealed");
    assert!(
        !contains(&raw, feedback.as_bytes()),
        "the feedback is sealed"
    );
}

/// The one message on report `id` that came from the reporter, as stored.
async fn reporters_message(app: &TestApp, id: Uuid) -> message::Model {
    message::Entity::find()
        .filter(message::Column::ReportId.eq(id))
        .filter(message::Column::FromInspector.eq(false))
        .one(app.db())
        .await
        .unwrap()
        .expect("the reporter's message")
}

async fn illegal_moves_are_refused_with_the_reason(app: TestApp) {
    let inspector = app.staff("li.jc", "李监察", &[Role::Inspector]).await;
    let operator = app.staff("zhou.hl", "周接线", &[Role::Operator]).await;
    let first = submit_anonymous(&app, "favor", "dalu-community").await;
    let second = submit_anonymous(&app, "favor", "dalu-community").await;
    let change = |viewer: &Viewer, id: Uuid, transition: Transition| {
        let viewer = viewer.clone();
        let app = &app;
        async move { try_move(app, &viewer, id, transition).await }
    };

    let skipped = change(
        &inspector,
        first.report.id,
        Transition::Conclude {
            outcome: Outcome::Substantiated,
            finding: "属实".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(
        skipped,
        ServiceError::IllegalTransition {
            from: Status::Received,
            to: Status::Concluded
        }
    ));
    assert_eq!(
        skipped.to_string(),
        "a case that is received cannot become concluded"
    );

    let invalid = [
        (
            first.report.id,
            Transition::NotAccept {
                reason: "  \n ".into(),
            },
            "error.required",
        ),
        (
            first.report.id,
            Transition::NotAccept {
                reason: "长".repeat(5001),
            },
            "error.too_long",
        ),
        (
            second.report.id,
            Transition::Merge {
                into_case_number: second.report.case_number.clone(),
            },
            "error.merge_into_itself",
        ),
        (
            second.report.id,
            Transition::Merge {
                into_case_number: "1999-0001".into(),
            },
            "error.merge_target",
        ),
    ];
    for (id, transition, code) in invalid {
        let refused = change(&inspector, id, transition).await.unwrap_err();
        assert!(
            matches!(refused, ServiceError::Invalid(c) if c == code),
            "{code}"
        );
    }
    let by_operator = change(&operator, first.report.id, Transition::Accept)
        .await
        .unwrap_err();
    assert!(matches!(by_operator, ServiceError::Forbidden));
    let unknown = change(&inspector, Uuid::new_v4(), Transition::Accept)
        .await
        .unwrap_err();
    assert!(matches!(unknown, ServiceError::NotFound));

    assert_eq!(track(&app, &second.code).await["status"], "received");

    change(
        &inspector,
        first.report.id,
        Transition::NotAccept {
            reason: "不属于受理范围".into(),
        },
    )
    .await
    .unwrap();
    change(
        &inspector,
        first.report.id,
        Transition::Close {
            feedback: "您反映的问题不属于本单位受理范围，已告知相关部门。".into(),
        },
    )
    .await
    .unwrap();
    for transition in [
        Transition::Accept,
        Transition::StartVerifying,
        Transition::Close {
            feedback: "再次办结".into(),
        },
        Transition::Merge {
            into_case_number: second.report.case_number.clone(),
        },
    ] {
        let to = transition.target();
        let refused = change(&inspector, first.report.id, transition)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, ServiceError::IllegalTransition { from: Status::Closed, to: t } if t == to),
            "closed → {}",
            to.code()
        );
    }

    change(
        &inspector,
        second.report.id,
        Transition::Merge {
            into_case_number: first.report.case_number.clone(),
        },
    )
    .await
    .unwrap();
    let merged = open(&app, &inspector, second.report.id).await.unwrap();
    assert_eq!(merged.status, Status::Merged);
    assert_eq!(
        merged
            .merged_into
            .as_ref()
            .map(|(_, number)| number.as_str()),
        Some(first.report.case_number.as_str())
    );
    assert_eq!(track(&app, &second.code).await["status"], "merged");
}

async fn an_inspector_asks_and_the_anonymous_reporter_answers(app: TestApp) {
    let inspector = app.staff("li.jc", "李监察", &[Role::Inspector]).await;
    let case = submit_anonymous(&app, "connection", "dalu-community").await;
    let code = TrackingCode::parse(&case.code).unwrap();
    let keyring = &app.state.keyring;

    let before = track(&app, &case.code).await;
    assert_eq!(before["messages"], json!([]));
    assert_eq!(before["can_reply"], false);
    assert_eq!(
        cases::reporter_reply(app.db(), keyring, &code, "我想补充", now())
            .await
            .unwrap(),
        ReplyOutcome::NotAllowed,
        "nobody has asked anything yet"
    );

    let question = "请问您说的小车是什么颜色、什么品牌？";
    try_ask(&app, &inspector, case.report.id, question)
        .await
        .unwrap();
    let asked = track(&app, &case.code).await;
    assert_eq!(asked["messages"][0]["from"], "inspector");
    assert_eq!(asked["messages"][0]["text"], question);
    assert_eq!(asked["messages"][0]["at"].as_str().unwrap().len(), 10);
    assert_eq!(asked["can_reply"], true);

    let answer = "白色的大众轿车，经常停在村委会门口";
    assert_eq!(
        cases::reporter_reply(app.db(), keyring, &code, answer, now())
            .await
            .unwrap(),
        ReplyOutcome::Stored
    );
    assert!(matches!(
        cases::reporter_reply(app.db(), keyring, &code, "   ", now())
            .await
            .unwrap(),
        ReplyOutcome::Invalid("error.required")
    ));
    let unknown = tipoff::crypto::new_tracking_code();
    assert_eq!(
        cases::reporter_reply(app.db(), keyring, &unknown, answer, now())
            .await
            .unwrap(),
        ReplyOutcome::NotFound
    );

    let answered = track(&app, &case.code).await;
    let messages = answered["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["from"], "reporter");
    assert_eq!(messages[1]["text"], answer);

    let stored = reporters_message(&app, case.report.id).await;
    assert_eq!(
        stored.at.with_timezone(&Shanghai).time(),
        NaiveTime::MIN,
        "an anonymous answer keeps no time of day"
    );
    assert_eq!(
        stored.at.with_timezone(&Shanghai).date_naive(),
        now().with_timezone(&Shanghai).date_naive()
    );
    assert!(
        !contains(&stored.body, answer.as_bytes()),
        "the answer is sealed"
    );

    let listed = list(&app, &inspector, &CaseFilter::default()).await;
    assert_eq!(listed.rows[0].unread_replies, 1);

    let first_look = open(&app, &inspector, case.report.id).await.unwrap();
    assert_eq!(first_look.messages.len(), 2);
    assert!(first_look.messages[0].from_inspector);
    assert_eq!(first_look.messages[0].author.as_deref(), Some("李监察"));
    assert_eq!(first_look.messages[1].text.as_str(), answer);
    assert!(first_look.messages[1].unread, "new the first time");
    assert!(first_look.messages[1].day_only);
    let second_look = open(&app, &inspector, case.report.id).await.unwrap();
    assert!(!second_look.messages[1].unread, "read the next time");
    let listed = list(&app, &inspector, &CaseFilter::default()).await;
    assert_eq!(listed.rows[0].unread_replies, 0);

    // A real-name reporter's answer keeps its time.
    let named = submit_real_name(&app).await;
    let named_code = TrackingCode::parse(&named.code).unwrap();
    try_ask(&app, &inspector, named.report.id, "请问是哪天送的？")
        .await
        .unwrap();
    let replied_at = now();
    assert_eq!(
        cases::reporter_reply(app.db(), keyring, &named_code, "三月五日", replied_at)
            .await
            .unwrap(),
        ReplyOutcome::Stored
    );
    let stored = reporters_message(&app, named.report.id).await;
    assert!((stored.at - replied_at).num_milliseconds().abs() < 1000);

    // Once closed, the conversation is over.
    for transition in [
        Transition::Accept,
        Transition::StartVerifying,
        Transition::Conclude {
            outcome: Outcome::Unsubstantiated,
            finding: "经核查不属实".into(),
        },
        Transition::Close {
            feedback: "经核查，该户收入符合低保条件。".into(),
        },
    ] {
        move_to(&app, &inspector, case.report.id, transition).await;
    }
    assert_eq!(track(&app, &case.code).await["can_reply"], false);
    assert_eq!(
        cases::reporter_reply(app.db(), keyring, &code, "还有一件事", now())
            .await
            .unwrap(),
        ReplyOutcome::NotAllowed
    );
    assert!(matches!(
        try_ask(&app, &inspector, case.report.id, "还在吗？").await,
        Err(ServiceError::Invalid("error.case_closed"))
    ));
}

async fn an_operator_sees_only_the_reports_they_entered(app: TestApp) {
    let operator = app.staff("zhou.hl", "周接线", &[Role::Operator]).await;
    let other_operator = app.staff("wu.hl", "吴接线", &[Role::Operator]).await;
    let admin = app.staff("admin", "管理员", &[Role::Admin]).await;
    let inspector = app.staff("li.jc", "李监察", &[Role::Inspector]).await;
    let mut entered = Vec::new();
    for _ in 0..2 {
        let case = submit_anonymous(&app, "policy", "xinmin-village").await;
        report::ActiveModel {
            id: Set(case.report.id),
            operator_id: Set(Some(operator.user_id)),
            ..Default::default()
        }
        .update(app.db())
        .await
        .unwrap();
        entered.push(case);
    }
    let public = submit_anonymous(&app, "policy", "xinmin-village").await;

    let theirs = list(&app, &operator, &CaseFilter::default()).await;
    let mut expected: Vec<String> = entered
        .iter()
        .map(|c| c.report.case_number.clone())
        .collect();
    expected.reverse();
    assert_eq!(numbers(&theirs), expected);
    assert_eq!(theirs.total, 2);
    assert_eq!(count_of(&theirs, Status::Received), 2);
    assert!(open(&app, &operator, entered[0].report.id).await.is_none());
    assert!(open(&app, &operator, public.report.id).await.is_none());
    assert!(matches!(
        try_note(&app, &operator, entered[0].report.id, "接线员备注").await,
        Err(ServiceError::Forbidden)
    ));

    assert!(
        list(&app, &other_operator, &CaseFilter::default())
            .await
            .rows
            .is_empty()
    );
    let nothing = list(&app, &admin, &CaseFilter::default()).await;
    assert!(nothing.rows.is_empty());
    assert_eq!(nothing.counts.iter().map(|(_, n)| n).sum::<u64>(), 0);
    assert!(open(&app, &admin, public.report.id).await.is_none());

    let all = list(&app, &inspector, &CaseFilter::default()).await;
    assert_eq!(all.total, 3);
    assert!(open(&app, &inspector, entered[0].report.id).await.is_some());
}

async fn a_recused_inspector_never_sees_the_case(app: TestApp) {
    let inspector = app.staff("li.jc", "李监察", &[Role::Inspector]).await;
    let recused = app.staff("wang.jc", "王监察", &[Role::Inspector]).await;
    let first = submit_anonymous(&app, "nepotism", "qingshan-village").await;
    let second = submit_anonymous(&app, "nepotism", "qingshan-village").await;
    let unrelated = submit_anonymous(&app, "favor", "dalu-community").await;

    // The same named person in the same village, as intake would have indexed it.
    let place = vec![7u8; 32];
    for (case, place_index) in [
        (&first, place.clone()),
        (&second, place.clone()),
        (&unrelated, vec![9u8; 32]),
    ] {
        report_name::ActiveModel {
            id: Set(Uuid::new_v4()),
            report_id: Set(case.report.id),
            index_key_id: Set("test".into()),
            name_index: Set(vec![1u8; 32]),
            place_index: Set(place_index),
        }
        .insert(app.db())
        .await
        .unwrap();
    }
    recuse(&app, second.report.id, &recused).await;

    let seen = open(&app, &inspector, first.report.id).await.unwrap();
    let related = related_numbers(&seen);
    assert_eq!(related, vec![second.report.case_number.as_str()]);
    let other = open(&app, &inspector, second.report.id).await.unwrap();
    let recused_names: Vec<&str> = other
        .recused
        .iter()
        .map(|r| r.display_name.as_str())
        .collect();
    assert_eq!(recused_names, vec!["王监察"]);

    assert!(open(&app, &recused, second.report.id).await.is_none());
    let their_view = open(&app, &recused, first.report.id).await.unwrap();
    assert!(their_view.related.is_empty(), "not even as a related case");
    assert!(their_view.recused.is_empty());
    let their_list = list(&app, &recused, &CaseFilter::default()).await;
    assert!(!numbers(&their_list).contains(&second.report.case_number));
    assert_eq!(their_list.total, 2);
    assert_eq!(count_of(&their_list, Status::Received), 2);
    assert_eq!(
        count_of(
            &list(&app, &inspector, &CaseFilter::default()).await,
            Status::Received
        ),
        3
    );

    assert!(matches!(
        try_move(&app, &recused, second.report.id, Transition::Accept).await,
        Err(ServiceError::NotFound)
    ));
    assert!(matches!(
        try_note(&app, &recused, second.report.id, "看看").await,
        Err(ServiceError::NotFound)
    ));
    assert!(matches!(
        try_assign(&app, &inspector, second.report.id, Some(recused.user_id)).await,
        Err(ServiceError::Invalid("error.assignee"))
    ));
    // Nor can the case be merged into one they cannot see.
    assert!(matches!(
        try_move(
            &app,
            &recused,
            first.report.id,
            Transition::Merge {
                into_case_number: second.report.case_number.clone()
            }
        )
        .await,
        Err(ServiceError::Invalid("error.merge_target"))
    ));
}

async fn the_triage_list_filters_orders_and_pages(app: TestApp) {
    let inspector = app.staff("li.jc", "李监察", &[Role::Inspector]).await;
    let colleague = app.staff("chen.jc", "陈监察", &[Role::Inspector]).await;
    let a = submit_anonymous(&app, "connection", "dalu-community").await;
    let b = submit_anonymous(&app, "bribery", "qingshan-village").await;
    let c = submit_real_name(&app).await; // bribery, qingshan-village
    let form = app
        .submit_form(
            &[("category", "favor"), ("village", "xinmin-village")],
            &next_ip(),
        )
        .await;
    assert_eq!(form.status(), 200);
    // The form's report, then dated before the others.
    let older = report::Entity::find()
        .filter(report::Column::Channel.eq("web"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    let d_number = older.case_number.clone();
    report::ActiveModel {
        id: Set(older.id),
        received_on: Set(NaiveDate::from_ymd_opt(2025, 12, 1).unwrap()),
        ..Default::default()
    }
    .update(app.db())
    .await
    .unwrap();

    move_to(&app, &inspector, b.report.id, Transition::Accept).await;
    try_assign(&app, &inspector, c.report.id, Some(inspector.user_id))
        .await
        .unwrap();
    try_assign(&app, &inspector, a.report.id, Some(colleague.user_id))
        .await
        .unwrap();

    let everything = list(&app, &inspector, &CaseFilter::default()).await;
    assert_eq!(
        numbers(&everything),
        vec![
            c.report.case_number.clone(),
            b.report.case_number.clone(),
            a.report.case_number.clone(),
            d_number.clone()
        ],
        "newest first, the older date last"
    );
    assert_eq!(everything.total, 4);
    assert_eq!(count_of(&everything, Status::Received), 3);
    assert_eq!(count_of(&everything, Status::Accepted), 1);
    let row_a = &everything.rows[2];
    assert_eq!(row_a.assignee.as_deref(), Some("陈监察"));
    assert_eq!(row_a.category, Category::Connection);
    assert_eq!(row_a.village.as_deref(), Some("dalu-community"));
    assert_eq!(row_a.channel, "api");
    assert!(row_a.anonymous);
    assert!(!everything.rows[0].anonymous);

    let oldest_first = list(&app, &inspector, &filter(|f| f.order = Order::OldestFirst)).await;
    let mut reversed = numbers(&everything);
    reversed.reverse();
    assert_eq!(numbers(&oldest_first), reversed);

    let accepted = list(
        &app,
        &inspector,
        &filter(|f| f.status = Some(Status::Accepted)),
    )
    .await;
    assert_eq!(numbers(&accepted), vec![b.report.case_number.clone()]);
    assert_eq!(accepted.total, 1);
    assert_eq!(
        count_of(&accepted, Status::Received),
        3,
        "the counts ignore the status filter"
    );

    let bribery = list(
        &app,
        &inspector,
        &filter(|f| f.category = Some(Category::Bribery)),
    )
    .await;
    assert_eq!(
        numbers(&bribery),
        vec![c.report.case_number.clone(), b.report.case_number.clone()]
    );
    assert_eq!(count_of(&bribery, Status::Received), 1);

    let dalu = list(
        &app,
        &inspector,
        &filter(|f| f.village = Some("dalu-community".into())),
    )
    .await;
    assert_eq!(numbers(&dalu), vec![a.report.case_number.clone()]);

    let web = list(
        &app,
        &inspector,
        &filter(|f| f.channel = Some("web".into())),
    )
    .await;
    assert_eq!(numbers(&web), vec![d_number.clone()]);

    let mine = list(&app, &inspector, &filter(|f| f.assigned_to_me = true)).await;
    assert_eq!(numbers(&mine), vec![c.report.case_number.clone()]);
    assert_eq!(mine.rows[0].assignee.as_deref(), Some("李监察"));

    let second_page = cases::list_cases(
        app.db(),
        &inspector,
        &CaseFilter::default(),
        2,
        3,
        &app.state.deadlines,
        deadlines::today(now()),
    )
    .await
    .unwrap();
    assert_eq!(numbers(&second_page), vec![d_number]);
    assert_eq!(second_page.total, 4);
}

async fn notes_events_and_assignments_are_recorded_and_sealed(app: TestApp) {
    let inspector = app.staff("li.jc", "李监察", &[Role::Inspector]).await;
    let operator = app.staff("zhou.hl", "周接线", &[Role::Operator]).await;
    let case = submit_anonymous(&app, "connection", "dalu-community").await;

    let text = "已联系村民小组长，约定周三入户";
    let note_id = try_note(&app, &inspector, case.report.id, text)
        .await
        .unwrap();
    let stored = note::Entity::find_by_id(note_id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.body.is_empty());
    assert!(
        !contains(&stored.body, text.as_bytes()),
        "the note is sealed"
    );
    assert!(matches!(
        try_note(&app, &inspector, case.report.id, " ").await,
        Err(ServiceError::Invalid("error.required"))
    ));

    let transfer_note = "移交街道纪检监察工作站";
    let today = tipoff::domain::local_day(now());
    record(
        &app,
        &inspector,
        case.report.id,
        CaseEvent::TransferredToDisciplinePost,
        today,
        Some(transfer_note),
    )
    .await;
    record(
        &app,
        &inspector,
        case.report.id,
        CaseEvent::ReportedToDistrictBureau,
        today,
        None,
    )
    .await;

    assert!(matches!(
        try_assign(&app, &inspector, case.report.id, Some(operator.user_id)).await,
        Err(ServiceError::Invalid("error.assignee"))
    ));
    try_assign(&app, &inspector, case.report.id, Some(inspector.user_id))
        .await
        .unwrap();

    let view = open(&app, &inspector, case.report.id).await.unwrap();
    assert_eq!(view.notes.len(), 1);
    assert_eq!(view.notes[0].text.as_str(), text);
    assert_eq!(view.notes[0].author.as_deref(), Some("李监察"));
    let kinds: Vec<&str> = view.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["transferred_discipline", "reported_bureau", "assigned"]
    );
    assert_eq!(
        view.events[0].detail.as_deref().map(String::as_str),
        Some(transfer_note)
    );
    assert!(view.events[1].detail.is_none());
    assert_eq!(view.assignee_id, Some(inspector.user_id));
    assert_eq!(view.assignee_name.as_deref(), Some("李监察"));
    assert_eq!(view.description.as_str(), "村主任的亲戚开着小车还在吃低保");
    assert_eq!(
        view.subject.as_deref().map(String::as_str),
        Some("王某，村委会主任")
    );
    assert!(view.reporter_name.is_none());

    try_assign(&app, &inspector, case.report.id, None)
        .await
        .unwrap();
    let view = open(&app, &inspector, case.report.id).await.unwrap();
    assert!(view.assignee_id.is_none());
}

async fn a_merged_case_names_its_target_only_to_those_who_may_see_it(app: TestApp) {
    let inspector = app.staff("li.jc", "李监察", &[Role::Inspector]).await;
    let recused = app.staff("wang.jc", "王监察", &[Role::Inspector]).await;
    let merged = submit_anonymous(&app, "nepotism", "qingshan-village").await;
    let target = submit_anonymous(&app, "nepotism", "qingshan-village").await;
    recuse(&app, target.report.id, &recused).await;
    let into_case_number = target.report.case_number.clone();
    move_to(
        &app,
        &inspector,
        merged.report.id,
        Transition::Merge { into_case_number },
    )
    .await;

    let seen = open(&app, &inspector, merged.report.id).await.unwrap();
    assert_eq!(
        seen.merged_into.as_ref().map(|(_, number)| number.as_str()),
        Some(target.report.case_number.as_str())
    );
    let their_view = open(&app, &recused, merged.report.id).await.unwrap();
    assert_eq!(their_view.status, Status::Merged);
    assert_eq!(
        their_view.merged_into, None,
        "the case it went into is not named to someone recused from it"
    );
}
