//! The audit log: appends chain and serialize, and verification (in the service and through
//! `tipoff audit verify`) names the entry that was altered, removed, inserted or cut off.

use std::collections::BTreeSet;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use tipoff::entities::audit_entry;
use tipoff::services::audit::{
    self, AuditAction, AuditRecord, ChainProblem, ProblemKind, Verification,
};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::helpers::cli::{run_cli, said};
use crate::on_both_backends;

fn note(detail: &str) -> AuditRecord<'_> {
    AuditRecord {
        actor: None,
        action: AuditAction::UserChange,
        report: None,
        detail,
    }
}

/// Appends one entry in a transaction of its own, as a service would.
async fn append(app: &TestApp, record: AuditRecord<'_>) -> i64 {
    let txn = app.db().begin().await.unwrap();
    let seq = audit::append(&txn, &app.state.keyring, record, Utc::now())
        .await
        .unwrap();
    txn.commit().await.unwrap();
    seq
}

/// Starts from whatever the application itself logged and adds `count` entries; returns
/// the head's seq afterwards.
async fn log_with(app: &TestApp, count: usize) -> i64 {
    let mut last = 0;
    for i in 0..count {
        last = append(app, note(&format!("created account user{i}"))).await;
    }
    let (head, _) = audit::head(app.db()).await.unwrap();
    assert_eq!(head, last);
    last
}

async fn verify(app: &TestApp) -> Verification {
    audit::verify(app.db(), &app.state.keyring).await.unwrap()
}

async fn all_seqs(app: &TestApp) -> Vec<i64> {
    audit_entry::Entity::find()
        .select_only()
        .column(audit_entry::Column::Seq)
        .order_by_asc(audit_entry::Column::Seq)
        .into_tuple()
        .all(app.db())
        .await
        .unwrap()
}

async fn delete_entry(app: &TestApp, seq: i64) {
    let deleted = audit_entry::Entity::delete_many()
        .filter(audit_entry::Column::Seq.eq(seq))
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected, 1);
}

async fn set_detail(app: &TestApp, seq: i64, detail: &str) {
    let updated = audit_entry::Entity::update_many()
        .col_expr(audit_entry::Column::Detail, Expr::value(detail))
        .filter(audit_entry::Column::Seq.eq(seq))
        .exec(app.db())
        .await
        .unwrap();
    assert_eq!(updated.rows_affected, 1);
}

fn problem(seq: i64, kind: ProblemKind) -> Option<ChainProblem> {
    Some(ChainProblem { seq, kind })
}

/// Verification vouches for the log up to just before entry `seq`, and names what became of
/// that entry (`kind`) in `words`.
async fn assert_stops_before(app: &TestApp, seq: i64, kind: ProblemKind, words: &str) {
    let outcome = verify(app).await;
    assert_eq!(outcome.problem, problem(seq, kind));
    assert_eq!(outcome.last_seq, seq - 1);
    assert_eq!(outcome.problem.unwrap().to_string(), words);
}

on_both_backends!(
    appends_chain_and_concurrent_appends_take_distinct_seqs,
    an_edited_detail_is_named_as_altered,
    a_deleted_middle_entry_is_named_as_missing,
    a_log_longer_than_a_page_is_verified_across_pages,
    cutting_off_the_newest_entries_shows_against_the_head,
    a_forged_entry_past_the_head_is_named_as_inserted,
    a_case_page_lists_who_read_the_case_newest_first,
    the_cli_verifies_and_names_the_broken_entry,
);

