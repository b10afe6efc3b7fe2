//! Due dates in case mail, and the daily digest: once a day from the configured hour,
//! whatever the number of instances, each inspector's own due cases (recused ones left out),
//! every due case with the audit log's head for the discipline post, and never any content.

use std::collections::BTreeSet;

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tipoff::domain::Role;
use tipoff::entities::{digest, outbox};
use tipoff::services::cases;
use tipoff::services::digest::{self as digests, DigestRun, KIND_DIGEST};
use tipoff::services::outbox::{Batch, SENT};
use tipoff::services::{audit, recusal, routing};

use crate::helpers::mail::{BUREAU, POST, SmtpSink, outbox_rows, smtp_sink, via_smtp};
use crate::helpers::reports::{report_on_a_cadre, submit};
use crate::helpers::{Backend, TestApp, spawn_app_with};
use crate::on_each_backend;

on_each_backend!(
    a_new_case_mail_carries_its_due_date_counted_over_the_national_day_week,
    each_inspector_gets_their_own_due_cases_and_the_post_every_one_with_the_audit_head,
    an_escalation_mail_carries_the_current_stages_due_date,
);

on_each_backend!(worker_threads = 4; two_instances_ticking_together_write_one_digest_a_day);

/// The SMTP sink when aiosmtpd is here, and the app sending to it (file transport without).
async fn app_with_sink(backend: Backend) -> Option<(TestApp, Option<SmtpSink>)> {
    let sink = smtp_sink();
    let app = spawn_app_with(backend, |s| {
        if let Some(sink) = &sink {
            via_smtp(s, sink.port);
        }
    })
    .await?;
    Some((app, sink))
}

fn canary_report(n: usize, village: &str) -> Value {
    json!({
        "category": "favor",
        "village": village,
        "subject": format!("钱多多{n}，村委会主任"),
        "description": format!("金丝雀正文{n}：钱多多把低保给了小舅子"),
        "occurred": "元宵节前后",
        "anonymous": false,
        "reporter": {"name": format!("赵金丝{n}"), "phone": "13812345678"}
    })
}

const CANARIES: [&str; 6] = [
    "金丝雀",
    "钱多多",
    "小舅子",
    "元宵节",
    "赵金丝",
    "13812345678",
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn digest_rows(app: &TestApp) -> Vec<outbox::Model> {
    outbox_rows(app.db())
        .await
        .into_iter()
        .filter(|r| r.kind == KIND_DIGEST)
        .collect()
}

/// Writes the day's digests now, if it is past the test profile's hour (8) and nobody has.
async fn enqueue_digests(app: &TestApp) -> DigestRun {
    let state = &app.state;
    digests::enqueue_digests(app.db(), &state.routing, &state.deadlines, 8, app.now())
        .await
        .unwrap()
}

/// One tick of the mail worker, now: the digests if they are due, then a batch.
async fn tick(app: &TestApp) -> Batch {
    let state = &app.state;
    digests::tick(
        &state.outbox,
        app.db(),
        &state.routing,
        &state.deadlines,
        app.now(),
    )
    .await
    .unwrap()
}

fn to<'a>(rows: &'a [outbox::Model], address: &str) -> Vec<&'a outbox::Model> {
    rows.iter().filter(|r| r.recipient == address).collect()
}

// 1. The due date in the new-case mail.

