//! Mail: routing rules, escalation, the outbox and its worker. Delivery is checked against a
//! real SMTP server (Debian's aiosmtpd, started here on a free port); the rest uses the file
//! transport.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration as StdDuration, Instant};

use actix_web::web::Data;
use chrono::{DateTime, Duration, NaiveTime, SubsecRound, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;
use tipoff::config::{MailGroup, RoutingRule, Settings, SmtpSecurity};
use tipoff::domain::Role;
use tipoff::entities::{audit_entry, case_route, outbox, report_event};
use tipoff::mail::Rendered;
use tipoff::services::ServiceError;
use tipoff::services::cases::{self, Viewer};
use tipoff::services::outbox::Recipient;
use tipoff::services::outbox::{self as mail_outbox, FAILED, NewMail, PENDING, SENT};
use tipoff::services::routing;
use tipoff::startup::{Application, StartupError};
use tipoff::web::AppState;
use uuid::Uuid;

use crate::helpers::mail::{
    BUREAU, CIVIL_AFFAIRS, POST, SmtpSink, outbox_rows, smtp_sink, via_smtp,
};
use crate::helpers::reports::{report_body, report_on_a_cadre, submit, submit_to};
use crate::helpers::storage::{audit_entries, rows_where};
use crate::helpers::{
    Backend, TestApp, body_with, free_port, settings_in, smtp_server_available, spawn_app,
    spawn_app_with,
};
use crate::{on_both_backends, on_each_backend};

on_both_backends!(
    an_inspector_escalates_a_case_and_everything_is_recorded_at_once,
    a_send_interrupted_by_a_crash_is_sent_again_with_the_same_message_id,
);

on_each_backend!(
    new_reports_reach_the_groups_their_rules_name,
    mail_written_while_smtp_is_down_arrives_once_after_a_restart,
    a_row_that_keeps_failing_becomes_failed_and_an_admin_can_retry_it,
);

on_each_backend!(worker_threads = 4; concurrent_claims_never_overlap);

const QINGSHAN: &str = "qingshan@example.org";

/// Adds a village group, and rules that would send every Qingshan case to the
/// civil-affairs post; none names the district bureau. Who gets a case about civil-affairs
/// staff is then the code's decision.
fn qingshan_rules(settings: &mut Settings) {
    settings.mail.groups.insert(
        "qingshan_office".into(),
        MailGroup {
            name: "青山村监督组".into(),
            addresses: vec![QINGSHAN.into()],
        },
    );
    settings.routing.rules = vec![RoutingRule {
        category: None,
        village: Some("qingshan-village".into()),
        subject_role: None,
        groups: vec!["qingshan_office".into(), "civil_affairs_post".into()],
    }];
}

// 1. Recipients per rule, delivered by the background worker the application starts.

async fn new_reports_reach_the_groups_their_rules_name(backend: Backend) {
    let Some(sink) = smtp_sink() else {
        return;
    };
    let Some(app) = spawn_app_with(backend, |s| {
        via_smtp(s, sink.port);
        s.mail.interval_seconds = 1;
        qingshan_rules(s);
    })
    .await
    else {
        return;
    };

    let plain = submit(&app, report_body("connection", "dalu-community", None)).await;
    let cadre = submit(
        &app,
        report_body("favor", "qingshan-village", Some("village_cadre")),
    )
    .await;
    let staff = submit(
        &app,
        report_body("policy", "qingshan-village", Some("civil_affairs_staff")),
    )
    .await;

    let expected = [
        (&plain.report, BTreeSet::from([POST])),
        (
            &cadre.report,
            BTreeSet::from([POST, QINGSHAN, CIVIL_AFFAIRS]),
        ),
        (&staff.report, BTreeSet::from([POST, QINGSHAN, BUREAU])),
    ];
    // The worker's tick may also write the day's digest (after mail.digest_hour): only the
    // case mail is counted here.
    let messages = sink.wait_for_case_mail(7, 30).await;
    assert_eq!(messages.len(), 7, "{messages:#?}");
    for (case, recipients) in &expected {
        let got: BTreeSet<&str> = messages
            .iter()
            .filter(|m| m.subject.contains(&case.case_number))
            .flat_map(|m| {
                assert_eq!(m.rcpt_tos.len(), 1, "one recipient per message");
                assert_eq!(m.to, m.rcpt_tos[0]);
                m.rcpt_tos.iter().map(String::as_str)
            })
            .collect();
        assert_eq!(&got, recipients, "case {}", case.case_number);
    }

    // The routing decision is on the case.
    let about_staff = &staff.report;
    let routes: BTreeSet<(String, String)> =
        rows_where(&app, case_route::Column::ReportId, about_staff.id)
            .await
            .into_iter()
            .map(|r| (r.group_id, r.reason))
            .collect();
    let rule = |g: &str| (g.to_string(), "rule".to_string());
    assert_eq!(
        routes,
        BTreeSet::from([
            rule("discipline_post"),
            rule("qingshan_office"),
            rule("district_bureau")
        ])
    );

    // Every row is marked sent, and what arrived is exactly what the outbox held.
    let deadline = Instant::now() + StdDuration::from_secs(10);
    let rows = loop {
        let rows = outbox_rows(app.db()).await;
        if rows.iter().all(|r| r.state == SENT) || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    };
    assert!(rows.iter().all(|r| r.state == SENT && r.attempts == 1));
    let stored: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.kind != tipoff::services::digest::KIND_DIGEST)
        .map(|r| r.message_id.as_str())
        .collect();
    let arrived: BTreeSet<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(stored, arrived);
}

