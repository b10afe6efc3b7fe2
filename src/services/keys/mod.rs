//! Key rotation over the stored data: how many rows each key still serves, moving wrapped
//! data keys and blind indexes onto the active keys in small resumable batches, and
//! refusing to retire a key that rows still use.
//!
//! Every batch is one transaction whose rows are chosen by "not under the active key", so a
//! run killed anywhere leaves each row either wholly old or wholly new, and the next run
//! picks up exactly what is left.

mod usage;

use usage::rows_where;
pub use usage::{KeyUse, key_usage, rows_using};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use super::ServiceError;
use super::access::{report_dek, report_fields};
use super::audit::{self, AuditAction, AuditRecord};
use super::blind::index_report_names;
use super::recusal::reindex_staff;
use crate::crypto::{KeyPurpose, Keyring, WrappedDek};
use crate::entities::{relative_filing, report, report_name, staff_name, user};

/// What one batch moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moved {
    /// Reports' data keys re-wrapped under the active KEK.
    ReportKeys(u64),
    /// Close-relative filings' data keys re-wrapped.
    FilingKeys(u64),
    /// Staff accounts' TOTP data keys re-wrapped.
    TotpKeys(u64),
    /// Reports whose named people were re-indexed under the active index key.
    ReportIndexes(u64),
    /// Staff accounts whose names were re-indexed.
    StaffIndexes(u64),
}

impl Moved {
    pub fn count(self) -> u64 {
        match self {
            Moved::ReportKeys(n)
            | Moved::FilingKeys(n)
            | Moved::TotpKeys(n)
            | Moved::ReportIndexes(n)
            | Moved::StaffIndexes(n) => n,
        }
    }

    pub fn what(self) -> &'static str {
        match self {
            Moved::ReportKeys(_) => "report keys re-wrapped",
            Moved::FilingKeys(_) => "filing keys re-wrapped",
            Moved::TotpKeys(_) => "TOTP keys re-wrapped",
            Moved::ReportIndexes(_) => "reports re-indexed",
            Moved::StaffIndexes(_) => "staff accounts re-indexed",
        }
    }
}

/// How many units of work a rewrap run still has: rows under a retired KEK, and reports or
/// accounts with an index row under a retired index key.
pub async fn pending<C: ConnectionTrait>(db: &C, keyring: &Keyring) -> Result<u64, ServiceError> {
    let kek = keyring.active_kek_id();
    let index = keyring.active_id(KeyPurpose::Index);
    let stale = Condition::all()
        .add(report::Column::DekKekId.ne(kek))
        .add(report::Column::PurgedOn.is_null());
    let reports = rows_where::<report::Entity, _>(db, stale).await?;
    let stale = relative_filing::Column::DekKekId.ne(kek);
    let filings = rows_where::<relative_filing::Entity, _>(db, stale).await?;
    let totp = rows_where::<user::Entity, _>(db, user::Column::TotpKekId.ne(kek)).await?;
    let named = stale_reports(db, index, None).await?.len() as u64;
    let staff = stale_accounts(db, index, None).await?.len() as u64;
    Ok(reports + filings + totp + named + staff)
}

/// Moves at most `size` rows of the first kind of work left onto the active keys, in one
/// transaction; `None` when nothing is left.
pub async fn rewrap_batch(
    db: &DatabaseConnection,
    keyring: &Keyring,
    size: u64,
) -> Result<Option<Moved>, ServiceError> {
    let size = size.max(1);
    let index = keyring.active_id(KeyPurpose::Index);
    let txn = db.begin().await?;
    // A purged report's key is gone with its content: nothing is left to move.
    let unpurged = Condition::all().add(report::Column::PurgedOn.is_null());
    let moved = if let Some(n) =
        rewrap::<report::Entity>(&txn, keyring, size, REPORT_DEK, unpurged).await?
    {
        Moved::ReportKeys(n)
    } else if let Some(n) =
        rewrap::<relative_filing::Entity>(&txn, keyring, size, FILING_DEK, Condition::all()).await?
    {
        Moved::FilingKeys(n)
    } else if let Some(n) =
        rewrap::<user::Entity>(&txn, keyring, size, TOTP_DEK, Condition::all()).await?
    {
        Moved::TotpKeys(n)
    } else if let Some(reports) = any(stale_reports(&txn, index, Some(size)).await?) {
        for id in &reports {
            reindex_report(&txn, keyring, *id).await?;
        }
        Moved::ReportIndexes(reports.len() as u64)
    } else if let Some(accounts) = any(stale_accounts(&txn, index, Some(size)).await?) {
        for id in &accounts {
            reindex_staff(&txn, keyring, *id).await?;
        }
        Moved::StaffIndexes(accounts.len() as u64)
    } else {
        return Ok(None);
    };
    txn.commit().await?;
    Ok(Some(moved))
}

