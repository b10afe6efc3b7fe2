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
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
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
    let txn = db.begin().await?;
    let moved = if let Some(n) = rewrap_reports(&txn, keyring, size).await? {
        Moved::ReportKeys(n)
    } else if let Some(n) = rewrap_filings(&txn, keyring, size).await? {
        Moved::FilingKeys(n)
    } else if let Some(n) = rewrap_totp(&txn, keyring, size).await? {
        Moved::TotpKeys(n)
    } else if let Some(n) = reindex_reports(&txn, keyring, size).await? {
        Moved::ReportIndexes(n)
    } else if let Some(n) = reindex_accounts(&txn, keyring, size).await? {
        Moved::StaffIndexes(n)
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

async fn rewrap_reports<C: ConnectionTrait>(
    txn: &C,
    keyring: &Keyring,
    size: u64,
) -> Result<Option<u64>, ServiceError> {
    let rows: Vec<(Uuid, Uuid, String, Vec<u8>)> = report::Entity::find()
        .select_only()
        .columns([
            report::Column::Id,
            report::Column::DekId,
            report::Column::DekKekId,
            report::Column::DekWrapped,
        ])
        .filter(report::Column::DekKekId.ne(keyring.active_kek_id()))
        .filter(report::Column::PurgedOn.is_null())
        .order_by_asc(report::Column::Id)
        .limit(size)
        .into_tuple()
        .all(txn)
        .await?;
    let rows = rows
        .into_iter()
        .map(|(owner, dek_id, kek_id, bytes)| Owned::new(owner, dek_id, kek_id, bytes));
    use report::Column as R;
    store_rewrapped::<report::Entity, _>(txn, keyring, rows, [R::Id, R::DekKekId, R::DekWrapped])
        .await
}

async fn rewrap_filings<C: ConnectionTrait>(
    txn: &C,
    keyring: &Keyring,
    size: u64,
) -> Result<Option<u64>, ServiceError> {
    let rows = relative_filing::Entity::find()
        .filter(relative_filing::Column::DekKekId.ne(keyring.active_kek_id()))
        .order_by_asc(relative_filing::Column::Id)
        .limit(size)
        .all(txn)
        .await?;
    let rows = rows
        .into_iter()
        .map(|f| Owned::new(f.id, f.dek_id, f.dek_kek_id, f.dek_wrapped));
    use relative_filing::Column as F;
    store_rewrapped::<relative_filing::Entity, _>(
        txn,
        keyring,
        rows,
        [F::Id, F::DekKekId, F::DekWrapped],
    )
    .await
}

async fn rewrap_totp<C: ConnectionTrait>(
    txn: &C,
    keyring: &Keyring,
    size: u64,
) -> Result<Option<u64>, ServiceError> {
    let accounts = user::Entity::find()
        .filter(user::Column::TotpKekId.ne(keyring.active_kek_id()))
        .order_by_asc(user::Column::Id)
        .limit(size)
        .all(txn)
        .await?;
    let mut rows = Vec::with_capacity(accounts.len());
    for account in accounts {
        let (Some(dek_id), Some(kek_id), Some(bytes)) = (
            account.totp_dek_id,
            account.totp_kek_id,
            account.totp_dek_wrapped,
        ) else {
            return Err(ServiceError::Corrupt(
                "a TOTP key id without its wrapped key",
            ));
        };
        rows.push(Owned::new(account.id, dek_id, kek_id, bytes));
    }
    use user::Column as U;
    store_rewrapped::<user::Entity, _>(txn, keyring, rows, [U::Id, U::TotpKekId, U::TotpDekWrapped])
        .await
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

async fn reindex_reports<C: ConnectionTrait>(
    txn: &C,
    keyring: &Keyring,
    size: u64,
) -> Result<Option<u64>, ServiceError> {
    let ids = stale_reports(txn, keyring.active_id(KeyPurpose::Index), Some(size)).await?;
    if ids.is_empty() {
        return Ok(None);
    }
    for id in &ids {
        report_name::Entity::delete_many()
            .filter(report_name::Column::ReportId.eq(*id))
            .exec(txn)
            .await?;
        let Some(found) = report::Entity::find_by_id(*id).one(txn).await? else {
            continue;
        };
        let dek = report_dek(keyring, &found)?;
        let subject =
            report_fields(&dek, found.id).open_opt("subject", found.subject.as_deref())?;
        index_report_names(
            txn,
            keyring,
            found.id,
            subject.as_deref().map(String::as_str),
            found.village.as_deref(),
        )
        .await?;
    }
    Ok(Some(ids.len() as u64))
}

async fn reindex_accounts<C: ConnectionTrait>(
    txn: &C,
    keyring: &Keyring,
    size: u64,
) -> Result<Option<u64>, ServiceError> {
    let ids = stale_accounts(txn, keyring.active_id(KeyPurpose::Index), Some(size)).await?;
    if ids.is_empty() {
        return Ok(None);
    }
    for id in &ids {
        reindex_staff(txn, keyring, *id).await?;
    }
    Ok(Some(ids.len() as u64))
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
