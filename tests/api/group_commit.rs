//! Group commit: reports sent at the same moment share transactions, each is answered only
//! once it is durable, and one that fails (a form sent twice) fails alone, leaving the
//! others' case numbers without a gap.

use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, QueryOrder, Statement};
use serde_json::json;
use tipoff::entities::{outbox, report};

use crate::helpers::reports::{next_ip, report_form, report_of, submit};
use crate::helpers::{TestApp, sqlite_app};
use crate::on_both_backends;

on_both_backends!(
    reports_sent_together_are_durable_when_answered_and_a_replay_fails_alone,
    a_queued_mail_is_unique_by_its_id_with_no_index_of_its_own,
);

const TOGETHER: usize = 40;

async fn reports_sent_together_are_durable_when_answered_and_a_replay_fails_alone(app: TestApp) {
    let token = app.form_token().await;
    let twice = report_form(&token, "同一张表单同时提交了两次", &[]);
    let api = (0..TOGETHER).map(|n| {
        let app = &app;
        async move {
            let body = json!({"category": "other", "description": format!("同时提交的第{n}份"), "anonymous": true});
            let response = app.post_json("/api/v1/reports", &body, &next_ip()).await;
            assert_eq!(response.status(), 201);
            let answer: serde_json::Value = response.json().await.unwrap();
            // Answered means committed: another connection finds it at once.
            report_of(app, answer["tracking_code"].as_str().unwrap()).await;
        }
    });
    let sources = [next_ip(), next_ip()];
    let forms = sources
        .iter()
        .map(|ip| app.post_form("/report", &twice, ip));
    let (_, forms) = tokio::join!(join_all(api), join_all(forms));
    let mut statuses: Vec<u16> = forms.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 409], "the form sent twice is stored once");

    let stored = report::Entity::find()
        .order_by_asc(report::Column::CaseNumber)
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(stored.len(), TOGETHER + 1);
    let year = &stored[0].case_number[..4];
    for (n, row) in stored.iter().enumerate() {
        assert_eq!(
            row.case_number,
            format!("{year}-{:04}", n + 1),
            "case numbers run without a gap"
        );
    }
    let (batches, reports) = app.state.commits.written();
    assert_eq!(
        reports,
        TOGETHER as u64 + 2,
        "every report went through a batch"
    );
    assert!(
        batches < reports,
        "reports sent together share commits ({batches} batches for {reports})"
    );
}

/// On a SQLite file the writer never checkpoints; the startup loop copies its log beside it
/// once a batch has committed since the last time, and does nothing while none has.
#[tokio::test]
async fn the_writers_log_is_copied_beside_it_once_a_batch_has_committed() {
    let app = sqlite_app().await;
    let commits = &app.state.commits;
    let mut seen = commits.written().0;
    assert!(!commits.checkpoint(app.db(), &mut seen).await.unwrap());
    submit(
        &app,
        json!({"category": "other", "description": "写入后由检查点复制到数据库文件", "anonymous": true}),
    )
    .await;
    assert!(commits.checkpoint(app.db(), &mut seen).await.unwrap());
    assert_eq!(seen, commits.written().0);
    assert!(
        !commits.checkpoint(app.db(), &mut seen).await.unwrap(),
        "nothing committed since"
    );
}

/// A queued mail's Message-ID is made from its row id, the primary key, so it needs no
/// unique index of its own: one would cost every report another page written at a random
/// place.
async fn a_queued_mail_is_unique_by_its_id_with_no_index_of_its_own(app: TestApp) {
    for n in 0..2 {
        submit(
            &app,
            json!({"category": "other", "description": format!("第{n}份：排队的通知邮件"), "anonymous": true}),
        )
        .await;
    }
    let mails = outbox::Entity::find().all(app.db()).await.unwrap();
    assert!(mails.len() >= 2, "each report queues its mail");
    for mail in &mails {
        assert!(
            mail.message_id
                .starts_with(&format!("<{}@", mail.id.simple())),
            "{}",
            mail.message_id
        );
    }
    let db = app.db();
    let unique_indexes = match db.get_database_backend() {
        DbBackend::Sqlite => {
            "SELECT COUNT(*) AS n FROM pragma_index_list('outbox') WHERE \"unique\" = 1 \
             AND origin <> 'pk'"
        }
        _ => {
            "SELECT COUNT(*) AS n FROM pg_indexes WHERE tablename = 'outbox' \
             AND indexdef LIKE 'CREATE UNIQUE%' AND indexname <> 'outbox_pkey'"
        }
    };
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            unique_indexes,
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0);
}