/// One audit entry for a whole run (or a retirement), naming keys and counts only.
pub async fn record(
    db: &DatabaseConnection,
    keyring: &Keyring,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let record = AuditRecord::new(None, AuditAction::KeyChange, None, detail);
    audit::begin(db, keyring, record, now)
        .await?
        .commit()
        .await?;
    Ok(())
}

/// Why a key may not be retired yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key '{id}' is still used by {rows} row(s){hint}")]
pub struct StillUsed {
    pub id: String,
    pub rows: u64,
    pub hint: &'static str,
}

/// Refuses while any row still needs `id` to be read, verified or matched.
pub async fn check_retirable<C: ConnectionTrait>(
    db: &C,
    purpose: KeyPurpose,
    id: &str,
) -> Result<Result<(), StillUsed>, ServiceError> {
    let rows = rows_using(db, purpose, id).await?;
    if rows == 0 {
        return Ok(Ok(()));
    }
    let hint = match purpose {
        KeyPurpose::Kek | KeyPurpose::Index => ": run `tipoff key rewrap` first",
        KeyPurpose::Lookup => {
            ": tracking codes are stored only as hashes, so each moves to the active key \
             when its reporter next uses it"
        }
        KeyPurpose::Audit => ": audit entries are never rewritten, so this key stays",
        KeyPurpose::Form => "",
    };
    Ok(Err(StillUsed {
        id: id.to_owned(),
        rows,
        hint,
    }))
}

/// Where a report keeps its wrapped data key: `[id, dek id, kek id, wrapped key]`.
const REPORT_DEK: [report::Column; 4] = [
    report::Column::Id,
    report::Column::DekId,
    report::Column::DekKekId,
    report::Column::DekWrapped,
];
/// Where a close-relative filing keeps its wrapped data key.
const FILING_DEK: [relative_filing::Column; 4] = [
    relative_filing::Column::Id,
    relative_filing::Column::DekId,
    relative_filing::Column::DekKekId,
    relative_filing::Column::DekWrapped,
];
/// Where a staff account keeps the wrapped data key of its TOTP secret (none without one).
const TOTP_DEK: [user::Column; 4] = [
    user::Column::Id,
    user::Column::TotpDekId,
    user::Column::TotpKekId,
    user::Column::TotpDekWrapped,
];

