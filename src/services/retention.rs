//! Retention with crypto-shredding: a case closed longer ago than the office keeps cases loses
//! its wrapped data key and everything sealed with it, one transaction per case, and keeps
//! the clear metadata statistics need (category, village, channel, status, outcome, dates,
//! site). Nothing is destroyed unless `retention.keep_days_after_close` is set.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, UpdateMany,
};
use uuid::Uuid;

use super::ServiceError;
use super::audit::{self, AuditAction, AuditRecord};
use crate::crypto::{Keyring, random_bytes};
use crate::domain::{Status, local_day};
use crate::entities::{
    attachment, message, note, outbox, rectification_measure, rectification_result, recusal,
    report, report_event, report_name,
};

/// A closed case whose time is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    pub id: Uuid,
    pub case_number: String,
    pub closed_on: NaiveDate,
}

/// Every closed case not yet purged whose closing lies more than `keep_days` days before
/// `now`, oldest closing first.
pub async fn expired(
    db: &DatabaseConnection,
    keep_days: u32,
    now: DateTime<Utc>,
) -> Result<Vec<Expired>, ServiceError> {
    let cutoff = now - Duration::days(i64::from(keep_days));
    let rows: Vec<(Uuid, String, Option<DateTime<Utc>>)> = report::Entity::find()
        .select_only()
        .columns([
            report::Column::Id,
            report::Column::CaseNumber,
            report::Column::StatusChangedAt,
        ])
        .filter(report::Column::Status.eq(Status::Closed.code()))
        .filter(report::Column::PurgedOn.is_null())
        .filter(report::Column::StatusChangedAt.lt(cutoff))
        .order_by_asc(report::Column::StatusChangedAt)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, case_number, at)| {
            at.map(|at| Expired {
                id,
                case_number,
                closed_on: local_day(at),
            })
        })
        .collect())
}

/// Destroys one expired case's content in one transaction, with one audit entry naming its
/// case number. Returns false when the case was no longer there to purge.
pub async fn purge_case(
    db: &DatabaseConnection,
    keyring: &Keyring,
    case: &Expired,
    keep_days: u32,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let detail = format!(
        "purged case {} (closed {}, kept {keep_days} days)",
        case.case_number, case.closed_on
    );
    let record = AuditRecord::new(None, AuditAction::Purge, Some(case.id), &detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    // The report row first: if it changed meanwhile (reopened, already purged), nothing goes.
    let shredded = blanking::<report::Entity>(&[
        report::Column::Subject,
        report::Column::Occurred,
        report::Column::ReporterName,
        report::Column::ReporterPhone,
    ])
    .col_expr(report::Column::DekWrapped, Expr::value(Vec::<u8>::new()))
    .col_expr(report::Column::DekKekId, Expr::value(String::new()))
    .col_expr(report::Column::Description, Expr::value(Vec::<u8>::new()))
    // The code's hash goes too: a unique stand-in that no code hashes to.
    .col_expr(report::Column::TrackingKeyId, Expr::value(String::new()))
    .col_expr(
        report::Column::TrackingHash,
        Expr::value(random_bytes::<32>().to_vec()),
    )
    .col_expr(report::Column::PurgedOn, Expr::value(Some(local_day(now))))
    .filter(report::Column::Id.eq(case.id))
    .filter(report::Column::Status.eq(Status::Closed.code()))
    .filter(report::Column::PurgedOn.is_null())
    .exec(&txn)
    .await?;
    if shredded.rows_affected == 0 {
        return Ok(false);
    }
    delete_of_case::<attachment::Entity>(&txn, attachment::Column::ReportId, case.id).await?;
    delete_of_case::<message::Entity>(&txn, message::Column::ReportId, case.id).await?;
    delete_of_case::<note::Entity>(&txn, note::Column::ReportId, case.id).await?;
    delete_of_case::<report_event::Entity>(&txn, report_event::Column::ReportId, case.id).await?;
    delete_of_case::<report_name::Entity>(&txn, report_name::Column::ReportId, case.id).await?;
    delete_of_case::<outbox::Entity>(&txn, outbox::Column::ReportId, case.id).await?;
    // What was put right stays counted (days, households, amounts); its texts go.
    blanking::<rectification_measure::Entity>(&[
        rectification_measure::Column::Measure,
        rectification_measure::Column::Responsible,
    ])
    .filter(rectification_measure::Column::ReportId.eq(case.id))
    .exec(&txn)
    .await?;
    blanking::<rectification_result::Entity>(&[rectification_result::Column::Detail])
        .filter(rectification_result::Column::ReportId.eq(case.id))
        .exec(&txn)
        .await?;
    // Who was recused stays (the case stays hidden from them); why, sealed, goes.
    blanking::<recusal::Entity>(&[recusal::Column::Reason])
        .filter(recusal::Column::ReportId.eq(case.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(true)
}

/// An update of `E` that empties its sealed, optional `columns`.
fn blanking<E: EntityTrait>(columns: &[E::Column]) -> UpdateMany<E> {
    columns.iter().fold(E::update_many(), |update, column| {
        update.col_expr(*column, Expr::value(Option::<Vec<u8>>::None))
    })
}

/// Deletes the rows of `E` that belong to case `id` by their `report` column.
async fn delete_of_case<E: EntityTrait>(
    txn: &DatabaseTransaction,
    report: E::Column,
    id: Uuid,
) -> Result<(), ServiceError> {
    E::delete_many().filter(report.eq(id)).exec(txn).await?;
    Ok(())
}

/// What a purge run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    pub cases: Vec<String>,
    /// Whether SQLite's write-ahead log was emptied afterwards (always true on PostgreSQL).
    pub checkpointed: bool,
}

/// Purges every expired case, then empties SQLite's write-ahead log so the old page
/// versions leave the disk.
pub async fn purge_expired(
    db: &DatabaseConnection,
    keyring: &Keyring,
    keep_days: u32,
    now: DateTime<Utc>,
) -> Result<Purged, ServiceError> {
    let mut purged = Purged::default();
    for case in expired(db, keep_days, now).await? {
        if purge_case(db, keyring, &case, keep_days, now).await? {
            purged.cases.push(case.case_number);
        }
    }
    purged.checkpointed = crate::db::checkpoint_wal(db).await?;
    Ok(purged)
}