// 2. No report content in any mail.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_mail_carries_report_text_names_phone_or_tracking_code() {
    let Some(sink) = smtp_sink() else {
        return;
    };
    let app = spawn_app_with(Backend::Sqlite, |s| via_smtp(s, sink.port))
        .await
        .unwrap();
    let real_name = submit(
        &app,
        json!({
            "category": "bribery",
            "village": "xinmin-village",
            "subject": "钱多多，民政办主任",
            "subject_role": "civil_affairs_staff",
            "description": "金丝雀正文：钱多多收了低保户两条中华烟",
            "occurred": "元宵节前后",
            "anonymous": false,
            "reporter": {"name": "赵金丝", "phone": "13812345678"}
        }),
    )
    .await;
    let anonymous = submit(
        &app,
        json!({
            "category": "nepotism",
            "village": "qingshan-village",
            "subject": "孙银雀，村委会主任",
            "description": "银雀正文：孙银雀把低保给了小舅子",
            "anonymous": true
        }),
    )
    .await;
    let batch = app.run_outbox().await;
    let rows = outbox_rows(app.db()).await;
    assert_eq!(batch.sent, rows.len());
    let messages = sink.wait_for(rows.len(), 10).await;
    assert_eq!(messages.len(), rows.len());

    let mut canaries: Vec<String> = [
        "金丝雀",
        "钱多多",
        "中华烟",
        "元宵节",
        "赵金丝",
        "13812345678",
        "孙银雀",
        "银雀正文",
        "小舅子",
        "王某",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for code in [&real_name.code, &anonymous.code] {
        canaries.push(code.clone());
        canaries.push(code.replace(' ', ""));
    }
    for message in &messages {
        // The decoding worked: the mail does say which case it is about.
        let decoded = message.parts.join("\n");
        assert!(decoded.contains("案件编号"), "{decoded}");
        assert!(decoded.contains("/staff/cases/"));
        let raw = String::from_utf8_lossy(&message.raw);
        for canary in &canaries {
            for (what, text) in [
                ("raw message", raw.as_ref()),
                ("decoded parts", decoded.as_str()),
                ("subject", message.subject.as_str()),
            ] {
                assert!(!text.contains(canary.as_str()), "{canary} in the {what}");
            }
        }
    }
    for row in &rows {
        for canary in &canaries {
            for text in [&row.subject, &row.body_text, &row.body_html] {
                assert!(!text.contains(canary.as_str()), "{canary} in the outbox");
            }
        }
    }
}

// 3. SMTP down, a restart, SMTP up: everything arrives, once.