async fn appends_chain_and_concurrent_appends_take_distinct_seqs(app: TestApp) {
    let before = log_with(&app, 5).await;

    let mut tasks = Vec::new();
    for i in 0..20 {
        let state = app.state.clone();
        tasks.push(tokio::spawn(async move {
            let txn = state.db.begin().await.unwrap();
            let detail = format!("created account worker{i}");
            let seq = audit::append(&txn, &state.keyring, note(&detail), Utc::now())
                .await
                .unwrap();
            txn.commit().await.unwrap();
            seq
        }));
    }
    let mut returned = BTreeSet::new();
    for task in tasks {
        assert!(
            returned.insert(task.await.unwrap()),
            "a seq was handed out twice"
        );
    }
    let last = before + 20;
    assert_eq!(returned, (before + 1..=last).collect::<BTreeSet<_>>());
    assert_eq!(all_seqs(&app).await, (1..=last).collect::<Vec<_>>());

    let outcome = verify(&app).await;
    assert_eq!(
        outcome,
        Verification {
            entries: u64::try_from(last).unwrap(),
            last_seq: last,
            problem: None,
        }
    );
    assert!(outcome.is_intact());

    // The head carries the newest entry's MAC, as the daily digest will.
    let (head_seq, head_mac) = audit::head(app.db()).await.unwrap();
    let newest = audit_entry::Entity::find_by_id(last)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head_seq, last);
    assert_eq!(head_mac, Some(newest.mac.clone()));
    assert_eq!(newest.key_id, app.state.keyring.audit_key_id());
    assert_eq!(newest.action, "user_change");
}

async fn an_edited_detail_is_named_as_altered(app: TestApp) {
    let last = log_with(&app, 6).await;
    let target = last - 3;
    set_detail(&app, target, "created account mallory").await;

    let named = format!("entry {target} was altered");
    assert_stops_before(&app, target, ProblemKind::Altered, &named).await;

    // Putting the text back restores the chain: the MAC covers exactly the content.
    let original = format!("created account user{}", 6 - 4);
    set_detail(&app, target, &original).await;
    assert!(verify(&app).await.is_intact());

    // A MAC copied from another entry does not fit either.
    let other = audit_entry::Entity::find_by_id(target - 1)
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    audit_entry::Entity::update(audit_entry::ActiveModel {
        seq: Set(target),
        mac: Set(other.mac),
        ..Default::default()
    })
    .exec(app.db())
    .await
    .unwrap();
    assert_eq!(
        verify(&app).await.problem,
        problem(target, ProblemKind::Altered)
    );
}

async fn a_deleted_middle_entry_is_named_as_missing(app: TestApp) {
    let last = log_with(&app, 6).await;
    let target = last - 2;
    delete_entry(&app, target).await;

    let named = format!("entry {target} is missing (removed)");
    assert_stops_before(&app, target, ProblemKind::Missing, &named).await;

    // Two removed in a row: the first of them is named.
    delete_entry(&app, target - 1).await;
    assert_eq!(
        verify(&app).await.problem,
        problem(target - 1, ProblemKind::Missing)
    );
}