async fn a_new_case_mail_carries_its_due_date_counted_over_the_national_day_week(backend: Backend) {
    let Some((app, sink)) = app_with_sink(backend).await else {
        return;
    };
    // Sat 28 Sep: the make-up Sunday 29 Sep and Mon 30 Sep count, then the holiday week
    // does not, so the third working day is Tue 8 Oct.
    app.set_clock("2024-09-28 10:00");
    let before = report_on_a_cadre(&app, "connection", "dalu-community").await;
    // Thu 3 Oct, inside the holiday: 8, 9 and 10 Oct.
    app.set_clock("2024-10-03 22:30");
    let during = report_on_a_cadre(&app, "favor", "qingshan-village").await;
    let expected = [
        (&before.case_number, "2024-10-08"),
        (&during.case_number, "2024-10-10"),
    ];
    let rows = outbox_rows(app.db()).await;
    assert_eq!(rows.len(), 2, "one mail each, to the discipline post");
    for (number, due) in expected {
        let row = rows
            .iter()
            .find(|r| r.subject.contains(number.as_str()))
            .unwrap();
        let line = format!("办理期限：{due}");
        assert!(row.body_text.contains(&line), "{}", row.body_text);
        assert!(row.body_html.contains(&line), "{}", row.body_html);
    }

    let Some(sink) = sink else { return };
    let batch = app.run_outbox().await;
    assert_eq!(batch.sent, 2);
    let messages = sink.wait_for(2, 10).await;
    assert_eq!(messages.len(), 2);
    for (number, due) in expected {
        let message = messages
            .iter()
            .find(|m| m.subject.contains(number.as_str()))
            .unwrap();
        assert_eq!(message.rcpt_tos, [POST]);
        assert_eq!(message.parts.len(), 2, "a text and an HTML part");
        for part in &message.parts {
            assert!(part.contains(&format!("办理期限：{due}")), "{part}");
        }
    }
}

// 2. Who gets which digest, and what it says.