async fn mail_written_while_smtp_is_down_arrives_once_after_a_restart(backend: Backend) {
    if !smtp_server_available() {
        return;
    }
    let port = free_port();
    let Some(app) = spawn_app_with(backend, |s| via_smtp(s, port)).await else {
        return;
    };
    submit(&app, report_body("connection", "dalu-community", None)).await;
    submit(
        &app,
        report_body("wrongful_exclusion", "qingshan-village", None),
    )
    .await;
    submit(
        &app,
        report_body("policy", "xinmin-village", Some("civil_affairs_staff")),
    )
    .await;
    let before_restart = outbox_rows(app.db()).await.len();
    assert_eq!(before_restart, 1 + 2 + 2);
    let batch = app.run_outbox().await;
    assert_eq!(batch.sent, 0);
    assert_eq!(
        batch.retrying, before_restart,
        "nobody listens: every send fails"
    );
    assert!(
        outbox_rows(app.db())
            .await
            .iter()
            .all(|r| r.state == PENDING && r.last_error.is_some())
    );

    // A clean restart: a new instance on the same database and keys.
    let offset = app.clock_offset.clone();
    let clock: tipoff::web::Clock =
        Arc::new(move || Utc::now() + Duration::seconds(offset.load(Ordering::SeqCst)));
    let restarted = Application::build_with_clock(app.state.settings.clone(), clock)
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", restarted.port());
    let state = restarted.state();
    tokio::spawn(restarted.run_until_stopped());
    submit_to(&app, &base, report_body("favor", "dalu-community", None)).await;
    submit_to(&app, &base, report_body("other", "dalu-community", None)).await;

    let sink = SmtpSink::start(port);
    // The new rows go at once; the old ones wait out their backoff, then go too.
    let batch = state.outbox.run_once(&state.db, state.now()).await.unwrap();
    assert_eq!(batch.sent, 2);
    app.advance(3 * 3600);
    for _ in 0..5 {
        state.outbox.run_once(&state.db, state.now()).await.unwrap();
    }
    let rows = outbox_rows(&state.db).await;
    assert_eq!(rows.len(), before_restart + 2);
    assert!(rows.iter().all(|r| r.state == SENT), "{rows:#?}");
    let messages = sink.wait_for(rows.len(), 10).await;
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for message in &messages {
        *seen.entry(message.message_id.as_str()).or_default() += 1;
    }
    for row in &rows {
        assert_eq!(
            seen.get(row.message_id.as_str()),
            Some(&1),
            "{} arrived once",
            row.message_id
        );
    }
    assert_eq!(messages.len(), rows.len());
}

// 4. Several instances on one PostgreSQL.

/// Writes `n` notifications straight into the outbox, due now.
async fn enqueue_many(db: &DatabaseConnection, n: usize, now: DateTime<Utc>) {
    let mail = Rendered {
        subject: "【举报线索】测试".into(),
        text: "案件编号：测试".into(),
        html: "<p>案件编号：测试</p>".into(),
    };
    for i in 0..n {
        let recipient = Recipient {
            group: "discipline_post".into(),
            address: format!("box{i}@example.org"),
            user: None,
        };
        mail_outbox::enqueue(
            db,
            NewMail {
                report_id: None,
                kind: "test",
                recipient: &recipient,
                mail: &mail,
                message_domain: "example.org",
            },
            now,
        )
        .await
        .unwrap();
    }
}

