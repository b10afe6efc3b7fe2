//! How many stored rows each key of the keyring still serves.

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
            report::Entity::find()
                .filter(report::Column::DekKekId.eq(id))
                .count(db)
                .await?
                + relative_filing::Entity::find()
                    .filter(relative_filing::Column::DekKekId.eq(id))
                    .count(db)
                    .await?
                + user::Entity::find()
                    .filter(user::Column::TotpKekId.eq(id))
                    .count(db)
                    .await?
        }
        KeyPurpose::Lookup => {
            report::Entity::find()
                .filter(report::Column::TrackingKeyId.eq(id))
                .count(db)
                .await?
        }
        KeyPurpose::Index => {
            report_name::Entity::find()
                .filter(report_name::Column::IndexKeyId.eq(id))
                .count(db)
                .await?
                + staff_name::Entity::find()
                    .filter(staff_name::Column::IndexKeyId.eq(id))
                    .count(db)
                    .await?
        }
        KeyPurpose::Audit => {
            audit_entry::Entity::find()
                .filter(audit_entry::Column::KeyId.eq(id))
                .count(db)
                .await?
        }
        KeyPurpose::Form => 0,
    })
}
