//! The blind-index rows: of the people a report's subject names (`report_names`) and of the
//! names staff are known by (`staff_names`), made the same way at intake, on a change of
//! names and when a rotation of the index key re-indexes them.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait};
use uuid::Uuid;

use super::ServiceError;
use crate::crypto::Keyring;
use crate::domain::names_in_subject;
use crate::entities::{report_name, staff_name};

/// Writes the index rows of every person `subject` names, under the active index key, and
/// returns the names found (normalized).
pub(crate) async fn index_report_names<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
    report_id: Uuid,
    subject: Option<&str>,
    village: Option<&str>,
) -> Result<Vec<String>, ServiceError> {
    let (rows, names) = report_name_rows(keyring, report_id, subject, village);
    report_name::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(names)
}

/// The index rows of every person `subject` names, under the active index key, and the
/// names found (normalized); nothing is written.
pub(crate) fn report_name_rows(
    keyring: &Keyring,
    report_id: Uuid,
    subject: Option<&str>,
    village: Option<&str>,
) -> (Vec<report_name::ActiveModel>, Vec<String>) {
    let names = subject.map(names_in_subject).unwrap_or_default();
    let village = village.unwrap_or("");
    let rows = names
        .iter()
        .map(|name| {
            let (key_id, name_index) = keyring.blind_index(&[name]);
            let (_, place_index) = keyring.blind_index(&[name, village]);
            report_name::ActiveModel {
                id: Set(Uuid::new_v4()),
                report_id: Set(report_id),
                index_key_id: Set(key_id),
                name_index: Set(name_index),
                place_index: Set(place_index),
            }
        })
        .collect();
    (rows, names)
}

/// Writes the index row of one (normalized) name a staff member is known by.
pub(crate) async fn index_staff_name<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
    user_id: Uuid,
    source: &str,
    filing_id: Option<Uuid>,
    normalized: &str,
) -> Result<(), ServiceError> {
    let (key_id, name_index) = keyring.blind_index(&[normalized]);
    staff_name::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(user_id),
        source: Set(source.to_string()),
        filing_id: Set(filing_id),
        index_key_id: Set(key_id),
        name_index: Set(name_index),
    }
    .insert(db)
    .await?;
    Ok(())
}
