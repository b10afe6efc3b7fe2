//! Retention with crypto-shredding: a case closed longer ago than the office keeps cases is
//! purged by `tipoff purge`, its sealed bytes gone from the SQLite files (or the PostgreSQL
//! rows), its metadata still counted, and the ledger saying it was destroyed.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use tipoff::domain::{Role, TrackingCode};
use tipoff::entities::{attachment, message, note, report, report_event, report_name};
use tipoff::services::cases::{self, CaseFilter, Outcome, Transition, Viewer};
use uuid::Uuid;

use crate::helpers::cli::{cli_command, said};
use crate::helpers::files::{jpeg_with_gps, submit_with_files};
use crate::helpers::reports::{next_ip, report_of};
use crate::helpers::storage::{
    audit_entries, contains_bytes, rows_where, stored_bytes, stored_report,
};
use crate::helpers::{TestApp, code_in};

crate::on_both_backends!(
    a_case_past_its_retention_period_is_shredded,
    the_daily_purge_runs_only_when_turned_on
);

async fn purge(app: &TestApp, args: &[&str], keep_days: Option<&str>) -> std::process::Output {
    let mut all = vec!["purge"];
    all.extend_from_slice(args);
    let mut command = cli_command(app, &all);
    if let Some(days) = keep_days {
        command.env("TIPOFF__RETENTION__KEEP_DAYS_AFTER_CLOSE", days);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// A report naming `subject`, with a photo, asked a question that the reporter answers, noted, and closed.
async fn closed_case(
    app: &TestApp,
    viewer: &Viewer,
    words: &str,
    subject: &str,
) -> (String, report::Model) {
    let description = format!("{words}：村主任的亲戚开着小车还在吃低保");
    let photo = jpeg_with_gps();
    let receipt = submit_with_files(
        app,
        &[("description", &description), ("subject", subject)],
        &[("photo.jpg", "image/jpeg", &photo)],
        &next_ip(),
    )
    .await;
    assert_eq!(receipt.status(), 200);
    let code = code_in(&receipt.text().await.unwrap());
    let id = report_of(app, &code).await.id;
    let (db, ring, now) = (app.db(), &app.state.keyring, app.now());
    let step = |t: Transition| cases::change_status(app.on_case(viewer, id, now), t);
    step(Transition::Accept).await.unwrap();
    cases::ask_reporter(
        app.on_case(viewer, id, now),
        &format!("{words}：车牌号是多少？"),
    )
    .await
    .unwrap();
    let typed = TrackingCode::parse(&code).unwrap();
    cases::reporter_reply(db, ring, &typed, &format!("{words}：渝A12345"), now)
        .await
        .unwrap();
    cases::add_note(app.on_case(viewer, id, now), &format!("{words}：已核实"))
        .await
        .unwrap();
    step(Transition::StartVerifying).await.unwrap();
    step(Transition::Conclude {
        outcome: Outcome::Substantiated,
        finding: format!("{words}：情况属实"),
    })
    .await
    .unwrap();
    step(Transition::Close {
        feedback: format!("{words}：已取消其低保"),
    })
    .await
    .unwrap();
    let found = report_of(app, &code).await;
    (code, found)
}

/// Closes the case `days` days before now, as if it had been closed then.
async fn closed_days_ago(app: &TestApp, id: Uuid, days: i64) {
    report::ActiveModel {
        id: Set(id),
        status_changed_at: Set(Some(app.now() - chrono::Duration::days(days))),
        ..Default::default()
    }
    .update(app.db())
    .await
    .unwrap();
}

/// Pieces of every sealed value stored for a report: its wrapped key, its fields, its file,
/// messages, notes, history and indexes, and its tracking code's hash.
async fn sealed_pieces(app: &TestApp, id: Uuid) -> Vec<Vec<u8>> {
    let db = app.db();
    let found = report::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let mut pieces = vec![
        found.dek_wrapped,
        found.description,
        found.subject.unwrap(),
        found.tracking_hash,
    ];
    for file in rows_where(app, attachment::Column::ReportId, id).await {
        pieces.push(file.content);
        pieces.push(file.name);
    }
    for m in rows_where(app, message::Column::ReportId, id).await {
        pieces.push(m.body);
    }
    for n in rows_where(app, note::Column::ReportId, id).await {
        pieces.push(n.body);
    }
    for e in rows_where(app, report_event::Column::ReportId, id).await {
        pieces.extend(e.detail);
    }
    for n in rows_where(app, report_name::Column::ReportId, id).await {
        pieces.push(n.name_index);
    }
    assert!(
        pieces.len() >= 12,
        "a file, messages, a note, history, an index"
    );
    // 24 bytes from the middle of each: too many to occur by chance anywhere else.
    pieces
        .into_iter()
        .map(|p| {
            assert!(p.len() >= 24);
            let start = (p.len() - 24) / 2;
            p[start..start + 24].to_vec()
        })
        .collect()
}

/// Whether storage holds `piece`: raw in SQLite's files, hex-encoded in PostgreSQL's rows.
fn holds(stored: &[u8], piece: &[u8]) -> bool {
    let hex: String = piece.iter().map(|b| format!("{b:02x}")).collect();
    contains_bytes(stored, piece) || contains_bytes(stored, hex.as_bytes())
}

async fn a_case_past_its_retention_period_is_shredded(app: TestApp) {
    let viewer = app.staff("li.jc", "李监察", &[Role::Inspector]).await;
    let (old_code, old) = closed_case(&app, &viewer, "甲金丝雀", "王某，村委会主任").await;
    let (_, recent) = closed_case(&app, &viewer, "乙金丝雀", "赵某，村民小组长").await;
    closed_days_ago(&app, old.id, 40).await;
    closed_days_ago(&app, recent.id, 10).await;
    let old_pieces = sealed_pieces(&app, old.id).await;
    let recent_pieces = sealed_pieces(&app, recent.id).await;
    let before = stored_bytes(&app).await;
    for piece in old_pieces.iter().chain(&recent_pieces) {
        assert!(holds(&before, piece), "the test finds what is stored");
    }

    // Unset by default: nothing is destroyed until the office decides.
    let refused = purge(&app, &[], None).await;
    assert!(!refused.status.success());
    assert!(said(&refused).contains("keep_days_after_close is not set"));

    let dry = purge(&app, &["--dry-run"], Some("30")).await;
    assert!(dry.status.success(), "{}", said(&dry));
    let shown = said(&dry);
    assert!(
        shown.contains(&format!("would purge {}", old.case_number)),
        "{shown}"
    );
    assert!(!shown.contains(&recent.case_number), "{shown}");
    assert!(audit_entries(&app, "purge").await.is_empty());

    let done = purge(&app, &[], Some("30")).await;
    assert!(done.status.success(), "{}", said(&done));
    assert!(said(&done).contains(&format!("purged {}", old.case_number)));
    assert!(!said(&done).contains("warning"), "{}", said(&done));

    let after = stored_bytes(&app).await;
    for (i, piece) in old_pieces.iter().enumerate() {
        assert!(
            !holds(&after, piece),
            "a purged report's sealed bytes are gone: piece {i}"
        );
    }
    for piece in &recent_pieces {
        assert!(
            holds(&after, piece),
            "a case still within its period is untouched"
        );
    }

    // What statistics need is left, and the ledger says what became of the rest.
    let left = stored_report(&app, old.id).await;
    assert_eq!(
        (
            &left.category,
            &left.village,
            &left.channel,
            &left.status,
            &left.outcome
        ),
        (
            &old.category,
            &old.village,
            &old.channel,
            &old.status,
            &old.outcome
        )
    );
    assert_eq!(left.received_on, old.received_on);
    assert!(left.purged_on.is_some());
    let list = cases::list_cases(
        app.db(),
        &viewer,
        &CaseFilter::default(),
        1,
        50,
        &app.state.deadlines,
        app.state.today(),
    )
    .await
    .unwrap();
    assert_eq!(list.total, 2);
    assert!(list.rows.iter().any(|r| r.id == old.id && r.purged));
    let inspector = app.signed_in("wang.jc", "王监察", Role::Inspector).await;
    let ledger = inspector.page("/staff/cases").await;
    assert!(
        ledger.contains(&old.case_number),
        "{}",
        &ledger[ledger.find("<main").unwrap_or(0)..]
    );
    assert!(ledger.contains("已按期限销毁"));
    let page = inspector.get(&format!("/staff/cases/{}", old.id)).await;
    assert_eq!(page.status(), 404);
    let page = inspector.get(&format!("/staff/cases/{}", recent.id)).await;
    assert_eq!(page.status(), 200);

    // The code leads nowhere now; one audit entry names the case; the chain still holds.
    assert_eq!(app.post_track(&old_code, &next_ip()).await.status(), 404);
    let entries = audit_entries(&app, "purge").await;
    assert_eq!(entries.len(), 1);
    assert!(entries[0].detail.contains(&old.case_number));
    assert_eq!(entries[0].report_id, Some(old.id));
    let verify = crate::helpers::cli::run_cli(&app, &["audit", "verify"]).await;
    assert!(verify.status.success(), "{}", said(&verify));

    let again = purge(&app, &[], Some("30")).await;
    assert!(said(&again).contains("0 case(s)"), "{}", said(&again));
}

async fn the_daily_purge_runs_only_when_turned_on(app: TestApp) {
    let viewer = app.staff("li.jc", "李监察", &[Role::Inspector]).await;
    let (_, old) = closed_case(&app, &viewer, "丙金丝雀", "王某，村委会主任").await;
    closed_days_ago(&app, old.id, 400).await;
    let purged = || async { stored_report(&app, old.id).await.purged_on.is_some() };
    // A period set but the daily job off (the default): the service destroys nothing.
    let mut settings = app.state.settings.clone();
    settings.retention.keep_days_after_close = Some(365);
    assert!(!settings.retention.daily_purge);
    let quiet = tipoff::startup::Application::build(settings.clone())
        .await
        .unwrap();
    let quiet = tokio::spawn(quiet.run_until_stopped());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!purged().await);
    quiet.abort();

    // Turned on, a service purges when it starts and then once a day.
    settings.retention.daily_purge = true;
    let purging = tipoff::startup::Application::build(settings).await.unwrap();
    let purging = tokio::spawn(purging.run_until_stopped());
    let mut waited = 0;
    while !purged().await {
        assert!(waited < 100, "the daily purge ran at start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    purging.abort();
    let entries = audit_entries(&app, "purge").await;
    assert_eq!(entries.len(), 1);
    assert!(entries[0].detail.contains(&old.case_number));
}
