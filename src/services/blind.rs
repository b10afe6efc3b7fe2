//! The blind-index rows: of the people a report's subject names (`report_names`) and of the
//! names staff are known by (`staff_names`), made the same way at intake, on a change of
//! names and when a rotation of the index key re-indexes them.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait};
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
    let names = subject.map(names_in_subject).unwrap_or_default();
    let village = village.unwrap_or("");
    for name in &names {
        let (key_id, name_index) = keyring.blind_index(&[name]);
        let (_, place_index) = keyring.blind_index(&[name, village]);
        report_name::ActiveModel {
            id: Set(Uuid::new_v4()),
            report_id: Set(report_id),
            index_key_id: Set(key_id),
            name_index: Set(name_index),
            place_index: Set(place_index),
        }
        .insert(db)
        .await?;
    }
    Ok(names)
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

/// Staff name rows naming any of `names`, each compared under its own index key, so rows a
/// rotation has not re-indexed yet still match.
pub(crate) fn staff_names_matching(keyring: &Keyring, names: &[String]) -> Option<Condition> {
    if names.is_empty() {
        return None;
    }
    let mut per_key: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
    for name in names {
        for (key_id, index) in keyring.blind_indexes(&[name]) {
            match per_key.iter_mut().find(|(k, _)| *k == key_id) {
                Some((_, indexes)) => indexes.push(index),
                None => per_key.push((key_id, vec![index])),
            }
        }
    }
    let mut any = Condition::any();
    for (key_id, indexes) in per_key {
        any = any.add(
            Condition::all()
                .add(staff_name::Column::IndexKeyId.eq(key_id))
                .add(staff_name::Column::NameIndex.is_in(indexes)),
        );
    }
    Some(any)
}