async fn a_log_longer_than_a_page_is_verified_across_pages(app: TestApp) {
    // Verification reads 1000 entries at a time; one transaction keeps the setup quick.
    let txn = app.db().begin().await.unwrap();
    let mut last = 0;
    for i in 0..1003 {
        let detail = format!("created account bulk{i}");
        last = audit::append(&txn, &app.state.keyring, note(&detail), Utc::now())
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
    let outcome = verify(&app).await;
    assert_eq!(outcome.problem, None);
    assert_eq!(outcome.entries, u64::try_from(last).unwrap());

    // Entry 1001 starts the second page: its predecessor's MAC must carry over.
    delete_entry(&app, 1001).await;
    assert_eq!(
        verify(&app).await.problem,
        problem(1001, ProblemKind::Missing)
    );
    set_detail(&app, 1002, "created account mallory").await;
    set_detail(&app, 999, "created account mallory").await;
    assert_eq!(
        verify(&app).await.problem,
        problem(999, ProblemKind::Altered)
    );
}

async fn cutting_off_the_newest_entries_shows_against_the_head(app: TestApp) {
    let last = log_with(&app, 5).await;
    delete_entry(&app, last).await;
    let outcome = verify(&app).await;
    assert_eq!(outcome.problem, problem(last, ProblemKind::HeadMismatch));
    assert_eq!(outcome.last_seq, last - 1);
    assert_eq!(outcome.entries, u64::try_from(last - 1).unwrap());

    delete_entry(&app, last - 1).await;
    assert_eq!(
        verify(&app).await.problem,
        problem(last - 1, ProblemKind::HeadMismatch)
    );
}

async fn a_forged_entry_past_the_head_is_named_as_inserted(app: TestApp) {
    let last = log_with(&app, 3).await;
    let forged = |seq: i64| audit_entry::ActiveModel {
        seq: Set(seq),
        at: Set(Utc::now()),
        actor_id: Set(None),
        action: Set("login".into()),
        report_id: Set(None),
        detail: Set("signed in".into()),
        key_id: Set(app.state.keyring.audit_key_id().to_owned()),
        mac: Set(vec![0u8; 32]),
    };
    audit_entry::Entity::insert(forged(last + 1))
        .exec_without_returning(app.db())
        .await
        .unwrap();
    let outcome = verify(&app).await;
    assert_eq!(outcome.problem, problem(last + 1, ProblemKind::Inserted));
    assert_eq!(outcome.last_seq, last);

    // One slipped in before the first entry breaks the order.
    audit_entry::Entity::insert(forged(0))
        .exec_without_returning(app.db())
        .await
        .unwrap();
    assert_eq!(
        verify(&app).await.problem,
        problem(0, ProblemKind::Inserted)
    );
}

async fn a_case_page_lists_who_read_the_case_newest_first(app: TestApp) {
    let case = Uuid::new_v4();
    let other_case = Uuid::new_v4();
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let read = |actor, report| AuditRecord {
        actor: Some(actor),
        action: AuditAction::OpenCase,
        report: Some(report),
        detail: "opened the case",
    };
    let t0 = Utc::now();
    for (actor, report, minutes) in [(first, case, 0), (second, other_case, 1), (second, case, 2)] {
        let txn = app.db().begin().await.unwrap();
        let at = t0 + chrono::TimeDelta::minutes(minutes);
        audit::append(&txn, &app.state.keyring, read(actor, report), at)
            .await
            .unwrap();
        txn.commit().await.unwrap();
    }
    // Other actions on the case are not reads.
    append(
        &app,
        AuditRecord {
            actor: Some(first),
            action: AuditAction::Note,
            report: Some(case),
            detail: "added a note",
        },
    )
    .await;

    let reads = audit::reads_of_case(app.db(), case).await.unwrap();
    let micros = |minutes| (t0 + chrono::TimeDelta::minutes(minutes)).timestamp_micros();
    assert_eq!(
        reads
            .iter()
            .map(|r| (r.actor, r.at.timestamp_micros()))
            .collect::<Vec<_>>(),
        vec![(Some(second), micros(2)), (Some(first), micros(0))]
    );
    assert!(
        audit::reads_of_case(app.db(), Uuid::new_v4())
            .await
            .unwrap()
            .is_empty()
    );
}

/// `tipoff audit verify` exits with `code` and says `words`.
async fn assert_cli_says(app: &TestApp, code: i32, words: &str) {
    let output = run_cli(app, &["audit", "verify"]).await;
    assert_eq!(output.status.code(), Some(code), "{}", said(&output));
    assert!(said(&output).contains(words), "{}", said(&output));
}

async fn the_cli_verifies_and_names_the_broken_entry(app: TestApp) {
    let last = log_with(&app, 5).await;
    let intact = format!("audit log intact: {last} entries, last seq {last}");
    assert_cli_says(&app, 0, &intact).await;

    set_detail(&app, last - 1, "created account mallory").await;
    assert_cli_says(&app, 1, &format!("entry {} was altered", last - 1)).await;

    delete_entry(&app, last - 2).await;
    let missing = format!("entry {} is missing (removed)", last - 2);
    assert_cli_says(&app, 1, &missing).await;
}
