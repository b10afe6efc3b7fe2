//! The names staff are known by, as blind-index rows: their own names and aliases, and their
//! filed close relatives' names (opened from the sealed filings in memory only).

use std::collections::HashSet;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::{Dek, Keyring, WrappedDek};
use crate::domain::normalize_name;
use crate::entities::{relative_filing, staff_name, user, user_alias};
use crate::services::ServiceError;
use crate::services::access::{Sealer, row_key};
use crate::services::blind::index_staff_name;

/// Where a staff name comes from, as stored in `staff_names.source`.
const STAFF_DISPLAY: &str = "display";
const STAFF_ALIAS: &str = "alias";
pub(super) const STAFF_RELATIVE: &str = "relative";

/// The table filings are sealed for.
pub(super) const FILINGS: &str = "relative_filings";

pub(super) async fn find_user<C: ConnectionTrait>(
    txn: &C,
    user_id: Uuid,
) -> Result<user::Model, ServiceError> {
    Ok(user::Entity::find_by_id(user_id)
        .one(txn)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("user".into()))?)
}

/// Rebuilds the index rows of an account's display name and aliases under the active index
/// key, and returns its aliases.
pub(super) async fn index_own_names<C: ConnectionTrait>(
    txn: &C,
    keyring: &Keyring,
    account: &user::Model,
) -> Result<Vec<user_alias::Model>, ServiceError> {
    staff_name::Entity::delete_many()
        .filter(staff_name::Column::UserId.eq(account.id))
        .filter(staff_name::Column::Source.is_in([STAFF_DISPLAY, STAFF_ALIAS]))
        .exec(txn)
        .await?;
    let aliases = user_alias::Entity::find()
        .filter(user_alias::Column::UserId.eq(account.id))
        .all(txn)
        .await?;
    let mut indexed: HashSet<String> = HashSet::new();
    let own_names = std::iter::once((account.display_name.as_str(), STAFF_DISPLAY))
        .chain(aliases.iter().map(|a| (a.alias.as_str(), STAFF_ALIAS)));
    for (name, source) in own_names {
        let normalized = normalize_name(name);
        if normalized.is_empty() || !indexed.insert(normalized.clone()) {
            continue;
        }
        index_staff_name(txn, keyring, account.id, source, None, &normalized).await?;
    }
    Ok(aliases)
}

/// Rebuilds every index row of an account, its names' and its filed relatives', under the
/// active index key: what a rotation of the index key runs for each account.
pub(crate) async fn reindex_staff<C: ConnectionTrait>(
    txn: &C,
    keyring: &Keyring,
    user_id: Uuid,
) -> Result<(), ServiceError> {
    let account = find_user(txn, user_id).await?;
    index_own_names(txn, keyring, &account).await?;
    staff_name::Entity::delete_many()
        .filter(staff_name::Column::UserId.eq(user_id))
        .filter(staff_name::Column::Source.eq(STAFF_RELATIVE))
        .exec(txn)
        .await?;
    let filings = relative_filing::Entity::find()
        .filter(relative_filing::Column::UserId.eq(user_id))
        .all(txn)
        .await?;
    for filing in filings {
        let (name, _) = open_filing(keyring, &filing)?;
        let normalized = Zeroizing::new(normalize_name(&name));
        index_staff_name(
            txn,
            keyring,
            user_id,
            STAFF_RELATIVE,
            Some(filing.id),
            &normalized,
        )
        .await?;
    }
    Ok(())
}

/// A filing's own data key, unwrapped: it seals the filing's fields and its visits'.
pub(crate) fn filing_key(
    keyring: &Keyring,
    filing: &relative_filing::Model,
) -> Result<Dek, ServiceError> {
    row_key(
        keyring,
        &WrappedDek {
            dek_id: filing.dek_id,
            kek_id: filing.dek_kek_id.clone(),
            bytes: filing.dek_wrapped.clone(),
        },
        filing.id,
    )
}

pub(super) fn open_filing(
    keyring: &Keyring,
    filing: &relative_filing::Model,
) -> Result<(Zeroizing<String>, Option<Zeroizing<String>>), ServiceError> {
    let dek = filing_key(keyring, filing)?;
    let sealed = Sealer::new(&dek, FILINGS, filing.id);
    Ok((
        sealed.open("name", &filing.name)?,
        sealed.open_opt("relation", filing.relation.as_deref())?,
    ))
}
