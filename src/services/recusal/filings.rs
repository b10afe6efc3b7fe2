//! Close-relative filings (近亲属备案): filing, withdrawing and opening them. A filing names
//! the cadre or caseworker — a staff account, who is then recused from every report naming
//! the relative, or a person without an account, who recuses no one — and the relative, the
//! relation, the relative's village and the kind of support received.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::names::{FILINGS, STAFF_RELATIVE, filing_key, open_filing};
use super::rematch_user;
use crate::crypto::Keyring;
use crate::domain::{MIN_NAME_CHARS, SupportKind, Villages, normalize_name};
use crate::entities::{relative_filing, staff_name, user};
use crate::services::ServiceError;
use crate::services::access::{Sealer, new_row_key};
use crate::services::audit::{self, AuditAction, AuditRecord};
use crate::services::blind::index_staff_name;

/// Longest name, relation or post an admin may file, in characters.
const FILING_FIELD_MAX: usize = 50;

/// Whose relative is filed.
#[derive(Debug, Clone, Copy)]
pub enum Cadre<'a> {
    /// A staff account: recused from reports naming the relative.
    Account(Uuid),
    /// A cadre or caseworker without an account: name and post (sealed), village (an id
    /// from the configuration). Recuses no one.
    Person {
        name: &'a str,
        post: &'a str,
        village: Option<&'a str>,
    },
}

/// A filing as an admin enters it.
#[derive(Debug, Clone, Copy)]
pub struct NewFiling<'a> {
    pub cadre: Cadre<'a>,
    pub relative: &'a str,
    pub relation: Option<&'a str>,
    /// The relative's village or community, an id from the configuration.
    pub village: Option<&'a str>,
    pub support: Option<SupportKind>,
}

/// A filing opened in memory: its sealed fields in clear.
pub struct OpenedFiling {
    pub id: Uuid,
    /// The staff account, or `None` for a cadre without one.
    pub user_id: Option<Uuid>,
    pub relative: Zeroizing<String>,
    pub relation: Option<Zeroizing<String>>,
    /// Name and post of a cadre without an account.
    pub cadre_name: Option<Zeroizing<String>>,
    pub cadre_post: Option<Zeroizing<String>>,
    pub cadre_village: Option<String>,
    pub village: Option<String>,
    pub support: Option<SupportKind>,
    pub created_at: DateTime<Utc>,
}

/// Files a close relative of a staff member and recuses the staff member from every report
/// that already names that relative (see `file`). Returns the filing's id.
pub async fn file_relative(
    db: &DatabaseConnection,
    keyring: &Keyring,
    staff_user_id: Uuid,
    name: &str,
    relation: Option<&str>,
    actor: Uuid,
    now: DateTime<Utc>,
) -> Result<Uuid, ServiceError> {
    let filing = NewFiling {
        cadre: Cadre::Account(staff_user_id),
        relative: name,
        relation,
        village: None,
        support: None,
    };
    file(db, keyring, &Villages::new(Vec::new()), &filing, actor, now).await
}

/// Files a close relative (近亲属备案), audited. The names, relation and post are sealed under a
/// key of the filing's own; only the relative's blind index can be searched, and only for a
/// staff account, which is recused at once from every report already naming the relative.
/// Returns the filing's id.
pub async fn file(
    db: &DatabaseConnection,
    keyring: &Keyring,
    villages: &Villages,
    new: &NewFiling<'_>,
    actor: Uuid,
    now: DateTime<Utc>,
) -> Result<Uuid, ServiceError> {
    let name = Zeroizing::new(new.relative.trim().to_string());
    let normalized = Zeroizing::new(normalize_name(&name));
    if normalized.chars().count() < MIN_NAME_CHARS {
        return Err(ServiceError::Invalid("error.relative_name_short"));
    }
    if name.chars().count() > FILING_FIELD_MAX {
        return Err(ServiceError::Invalid("error.relative_name_long"));
    }
    let relation = trimmed(new.relation);
    if relation.is_some_and(|r| r.chars().count() > FILING_FIELD_MAX) {
        return Err(ServiceError::Invalid("error.relation_long"));
    }
    let village = known_village(villages, new.village)?;

    let (account, person) = match new.cadre {
        Cadre::Account(user_id) => {
            let account = user::Entity::find_by_id(user_id)
                .one(db)
                .await?
                .ok_or(ServiceError::Invalid("staff.relatives.staff_required"))?;
            (Some(account), None)
        }
        Cadre::Person {
            name,
            post,
            village,
        } => {
            let name = trimmed(Some(name));
            let post = trimmed(Some(post));
            let (Some(name), Some(post)) = (name, post) else {
                return Err(ServiceError::Invalid("staff.relatives.cadre_required"));
            };
            if name.chars().count() > FILING_FIELD_MAX || post.chars().count() > FILING_FIELD_MAX {
                return Err(ServiceError::Invalid("error.cadre_long"));
            }
            (None, Some((name, post, known_village(villages, village)?)))
        }
    };

    let detail = match &account {
        Some(account) => format!("filed a close relative for user {}", account.username),
        None => "filed a close relative for a cadre without an account".to_string(),
    };
    let record = AuditRecord::new(Some(actor), AuditAction::FilingChange, None, &detail);
    let txn = audit::begin(db, keyring, record, now).await?;

    let filing_id = Uuid::new_v4();
    let (dek, wrapped) = new_row_key(keyring, filing_id)?;
    let filing = Sealer::new(&dek, FILINGS, filing_id);
    relative_filing::ActiveModel {
        id: Set(filing_id),
        user_id: Set(account.as_ref().map(|a| a.id)),
        name: Set(filing.seal("name", &name)?),
        relation: Set(filing.seal_opt("relation", relation)?),
        dek_id: Set(wrapped.dek_id),
        dek_kek_id: Set(wrapped.kek_id),
        dek_wrapped: Set(wrapped.bytes),
        created_at: Set(now),
        cadre_name: Set(filing.seal_opt("cadre_name", person.map(|p| p.0))?),
        cadre_post: Set(filing.seal_opt("cadre_post", person.map(|p| p.1))?),
        cadre_village: Set(person.and_then(|p| p.2).map(str::to_string)),
        village: Set(village.map(str::to_string)),
        support: Set(new.support.map(|s| s.code().to_string())),
    }
    .insert(&txn)
    .await?;

    if let Some(account) = &account {
        index_staff_name(
            &txn,
            keyring,
            account.id,
            STAFF_RELATIVE,
            Some(filing_id),
            &normalized,
        )
        .await?;
        rematch_user(&txn, keyring, account.id, now).await?;
    }
    txn.commit().await?;
    Ok(filing_id)
}