async fn each_inspector_gets_their_own_due_cases_and_the_post_every_one_with_the_audit_head(
    backend: Backend,
) {
    let Some((app, sink)) = app_with_sink(backend).await else {
        return;
    };
    let db = app.db();
    let keyring = &app.state.keyring;
    app.set_clock("2024-09-27 10:00");
    let li = app
        .inspector_with_mail("li.jc", "李监察", "li.jc@example.org")
        .await;
    let wang = app
        .inspector_with_mail("wang.jc", "王监察", "wang.jc@example.org")
        .await;
    // An inspector without a mail address gets no digest, whatever is assigned to them.
    let zhao = app.staff("zhao.jc", "赵监察", &[Role::Inspector]).await;
    // Fri 27 Sep: due Tue 8 Oct, so overdue on Wed 9 Oct.
    let mut submitted = vec![submit(&app, canary_report(1, "qingshan-village")).await];
    // Tue 8 Oct: due Fri 11 Oct, within the two working days the digest looks ahead.
    app.set_clock("2024-10-08 10:00");
    for n in 2..=5 {
        submitted.push(submit(&app, canary_report(n, "dalu-community")).await);
    }
    // Wed 9 Oct: due Sat 12 Oct (a make-up working day), three working days away.
    app.set_clock("2024-10-09 07:00");
    submitted.push(submit(&app, canary_report(6, "xinmin-village")).await);
    let cases: Vec<_> = submitted.iter().map(|s| s.report.clone()).collect();
    let [late, soon_li, soon_wang, soon_recused, soon_zhao, not_yet] = &cases[..] else {
        unreachable!()
    };
    for (case, assignee) in [
        (late, &li),
        (soon_li, &li),
        (soon_wang, &wang),
        (soon_recused, &li),
        (soon_zhao, &zhao),
        (not_yet, &li),
    ] {
        cases::assign(
            app.on_case(&wang, case.id, app.now()),
            Some(assignee.user_id),
        )
        .await
        .unwrap();
    }
    // Recused after the assignment: the case must still stay out of Li's digest.
    recusal::recuse_manually(
        db,
        keyring,
        soon_recused.id,
        li.user_id,
        wang.user_id,
        "李监察与被反映人是亲属",
        app.now(),
    )
    .await
    .unwrap();

    // Before the hour: nothing, on any tick.
    assert_eq!(app.state.settings.mail.digest_hour, 8);
    let early = enqueue_digests(&app).await;
    assert_eq!(early, DigestRun::TooEarly);
    tick(&app).await;
    assert!(digest_rows(&app).await.is_empty());
    assert_eq!(digest::Entity::find().count(db).await.unwrap(), 0);

    app.set_clock("2024-10-09 08:05");
    let mail_before = outbox_rows(db).await.len();
    let batch = tick(&app).await;
    let rows = digest_rows(&app).await;
    let recipients: BTreeSet<&str> = rows.iter().map(|r| r.recipient.as_str()).collect();
    assert_eq!(
        recipients,
        BTreeSet::from([POST, "li.jc@example.org", "wang.jc@example.org"]),
        "the post and each inspector with a mail address and a due case"
    );
    assert_eq!(rows.len(), 3, "one each");
    assert_eq!(outbox_rows(db).await.len(), mail_before + 3);
    assert_eq!(batch.sent, 3, "the same tick sends them");
    let (seq, mac) = audit::head(db).await.unwrap();
    let mac = hex(&mac.expect("the log has entries"));
    assert_eq!(mac.len(), 64);

    let listed = |row: &outbox::Model| -> BTreeSet<String> {
        cases
            .iter()
            .filter(|c| row.body_text.contains(&c.case_number))
            .map(|c| c.case_number.clone())
            .collect()
    };
    let numbers = |list: &[&tipoff::entities::report::Model]| -> BTreeSet<String> {
        list.iter().map(|c| c.case_number.clone()).collect()
    };
    let post = to(&rows, POST)[0];
    assert_eq!(
        listed(post),
        numbers(&[late, soon_li, soon_wang, soon_recused, soon_zhao]),
        "the post's digest lists every due case and only those"
    );
    assert!(
        post.subject.contains("每日汇总 2024-10-09"),
        "{}",
        post.subject
    );
    assert!(post.subject.contains("期限将至 4 件，已超期 1 件"));
    for part in [&post.body_text, &post.body_html] {
        assert!(part.contains(&format!("最新序号：{seq}")), "{part}");
        assert!(part.contains(&mac), "the HMAC in hex: {part}");
        assert!(part.contains("办理期限：2024-10-08（已超期）"), "{part}");
        assert!(part.contains("办理期限：2024-10-11"), "{part}");
        assert!(part.contains(&format!("/staff/cases/{}", late.id)));
    }
    let li_row = to(&rows, "li.jc@example.org")[0];
    assert_eq!(listed(li_row), numbers(&[late, soon_li]));
    assert_eq!(li_row.recipient_group, digests::ASSIGNEE_GROUP);
    assert!(li_row.subject.contains("每日提醒 2024-10-09"));
    let wang_row = to(&rows, "wang.jc@example.org")[0];
    assert_eq!(listed(wang_row), numbers(&[soon_wang]));
    for row in [li_row, wang_row] {
        assert!(!row.body_text.contains("HMAC") && !row.body_text.contains(&mac));
    }

    // Nothing a person wrote, no name, phone or tracking code.
    let mut canaries: Vec<String> = CANARIES.iter().map(|s| s.to_string()).collect();
    canaries.extend(["李监察", "王监察", "赵监察"].map(String::from));
    for code in submitted.iter().map(|s| &s.code) {
        canaries.push(code.clone());
        canaries.push(code.replace(' ', ""));
    }
    for row in &rows {
        for canary in &canaries {
            for text in [&row.subject, &row.body_text, &row.body_html] {
                assert!(!text.contains(canary.as_str()), "{canary} in a digest");
            }
        }
    }

    // Later the same day, and on a second tick: nothing more.
    app.set_clock("2024-10-09 17:00");
    let again = enqueue_digests(&app).await;
    assert_eq!(again, DigestRun::AlreadyWritten);
    tick(&app).await;
    assert_eq!(digest_rows(&app).await.len(), 3);

    if let Some(sink) = &sink {
        let messages: Vec<_> = sink
            .wait_for(cases.len() + 3, 10)
            .await
            .into_iter()
            .filter(|m| m.is_digest())
            .collect();
        assert_eq!(messages.len(), 3);
        let arrived: BTreeSet<&str> = messages.iter().map(|m| m.message_id.as_str()).collect();
        let stored: BTreeSet<&str> = rows.iter().map(|r| r.message_id.as_str()).collect();
        assert_eq!(arrived, stored);
        let post_mail = messages.iter().find(|m| m.rcpt_tos == [POST]).unwrap();
        for part in &post_mail.parts {
            assert!(part.contains(&mac), "{part}");
        }
        for message in &messages {
            let raw = String::from_utf8_lossy(&message.raw);
            let decoded = message.parts.join("\n");
            for canary in &canaries {
                assert!(!raw.contains(canary.as_str()) && !decoded.contains(canary.as_str()));
            }
        }
    }

    // The next morning brings the next day's digests (Sat 12 Oct is now in view).
    app.set_clock("2024-10-10 09:00");
    let next = enqueue_digests(&app).await;
    assert_eq!(next, DigestRun::Written(3));
    let rows = digest_rows(&app).await;
    let li_rows = to(&rows, "li.jc@example.org");
    assert_eq!(li_rows.len(), 2);
    let newest = li_rows
        .iter()
        .find(|r| r.subject.contains("2024-10-10"))
        .unwrap();
    assert_eq!(listed(newest), numbers(&[late, soon_li, not_yet]));
    assert!(rows.iter().all(|r| r.state != "failed"));
    assert_eq!(digest::Entity::find().count(db).await.unwrap(), 2);
}

