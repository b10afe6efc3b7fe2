//! The intake transaction's own rows: the case number, the spent form token, the report
//! (content sealed with a fresh data key) and its files.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, QueryFilter,
};
use uuid::Uuid;

use super::{Origin, TOKEN_USED};
use crate::crypto::{Keyring, new_tracking_code};
use crate::domain::{ReportDraft, Status, TrackingCode, end_of_day, local_day};
use crate::entities::{case_counter, report, used_form_token};
use crate::services::access::{new_row_key, report_fields};
use crate::services::{ServiceError, attachments, sites};

/// What the report's row came to.
pub(super) struct Stored {
    pub tracking_code: TrackingCode,
    pub received_on: NaiveDate,
    pub report_id: Uuid,
    pub case_number: String,
}

/// Writes the report's own rows inside the intake transaction.
pub(super) async fn store_report(
    txn: &DatabaseTransaction,
    keyring: &Keyring,
    draft: &ReportDraft,
    origin: Origin,
    now: DateTime<Utc>,
) -> Result<Stored, ServiceError> {
    let received_on = local_day(now);
    // The counter is written first so the transaction takes the write lock at once (SQLite
    // would otherwise fail a read-then-write upgrade under contention).
    let case_number = next_case_number(txn, received_on).await?;
    if let Some(token) = origin.form_token {
        let inserted = used_form_token::Entity::insert(used_form_token::ActiveModel {
            nonce: Set(token.nonce.to_vec()),
            // Its day only: the token's expiry is its issue time plus a fixed age.
            expires_at: Set(end_of_day(token.expires_at)),
        })
        .on_conflict_do_nothing_on([used_form_token::Column::Nonce])
        .exec_without_returning(txn)
        .await?;
        if !matches!(inserted, sea_orm::TryInsertResult::Inserted(1)) {
            return Err(ServiceError::Invalid(TOKEN_USED));
        }
    }
    let site_id = match draft.site.as_deref() {
        Some(token) => sites::site_for_intake(txn, token).await?,
        None => None,
    };

    let id = Uuid::new_v4();
    let (dek, wrapped) = new_row_key(keyring, id)?;
    let fields = report_fields(&dek, id);
    let reporter = draft.reporter.as_ref();

    let tracking_code = unused_tracking_code(txn, keyring).await?;
    let (tracking_key_id, tracking_hash) = keyring.current_lookup_hash(&tracking_code);

    report::ActiveModel {
        id: Set(id),
        case_number: Set(case_number.clone()),
        channel: Set(origin.channel.code().to_string()),
        category: Set(draft.category.code().to_string()),
        village: Set(draft.village.clone()),
        subject_role: Set(draft.subject_role.map(|r| r.code().to_string())),
        anonymous: Set(draft.is_anonymous()),
        status: Set(Status::Received.code().to_string()),
        received_on: Set(received_on),
        status_changed_at: Set(None),
        dek_id: Set(wrapped.dek_id),
        dek_kek_id: Set(wrapped.kek_id),
        dek_wrapped: Set(wrapped.bytes),
        tracking_key_id: Set(tracking_key_id),
        tracking_hash: Set(tracking_hash),
        description: Set(fields.seal("description", &draft.description)?),
        subject: Set(fields.seal_opt("subject", draft.subject.as_deref())?),
        occurred: Set(fields.seal_opt("occurred", draft.occurred.as_deref())?),
        reporter_name: Set(fields.seal_opt("reporter_name", reporter.map(|r| r.name.as_str()))?),
        reporter_phone: Set(fields.seal_opt("reporter_phone", reporter.map(|r| r.phone.as_str()))?),
        operator_id: Set(origin.operator),
        assignee_id: Set(None),
        merged_into: Set(None),
        outcome: Set(None),
        quarantined: Set(origin.quarantined),
        site_id: Set(site_id),
        purged_on: Set(None),
    }
    .insert(txn)
    .await?;
    // The evidence files go in with the report they belong to, sealed with its DEK.
    attachments::store(txn, &dek, id, &draft.attachments).await?;

    Ok(Stored {
        tracking_code,
        received_on,
        report_id: id,
        case_number,
    })
}

/// Case numbers run per year (2026-0001, …), staff-facing only.
async fn next_case_number(
    txn: &DatabaseTransaction,
    received_on: NaiveDate,
) -> Result<String, ServiceError> {
    use chrono::Datelike;
    let year = received_on.year();
    // One statement: the year's row is made on its first report, counted up on every other.
    let counted = case_counter::Entity::insert(case_counter::ActiveModel {
        year: Set(year),
        last: Set(1),
    })
    .on_conflict(
        OnConflict::column(case_counter::Column::Year)
            .value(
                case_counter::Column::Last,
                Expr::col((case_counter::Entity, case_counter::Column::Last)).add(1),
            )
            .to_owned(),
    )
    .exec_with_returning(txn)
    .await?;
    let last = counted.last;
    Ok(format!("{year}-{last:04}"))
}

/// Draws tracking codes until one is unused: with 10^15 codes a repeat is all but
/// impossible, but a collision must never hand one reporter another's case.
async fn unused_tracking_code<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
) -> Result<TrackingCode, ServiceError> {
    loop {
        let code = new_tracking_code();
        let hashes: Vec<Vec<u8>> = keyring
            .lookup_hashes(&code)
            .into_iter()
            .map(|(_, hash)| hash)
            .collect();
        let taken = report::Entity::find()
            .filter(report::Column::TrackingHash.is_in(hashes))
            .one(db)
            .await?;
        if taken.is_none() {
            return Ok(code);
        }
    }
}