/// A village given as one of the configured ids, or none.
fn known_village<'a>(
    villages: &Villages,
    village: Option<&'a str>,
) -> Result<Option<&'a str>, ServiceError> {
    match trimmed(village) {
        Some(id) if villages.get(id).is_none() => {
            Err(ServiceError::Invalid("staff.sites.bad_village"))
        }
        other => Ok(other),
    }
}

fn trimmed(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// Withdraws a close-relative filing, its visits with it. Recusals it already caused stay
/// (see `rematch_user`). Returns false when there was no such filing.
pub async fn remove_relative(
    db: &DatabaseConnection,
    keyring: &Keyring,
    filing_id: Uuid,
    actor: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let Some(filing) = relative_filing::Entity::find_by_id(filing_id)
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    let detail = match filing.user_id {
        Some(user_id) => {
            let username = user::Entity::find_by_id(user_id)
                .one(db)
                .await?
                .map_or_else(|| user_id.to_string(), |u| u.username);
            format!("removed a close-relative filing for user {username}")
        }
        None => format!("removed close-relative filing {filing_id} of a cadre without an account"),
    };
    let record = AuditRecord::new(Some(actor), AuditAction::FilingChange, None, &detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    staff_name::Entity::delete_many()
        .filter(staff_name::Column::FilingId.eq(filing_id))
        .exec(&txn)
        .await?;
    let deleted = relative_filing::Entity::delete_by_id(filing_id)
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(deleted.rows_affected > 0)
}

/// A staff member's filed relatives, opened: (filing id, name, relation), oldest first.
pub async fn list_relatives(
    db: &DatabaseConnection,
    keyring: &Keyring,
    staff_user_id: Uuid,
) -> Result<Vec<(Uuid, Zeroizing<String>, Option<Zeroizing<String>>)>, ServiceError> {
    let filings = relative_filing::Entity::find()
        .filter(relative_filing::Column::UserId.eq(staff_user_id))
        .order_by_asc(relative_filing::Column::CreatedAt)
        .order_by_asc(relative_filing::Column::Id)
        .all(db)
        .await?;
    filings
        .iter()
        .map(|filing| {
            let (name, relation) = open_filing(keyring, filing)?;
            Ok((filing.id, name, relation))
        })
        .collect()
}

/// Filings opened in memory, in the order given. Callers that show them to a person audit
/// the reading first (see `services::register`).
pub fn open_filings(
    keyring: &Keyring,
    filings: Vec<relative_filing::Model>,
) -> Result<Vec<OpenedFiling>, ServiceError> {
    filings
        .into_iter()
        .map(|filing| {
            let dek = filing_key(keyring, &filing)?;
            let sealed = Sealer::new(&dek, FILINGS, filing.id);
            Ok(OpenedFiling {
                id: filing.id,
                user_id: filing.user_id,
                relative: sealed.open("name", &filing.name)?,
                relation: sealed.open_opt("relation", filing.relation.as_deref())?,
                cadre_name: sealed.open_opt("cadre_name", filing.cadre_name.as_deref())?,
                cadre_post: sealed.open_opt("cadre_post", filing.cadre_post.as_deref())?,
                cadre_village: filing.cadre_village,
                village: filing.village,
                support: filing.support.as_deref().and_then(SupportKind::parse),
                created_at: filing.created_at,
            })
        })
        .collect()
}
