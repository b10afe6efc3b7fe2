//! How many stored rows each key of the keyring still serves.

use sea_orm::sea_query::IntoCondition;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::crypto::{KeyInfo, KeyPurpose, Keyring};
use crate::entities::{audit_entry, relative_filing, report, report_name, staff_name, user};
use crate::services::ServiceError;

/// A key and how many rows need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUse {
    pub key: KeyInfo,
    pub rows: u64,
}

/// Every key of the keyring with its count of rows, in keyring order.
pub async fn key_usage<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
) -> Result<Vec<KeyUse>, ServiceError> {
    let mut out = Vec::new();
    for key in keyring.key_infos() {
        let rows = rows_using(db, key.purpose, &key.id).await?;
        out.push(KeyUse { key, rows });
    }
    Ok(out)
}

/// Rows that need key `id` of `purpose` to be opened, found, matched or verified. Form keys
/// sign tokens that are never stored, so none.
pub async fn rows_using<C: ConnectionTrait>(
    db: &C,
    purpose: KeyPurpose,
    id: &str,
) -> Result<u64, ServiceError> {
    Ok(match purpose {
        KeyPurpose::Kek => {
            rows_where::<report::Entity, _>(db, report::Column::DekKekId.eq(id)).await?
                + rows_where::<relative_filing::Entity, _>(
                    db,
                    relative_filing::Column::DekKekId.eq(id),
                )
                .await?
                + rows_where::<user::Entity, _>(db, user::Column::TotpKekId.eq(id)).await?
        }
        KeyPurpose::Lookup => {
            rows_where::<report::Entity, _>(db, report::Column::TrackingKeyId.eq(id)).await?
        }
        KeyPurpose::Index => {
            rows_where::<report_name::Entity, _>(db, report_name::Column::IndexKeyId.eq(id)).await?
                + rows_where::<staff_name::Entity, _>(db, staff_name::Column::IndexKeyId.eq(id))
                    .await?
        }
        KeyPurpose::Audit => {
            rows_where::<audit_entry::Entity, _>(db, audit_entry::Column::KeyId.eq(id)).await?
        }
        KeyPurpose::Form => 0,
    })
}

/// How many rows of `E` match `filter`.
pub(super) async fn rows_where<E, C>(
    db: &C,
    filter: impl IntoCondition,
) -> Result<u64, ServiceError>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    Ok(E::find().filter(filter).count(db).await?)
}