/// Sends batches until nothing is left to send by anyone; returns how many this one sent.
async fn drain(state: Data<AppState>) -> usize {
    let mut sent = 0;
    loop {
        let batch = state.outbox.run_once(&state.db, Utc::now()).await.unwrap();
        sent += batch.sent;
        assert_eq!(batch.retrying + batch.failed, 0);
        if batch.claimed() == 0 {
            if mail_outbox::pending_count(&state.db).await.unwrap() == 0 {
                return sent;
            }
            tokio::time::sleep(StdDuration::from_millis(5)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_postgresql_send_each_row_once() {
    let Some(sink) = smtp_sink() else {
        return;
    };
    let Some(app) = spawn_app_with(Backend::Postgres, |s| {
        via_smtp(s, sink.port);
        s.mail.batch_size = 3;
    })
    .await
    else {
        return;
    };
    for _ in 0..4 {
        submit(&app, report_body("connection", "dalu-community", None)).await;
    }
    enqueue_many(app.db(), 56, app.now()).await;
    let second = Application::build(app.state.settings.clone())
        .await
        .unwrap();
    let other = second.state();
    tokio::spawn(second.run_until_stopped());
    assert_ne!(app.state.outbox.instance_id(), other.outbox.instance_id());

    let (a, b) = tokio::join!(
        tokio::spawn(drain(app.state.clone())),
        tokio::spawn(drain(other.clone()))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    eprintln!("instance A sent {a}, instance B sent {b}");
    assert_eq!(a + b, 60);
    let rows = outbox_rows(app.db()).await;
    assert!(rows.iter().all(|r| r.state == SENT && r.attempts == 1));
    let messages = sink.wait_for(60, 20).await;
    assert_eq!(messages.len(), 60);
    let arrived: BTreeSet<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
    let stored: BTreeSet<&str> = rows.iter().map(|r| r.message_id.as_str()).collect();
    assert_eq!(arrived, stored, "each row arrived exactly once");
}

/// Many claimers on two connection pools at once: no row is ever claimed twice.
async fn concurrent_claims_never_overlap(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let now = app.now();
    enqueue_many(app.db(), 120, now).await;
    let second_pool = tipoff::db::connect(&app.state.settings.database)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let db = if n % 2 == 0 {
            app.db().clone()
        } else {
            second_pool.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let claimed = mail_outbox::claim_batch(
                    &db,
                    &format!("claimer-{n}"),
                    now,
                    4,
                    Duration::minutes(15),
                )
                .await
                .unwrap();
                if claimed.is_empty() {
                    return ids;
                }
                ids.extend(claimed.into_iter().map(|r| r.id));
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let unique: BTreeSet<_> = all.iter().collect();
    assert_eq!(all.len(), 120, "every row claimed");
    assert_eq!(unique.len(), 120, "no row claimed twice");
}

// 5. A row that keeps failing becomes visibly failed; an admin sends it again.

async fn a_row_that_keeps_failing_becomes_failed_and_an_admin_can_retry_it(backend: Backend) {
    let port = free_port();
    let Some(app) = spawn_app_with(backend, |s| via_smtp(s, port)).await else {
        return;
    };
    submit(&app, report_body("connection", "dalu-community", None)).await;
    let worker = &app.state.outbox;
    let policy = *worker.policy();
    assert_eq!(policy.max_attempts, 4, "the test profile's limit");
    // Whole seconds: PostgreSQL keeps microseconds, and the test compares instants.
    let mut now = app.now().trunc_subsecs(0);
    for attempt in 1..=policy.max_attempts {
        let batch = worker.run_once(app.db(), now).await.unwrap();
        let row = outbox_rows(app.db()).await.remove(0);
        assert_eq!(row.attempts, attempt);
        assert!(!row.last_error.as_deref().unwrap_or_default().is_empty());
        if attempt < policy.max_attempts {
            assert_eq!(batch.retrying, 1);
            assert_eq!(row.state, PENDING);
            let wait = policy.backoff(attempt);
            assert_eq!(row.next_attempt_at, now + wait);
            // Not before the backoff is over.
            let early = worker
                .run_once(app.db(), now + wait - Duration::seconds(1))
                .await
                .unwrap();
            assert_eq!(early.claimed(), 0);
            now += wait;
        } else {
            assert_eq!(batch.failed, 1);
            assert_eq!(row.state, FAILED);
        }
    }
    // Failed rows stay failed: nothing picks them up again by itself.
    let later = worker
        .run_once(app.db(), now + Duration::days(30))
        .await
        .unwrap();
    assert_eq!(later.claimed(), 0);
    assert_eq!(mail_outbox::failed_count(app.db()).await.unwrap(), 1);
    let failed = mail_outbox::failed_rows(app.db()).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attempts, 4);
    assert_eq!(failed[0].recipient, POST);

    // The metric shows it, to a local scraper only.
    let metrics = app.get("/metrics").await;
    let text = body_with(metrics, 200).await;
    assert!(text.contains("\ntipoff_outbox_failed 1\n"), "{text}");
    assert!(text.contains("\ntipoff_outbox_pending 0\n"), "{text}");
    let proxied = app
        .get_with("/metrics", "x-forwarded-for", "192.0.2.7")
        .await;
    assert_eq!(proxied.status(), 404);

    // Only an admin may send it again, and that is audited.
    let inspector = app
        .staff("inspector1", "检查员甲", &[Role::Inspector])
        .await;
    let admin = app.staff("admin1", "管理员甲", &[Role::Admin]).await;
    let id = failed[0].id;
    assert!(matches!(
        mail_outbox::retry(app.caller(&inspector, now), id).await,
        Err(ServiceError::Forbidden)
    ));
    mail_outbox::retry(app.caller(&admin, now), id)
        .await
        .unwrap();
    assert!(matches!(
        mail_outbox::retry(app.caller(&admin, now), id).await,
        Err(ServiceError::NotFound)
    ));
    let audited = audit_entries(&app, "mail_retry").await;
    assert_eq!(audited.len(), 1, "the refused retries left no entry");
    assert_eq!(audited[0].actor_id, Some(admin.user_id));
    assert_eq!(mail_outbox::failed_count(app.db()).await.unwrap(), 0);
    assert_eq!(mail_outbox::pending_count(app.db()).await.unwrap(), 1);

    if smtp_server_available() {
        let sink = SmtpSink::start(port);
        let batch = worker.run_once(app.db(), now).await.unwrap();
        assert_eq!(batch.sent, 1);
        let messages = sink.wait_for(1, 10).await;
        assert_eq!(messages.len(), 1);
        assert_eq!(
            messages[0].message_id,
            outbox_rows(app.db()).await[0].message_id
        );
    }
}

// 6. Startup checks.

async fn startup_error(settings: Settings) -> String {
    match Application::build(settings).await {
        Ok(_) => panic!("the service started"),
        Err(error) => {
            assert!(matches!(error, StartupError::Config(_)), "{error}");
            error.to_string()
        }
    }
}

#[tokio::test]
async fn plain_smtp_to_a_host_that_is_not_loopback_is_refused_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path());
    via_smtp(&mut settings, 25);
    settings.mail.smtp.host = "mail.example.org".into();
    let message = startup_error(settings.clone()).await;
    assert!(message.contains("plain"), "{message}");
    assert!(message.contains("mail.example.org"), "{message}");
    assert!(
        !dir.path().join("t.db").exists(),
        "refused before touching the database"
    );

    // The same relay with STARTTLS, or plain to loopback, is fine.
    settings.mail.smtp.security = SmtpSecurity::Starttls;
    Application::build(settings.clone()).await.unwrap();
    for loopback in ["127.0.0.1", "localhost", "::1"] {
        settings.mail.smtp.security = SmtpSecurity::Plain;
        settings.mail.smtp.host = loopback.into();
        Application::build(settings.clone()).await.unwrap();
    }
}

#[tokio::test]
async fn a_rule_naming_an_unknown_group_village_or_category_stops_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let rule = |category: Option<&str>, village: Option<&str>, group: &str| RoutingRule {
        category: category.map(String::from),
        village: village.map(String::from),
        subject_role: None,
        groups: vec![group.to_string()],
    };
    for (bad, named) in [
        (rule(None, None, "zhen_office"), "zhen_office"),
        (
            rule(None, Some("taohua-village"), "discipline_post"),
            "taohua-village",
        ),
        (rule(Some("graft"), None, "discipline_post"), "graft"),
    ] {
        let mut settings = settings_in(dir.path());
        settings.routing.rules.push(bad);
        let message = startup_error(settings).await;
        assert!(message.contains(named), "{message}");
    }
    let mut settings = settings_in(dir.path());
    settings.mail.groups.remove("discipline_post");
    let message = startup_error(settings).await;
    assert!(message.contains("discipline_post"), "{message}");
}

// Escalation, and what intake records (file transport).

/// `viewer` sends a case on to the mail group `group`, at `now`.
async fn escalate(
    app: &TestApp,
    viewer: &Viewer,
    case: Uuid,
    group: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let state = &app.state;
    cases::escalate(
        app.on_case(viewer, case, now),
        &state.routing,
        &state.deadlines,
        group,
    )
    .await
}

fn shanghai_time(at: DateTime<Utc>) -> NaiveTime {
    at.with_timezone(&Shanghai).time()
}

async fn an_inspector_escalates_a_case_and_everything_is_recorded_at_once(app: TestApp) {
    let inspector = app
        .staff("inspector1", "检查员甲", &[Role::Inspector])
        .await;
    let named = app.staff("inspector2", "钱多多", &[Role::Inspector]).await;
    let operator = app.staff("operator1", "话务员甲", &[Role::Operator]).await;
    let case = submit(
        &app,
        json!({
            "category": "connection",
            "village": "dalu-community",
            "subject": "钱多多，民政办主任",
            "subject_role": "civil_affairs_staff",
            "description": "钱多多的亲戚开着小车还在吃低保",
            "anonymous": true
        }),
    )
    .await
    .report;
    let db = app.db();
    let routing = &app.state.routing;

    // An anonymous report's routing and outbox rows keep its day only.
    let intake_routes = case_route::Entity::find()
        .filter(case_route::Column::ReportId.eq(case.id))
        .all(db)
        .await
        .unwrap();
    assert_eq!(
        intake_routes.len(),
        2,
        "discipline post and district bureau"
    );
    let rows = outbox_rows(db).await;
    assert_eq!(rows.len(), 2);
    for at in intake_routes
        .iter()
        .map(|r| r.at)
        .chain(rows.iter().flat_map(|r| [r.created_at, r.next_attempt_at]))
    {
        assert_eq!(shanghai_time(at), NaiveTime::MIN, "{at}");
    }

    let now = app.now();
    let entries_before = audit_entry::Entity::find().all(db).await.unwrap().len();
    assert!(matches!(
        escalate(&app, &operator, case.id, "qingshan", now).await,
        Err(ServiceError::Forbidden)
    ));
    assert!(matches!(
        escalate(&app, &named, case.id, "civil_affairs_post", now).await,
        Err(ServiceError::NotFound)
    ));
    assert!(matches!(
        escalate(&app, &inspector, case.id, "nowhere", now).await,
        Err(ServiceError::Invalid("error.unknown_group"))
    ));
    assert!(matches!(
        escalate(&app, &inspector, case.id, "civil_affairs_post", now).await,
        Err(ServiceError::Invalid("error.excluded_group"))
    ));
    assert!(matches!(
        escalate(&app, &inspector, case.id, "district_bureau", now).await,
        Err(ServiceError::Invalid("error.already_routed"))
    ));
    // Nothing of the refused attempts was kept.
    assert_eq!(
        audit_entry::Entity::find().all(db).await.unwrap().len(),
        entries_before
    );
    assert_eq!(
        case_route::Entity::find()
            .filter(case_route::Column::ReportId.eq(case.id))
            .all(db)
            .await
            .unwrap()
            .len(),
        2
    );

    // A case not about civil-affairs staff can go to the civil-affairs post.
    let other = report_on_a_cadre(&app, "favor", "xinmin-village").await;
    let rows_before = outbox_rows(db).await.len();
    escalate(&app, &inspector, other.id, "civil_affairs_post", now)
        .await
        .unwrap();

    let routes = routing::routes_of_case(db, routing, other.id)
        .await
        .unwrap();
    let last = routes.last().unwrap();
    assert_eq!(last.group, "civil_affairs_post");
    assert_eq!(last.group_name, "街道民政岗");
    assert_eq!(last.reason, "escalation");
    assert_eq!(last.actor, Some(inspector.user_id));
    let events = report_event::Entity::find()
        .filter(report_event::Column::ReportId.eq(other.id))
        .filter(report_event::Column::Kind.eq("escalated"))
        .all(db)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_id, Some(inspector.user_id));
    let audited = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("case_event"))
        .filter(audit_entry::Column::ReportId.eq(other.id))
        .all(db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
    assert!(
        audited[0]
            .detail
            .contains("escalated to civil_affairs_post")
    );
    assert_eq!(
        audit_entry::Entity::find().all(db).await.unwrap().len(),
        entries_before + 1
    );
    let new_rows: Vec<outbox::Model> = outbox_rows(db)
        .await
        .into_iter()
        .filter(|r| r.kind == routing::KIND_ESCALATION)
        .collect();
    assert_eq!(outbox_rows(db).await.len(), rows_before + 1);
    assert_eq!(new_rows.len(), 1);
    assert_eq!(new_rows[0].recipient, CIVIL_AFFAIRS);
    assert_eq!(new_rows[0].report_id, Some(other.id));
    assert!(new_rows[0].subject.contains(&other.case_number));
}

// A crash between sending and marking sent: the claim expires and the same mail goes again.

async fn a_send_interrupted_by_a_crash_is_sent_again_with_the_same_message_id(app: TestApp) {
    submit(&app, report_body("connection", "dalu-community", None)).await;
    let policy = *app.state.outbox.policy();
    let t0 = app.now();
    // An instance claims the row and dies before it can mark it sent.
    let claimed = mail_outbox::claim_batch(app.db(), "crashed", t0, 10, policy.claim_timeout)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let worker = &app.state.outbox;
    let soon = worker
        .run_once(app.db(), t0 + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(soon.claimed(), 0, "a live claim is left alone");
    let later = worker
        .run_once(app.db(), t0 + policy.claim_timeout + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(later.sent, 1);
    let row = outbox_rows(app.db()).await.remove(0);
    assert_eq!(row.state, SENT);
    assert_eq!(row.attempts, 2);
    assert_eq!(row.claimed_by.as_deref(), Some(worker.instance_id()));

    // The file transport wrote it, with the row's Message-ID.
    let dir = &app.state.settings.mail.file_dir;
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        eml.contains(&format!("Message-ID: {}", row.message_id)),
        "{eml}"
    );
    assert!(row.message_id.starts_with('<') && row.message_id.ends_with("@example.invalid>"));
}