/// Re-wraps the data keys of at most `size` rows of `E` (those in `also`) whose key is
/// wrapped under a KEK other than the active one, read from and stored back to its
/// `[id, dek id, kek id, wrapped key]` columns; `None` when there were no rows.
async fn rewrap<E: EntityTrait>(
    txn: &DatabaseTransaction,
    keyring: &Keyring,
    size: u64,
    [id, dek, kek, wrapped]: [E::Column; 4],
    also: Condition,
) -> Result<Option<u64>, ServiceError> {
    // Optional, as a TOTP key's columns are: an account without a TOTP secret has none.
    type Row = (Uuid, Option<Uuid>, Option<String>, Option<Vec<u8>>);
    let rows: Vec<Row> = E::find()
        .select_only()
        .columns([id, dek, kek, wrapped])
        .filter(kek.ne(keyring.active_kek_id()))
        .filter(also)
        .order_by_asc(id)
        .limit(size)
        .into_tuple()
        .all(txn)
        .await?;
    let rows = rows
        .into_iter()
        .map(|row| match row {
            (owner, Some(dek_id), Some(kek_id), Some(bytes)) => {
                Ok(Owned::new(owner, dek_id, kek_id, bytes))
            }
            _ => Err(ServiceError::Corrupt("a key id without its wrapped key")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    store_rewrapped::<E, _>(txn, keyring, rows, [id, kek, wrapped]).await
}

/// A wrapped data key and the row it belongs to (the owner bound into its wrapping).
struct Owned {
    owner: Uuid,
    wrapped: WrappedDek,
}

impl Owned {
    fn new(owner: Uuid, dek_id: Uuid, kek_id: String, bytes: Vec<u8>) -> Owned {
        let wrapped = WrappedDek {
            dek_id,
            kek_id,
            bytes,
        };
        Owned { owner, wrapped }
    }
}

/// Re-wraps each row's key under the active KEK and stores it, in the `[id, kek id, wrapped
/// key]` columns, guarded by the KEK it was read under; `None` when there were no rows.
async fn store_rewrapped<E: EntityTrait, C: ConnectionTrait>(
    txn: &C,
    keyring: &Keyring,
    rows: impl IntoIterator<Item = Owned>,
    [id, kek, wrapped]: [E::Column; 3],
) -> Result<Option<u64>, ServiceError> {
    let mut n = 0;
    for row in rows {
        let new = keyring.rewrap(&row.wrapped, &row.owner.to_string())?;
        E::update_many()
            .col_expr(kek, Expr::value(new.kek_id))
            .col_expr(wrapped, Expr::value(new.bytes))
            .filter(id.eq(row.owner))
            .filter(kek.eq(row.wrapped.kek_id))
            .exec(txn)
            .await?;
        n += 1;
    }
    Ok((n > 0).then_some(n))
}

/// `ids`, unless there are none.
fn any(ids: Vec<Uuid>) -> Option<Vec<Uuid>> {
    (!ids.is_empty()).then_some(ids)
}

/// Rebuilds the index rows of the people a report names under the active index key.
async fn reindex_report<C: ConnectionTrait>(
    txn: &C,
    keyring: &Keyring,
    id: Uuid,
) -> Result<(), ServiceError> {
    report_name::Entity::delete_many()
        .filter(report_name::Column::ReportId.eq(id))
        .exec(txn)
        .await?;
    let Some(found) = report::Entity::find_by_id(id).one(txn).await? else {
        return Ok(());
    };
    let dek = report_dek(keyring, &found)?;
    let subject = report_fields(&dek, found.id).open_opt("subject", found.subject.as_deref())?;
    index_report_names(
        txn,
        keyring,
        found.id,
        subject.as_deref().map(String::as_str),
        found.village.as_deref(),
    )
    .await?;
    Ok(())
}

/// Reports with an index row under a key other than `active`, in id order.
async fn stale_reports<C: ConnectionTrait>(
    db: &C,
    active: &str,
    size: Option<u64>,
) -> Result<Vec<Uuid>, ServiceError> {
    let (owner, key) = (
        report_name::Column::ReportId,
        report_name::Column::IndexKeyId,
    );
    stale_owners::<report_name::Entity, _>(db, owner, key, active, size).await
}

/// Accounts with an index row under a key other than `active`, in id order.
async fn stale_accounts<C: ConnectionTrait>(
    db: &C,
    active: &str,
    size: Option<u64>,
) -> Result<Vec<Uuid>, ServiceError> {
    let (owner, key) = (staff_name::Column::UserId, staff_name::Column::IndexKeyId);
    stale_owners::<staff_name::Entity, _>(db, owner, key, active, size).await
}

/// The distinct `owner`s of index rows of `E` whose `key` is not `active`, in order; at most
/// `size` of them.
async fn stale_owners<E: EntityTrait, C: ConnectionTrait>(
    db: &C,
    owner: E::Column,
    key: E::Column,
    active: &str,
    size: Option<u64>,
) -> Result<Vec<Uuid>, ServiceError> {
    let query = E::find()
        .select_only()
        .column(owner)
        .distinct()
        .filter(key.ne(active))
        .order_by_asc(owner);
    let query = match size {
        Some(size) => query.limit(size),
        None => query,
    };
    Ok(query.into_tuple().all(db).await?)
}