// 3. One digest a day, however many instances tick at once.

async fn two_instances_ticking_together_write_one_digest_a_day(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    // Received Thu 3 Oct, due Thu 10 Oct: in Li's digest on 8, 9 and 10 Oct.
    app.set_clock("2024-10-03 10:00");
    let li = app
        .inspector_with_mail("li.jc", "李监察", "li.jc@example.org")
        .await;
    let case = report_on_a_cadre(&app, "connection", "dalu-community").await;
    cases::assign(app.on_case(&li, case.id, app.now()), Some(li.user_id))
        .await
        .unwrap();
    let second = tipoff::startup::Application::build(app.state.settings.clone())
        .await
        .unwrap();
    let other = second.state();
    tokio::spawn(second.run_until_stopped());
    assert_ne!(app.state.outbox.instance_id(), other.outbox.instance_id());

    app.set_clock("2024-10-08 10:00");
    let start = app.now();
    for day in 0..3 {
        // 08:30 on each of three days, two workers per instance ticking at once.
        let now = start + chrono::Duration::days(day) - chrono::Duration::minutes(90);
        let mut tasks = Vec::new();
        for n in 0..4 {
            let state = if n % 2 == 0 {
                app.state.clone()
            } else {
                other.clone()
            };
            tasks.push(tokio::spawn(async move {
                let run = digests::enqueue_digests(
                    &state.db,
                    &state.routing,
                    &state.deadlines,
                    state.settings.mail.digest_hour,
                    now,
                )
                .await
                .unwrap();
                digests::tick(
                    &state.outbox,
                    &state.db,
                    &state.routing,
                    &state.deadlines,
                    now,
                )
                .await
                .unwrap();
                run
            }));
        }
        let mut written = Vec::new();
        for task in tasks {
            if let DigestRun::Written(rows) = task.await.unwrap() {
                written.push(rows);
            }
        }
        assert_eq!(written, [2], "day {day}: one writer, the post and Li");
    }
    let rows = digest_rows(&app).await;
    assert_eq!(rows.len(), 3 * 2);
    assert_eq!(to(&rows, POST).len(), 3);
    assert_eq!(to(&rows, "li.jc@example.org").len(), 3);
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.message_id.as_str()).collect();
    assert_eq!(ids.len(), rows.len(), "every digest has its own Message-ID");
    assert!(rows.iter().all(|r| r.state == SENT && r.attempts == 1));
    assert_eq!(digest::Entity::find().count(app.db()).await.unwrap(), 3);
}

// 4. Escalation mail carries the current stage's due date.

async fn an_escalation_mail_carries_the_current_stages_due_date(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    app.set_clock("2024-10-03 10:00");
    let inspector = app.staff("li.jc", "李监察", &[Role::Inspector]).await;
    let case = report_on_a_cadre(&app, "connection", "dalu-community").await;
    // Accepted late, on Fri 11 Oct: verification is due 15 working days on, Thu 31 Oct.
    app.set_clock("2024-10-11 10:00");
    cases::change_status(
        app.on_case(&inspector, case.id, app.now()),
        cases::Transition::Accept,
    )
    .await
    .unwrap();
    cases::escalate(
        app.on_case(&inspector, case.id, app.now()),
        &app.state.routing,
        &app.state.deadlines,
        "district_bureau",
    )
    .await
    .unwrap();
    let rows = outbox_rows(app.db()).await;
    let escalation = rows
        .iter()
        .find(|r| r.kind == routing::KIND_ESCALATION)
        .unwrap();
    assert_eq!(escalation.recipient, BUREAU);
    for part in [&escalation.body_text, &escalation.body_html] {
        assert!(part.contains("办理期限：2024-10-31"), "{part}");
    }
    assert_eq!(escalation.report_id, Some(case.id));
}
