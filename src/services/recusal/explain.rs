//! Why each recused person is kept away from a case, for those who may see it: the name the
//! report gives (their own or an alias), the filed relative it names, or the reason given by
//! hand. That a report names a filed relative of a cadre is itself a lead.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::names::open_filing;
use super::{BY_HAND, BY_RELATIVE, FreeText, reason_sealer};
use crate::crypto::Dek;
use crate::crypto::Keyring;
use crate::entities::{recusal, relative_filing, user, user_alias};
use crate::services::ServiceError;

/// One recused person and why.
#[derive(Debug, Clone)]
pub struct Recused {
    pub user_id: Uuid,
    pub display_name: String,
    pub why: Why,
}

#[derive(Debug, Clone)]
pub enum Why {
    /// The report names them: `written` is the name found in it, `alias` when it is one of
    /// their aliases rather than their own name.
    Named { written: String, alias: bool },
    /// The report names a close relative filed for them.
    Relative {
        relative: Zeroizing<String>,
        relation: Option<Zeroizing<String>>,
    },
    /// Recused by hand: by whom and why.
    ByHand {
        by: Option<String>,
        reason: Option<Zeroizing<String>>,
    },
    /// The ground is no longer on file: a name changed or a filing revoked since. The
    /// recusal stands.
    NoLongerOnFile,
}

/// The recusals of a case and their grounds, in display-name order; `dek` is the report's
/// key (it seals reasons given by hand), `subject` and `description` its opened text.
pub async fn explain<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
    dek: &Dek,
    report_id: Uuid,
    subject: Option<&str>,
    description: &str,
) -> Result<Vec<Recused>, ServiceError> {
    let rows = recusal::Entity::find()
        .filter(recusal::Column::ReportId.eq(report_id))
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let text = FreeText::new(subject, description);
    let ids: Vec<Uuid> = rows
        .iter()
        .flat_map(|r| [Some(r.user_id), r.by_user])
        .flatten()
        .collect();
    let accounts = user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?;
    let name_of = |id: Uuid| {
        accounts
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.display_name.clone())
    };
    let mut explained = Vec::with_capacity(rows.len());
    for row in rows {
        let why = match row.source.as_str() {
            BY_HAND => Why::ByHand {
                by: row.by_user.and_then(name_of),
                reason: row
                    .reason
                    .as_deref()
                    .map(|r| reason_sealer(dek, report_id, row.user_id).open("reason", r))
                    .transpose()?,
            },
            BY_RELATIVE => relative_named(db, keyring, &text, row.user_id).await?,
            _ => name_written(db, &text, row.user_id, name_of(row.user_id)).await?,
        };
        explained.push(Recused {
            user_id: row.user_id,
            display_name: name_of(row.user_id).unwrap_or_default(),
            why,
        });
    }
    explained.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    Ok(explained)
}

/// Which of a person's names the report gives: their own first, then an alias.
async fn name_written<C: ConnectionTrait>(
    db: &C,
    text: &FreeText,
    user_id: Uuid,
    own: Option<String>,
) -> Result<Why, ServiceError> {
    if let Some(own) = own.filter(|own| text.mentions(own)) {
        return Ok(Why::Named {
            written: own,
            alias: false,
        });
    }
    let aliases = user_alias::Entity::find()
        .filter(user_alias::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    let alias = aliases.into_iter().find(|a| text.mentions(&a.alias));
    Ok(alias.map_or(Why::NoLongerOnFile, |a| Why::Named {
        written: a.alias,
        alias: true,
    }))
}

/// The filed relative of `user_id` the report names, opened in memory only.
async fn relative_named<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
    text: &FreeText,
    user_id: Uuid,
) -> Result<Why, ServiceError> {
    let filings = relative_filing::Entity::find()
        .filter(relative_filing::Column::UserId.eq(user_id))
        .all(db)
        .await?;
    for filing in &filings {
        let (relative, relation) = open_filing(keyring, filing)?;
        if text.mentions(&relative) {
            return Ok(Why::Relative { relative, relation });
        }
    }
    Ok(Why::NoLongerOnFile)
}
