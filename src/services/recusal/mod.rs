//! Recusal (回避): staff named in a report, or whose filed close relatives are, never see it.
//!
//! One matcher decides, at intake and after it: a staff member's name, alias or filed
//! relative's name found in the report's subject or description, however spaced, titles
//! and all (`FreeText::mentions`). A new account, alias or filing re-runs it over every
//! report, opening each one's subject and description in memory only (`rematch_user`).
//! The blind indexes of the people a subject names stay for linking repeat reports. A
//! recusal, once made, stays: see `rematch_user`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DerivePartialModel, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionSession, TransactionTrait,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::ServiceError;
use super::access::{Sealer, report_dek, report_fields, row_key, someone_else_holds};
use super::audit::{self, AuditAction, AuditRecord};
use super::blind::report_name_rows;
use crate::crypto::{Dek, Keyring, WrappedDek};
use crate::domain::{
    MIN_NAME_CHARS, ReportDraft, Role, is_title_only, normalize_name, start_of_day,
};
use crate::entities::{
    recusal, relative_filing, report, report_name, staff_name, user, user_alias,
};

mod explain;
mod filings;
mod names;

pub use explain::{Recused, Why, explain};
pub use filings::{
    Cadre, NewFiling, OpenedFiling, file, file_relative, list_relatives, open_filings,
    remove_relative,
};
pub(crate) use names::filing_key;
pub(crate) use names::reindex_staff;
use names::{STAFF_RELATIVE, find_user, index_own_names, open_filing};

/// Why a recusal exists, as stored in `recusals.source`.
const BY_NAME: &str = "name";
const BY_RELATIVE: &str = "relative";
const BY_HAND: &str = "manual";

const RECUSALS: &str = "recusals";

/// Longest reason for a recusal by hand, in characters.
const REASON_MAX: usize = 1000;

/// Every name the matcher compares a new report with: staff name index rows, display names,
/// aliases and filed relatives' names (opened in memory only). Loaded once per intake
/// transaction, after its first write, so no change of names can commit between the load
/// and the reports it is matched with (see `rematch_user`).
pub struct StaffNames {
    indexed: Vec<staff_name::Model>,
    /// Display names, then aliases: each a name its account is known by.
    own: Vec<(Uuid, String)>,
    relatives: Vec<(Uuid, Zeroizing<String>)>,
}

impl StaffNames {
    pub async fn load<C: ConnectionTrait>(
        txn: &C,
        keyring: &Keyring,
    ) -> Result<StaffNames, ServiceError> {
        let indexed = staff_name::Entity::find().all(txn).await?;
        let mut own =
            names_of::<user::Entity, _>(txn, [user::Column::Id, user::Column::DisplayName]).await?;
        own.extend(
            names_of::<user_alias::Entity, _>(
                txn,
                [user_alias::Column::UserId, user_alias::Column::Alias],
            )
            .await?,
        );
        // A filing for a cadre without an account recuses nobody: there is no one to keep away.
        let relatives = relative_filing::Entity::find()
            .filter(relative_filing::Column::UserId.is_not_null())
            .all(txn)
            .await?
            .iter()
            .filter_map(|filing| {
                let user_id = filing.user_id?;
                Some(open_filing(keyring, filing).map(|(name, _)| (user_id, name)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StaffNames {
            indexed,
            own,
            relatives,
        })
    }

    /// The accounts a report names, with why: by the blind index of a person its subject
    /// names, or by a name found in its free text.
    fn matches(&self, keyring: &Keyring, names: &[String], text: &FreeText) -> Matches {
        let mut matches = Matches::default();
        if !names.is_empty() {
            // Each row is compared under its own index key, so rows a rotation has not
            // re-indexed yet still match.
            let wanted: Vec<(String, Vec<u8>)> = names
                .iter()
                .flat_map(|name| keyring.blind_indexes(&[name]))
                .collect();
            for row in &self.indexed {
                let named = wanted
                    .iter()
                    .any(|(key_id, index)| *key_id == row.index_key_id && *index == row.name_index);
                if named {
                    matches.add(row.user_id, recusal_source(&row.source));
                }
            }
        }
        // The description (and the subject as a whole) is free text that no splitting can
        // take apart reliably, so staff names are looked for inside it.
        for (user_id, name) in &self.own {
            if text.mentions(name) {
                matches.add(*user_id, BY_NAME);
            }
        }
        for (user_id, name) in &self.relatives {
            if text.mentions(name) {
                matches.add(*user_id, BY_RELATIVE);
            }
        }
        matches
    }
}

/// Every `(account id, name)` pair of `E`'s `[account id, name]` columns.
async fn names_of<E: EntityTrait, C: ConnectionTrait>(
    txn: &C,
    [account, name]: [E::Column; 2],
) -> Result<Vec<(Uuid, String)>, ServiceError> {
    Ok(E::find()
        .select_only()
        .columns([account, name])
        .into_tuple()
        .all(txn)
        .await?)
}

/// What a new report brings for recusal: the index rows of the people its subject names,
/// the recusal rows of the staff it names (or whose filed relatives it names), and those
/// staff accounts. Nothing is written here: intake writes the rows with the report's.
///
/// Disabled accounts are recused too: it costs nothing while they are disabled, and an
/// account that is enabled again must not find itself on a case that names it.
pub struct AtIntake {
    pub names: Vec<report_name::ActiveModel>,
    pub recusals: Vec<recusal::ActiveModel>,
    pub recused: Vec<Uuid>,
}

/// Matches a new report with the staff's names, before anything is sealed. The recusals
/// need no assignee cleared: a new report has none.
pub fn recuse_at_intake(
    keyring: &Keyring,
    staff: &StaffNames,
    report_id: Uuid,
    draft: &ReportDraft,
    now: DateTime<Utc>,
) -> AtIntake {
    let (names, found) = report_name_rows(
        keyring,
        report_id,
        draft.subject.as_deref(),
        draft.village.as_deref(),
    );
    let text = FreeText::new(draft.subject.as_deref(), &draft.description);
    let matches = staff.matches(keyring, &found, &text);
    // An anonymous report keeps no time of day, and a recusal written with it would give
    // that time away; the day is all anyone needs here.
    let at = start_of_day(now);
    let recusals = matches
        .0
        .iter()
        .map(|(user_id, source)| recusal::ActiveModel {
            report_id: Set(report_id),
            user_id: Set(*user_id),
            source: Set(source.to_string()),
            reason: Set(None),
            by_user: Set(None),
            at: Set(at),
        })
        .collect();
    AtIntake {
        names,
        recusals,
        recused: matches.0.into_iter().map(|(user_id, _)| user_id).collect(),
    }
}

/// Rebuilds the blind indexes of a staff member's display name and aliases, then recuses
/// them from every existing report whose subject or description names them or a filed
/// relative, by the matcher intake uses. Call inside the transaction that changes the
/// account's names or filings, so the change and its recusals commit together and the
/// account's next request already cannot reach those reports. Each report's text is opened
/// in memory only, in batches; reports the account is already recused from are skipped.
///
/// Existing recusals are never removed here: a report named this person (or their
/// relative) when it came in, and dropping an alias must not be a way back onto that case.
/// Lifting a recusal is a decision for a person, not a side effect of renaming.
pub async fn rematch_user<C: ConnectionTrait>(
    txn: &C,
    keyring: &Keyring,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, ServiceError> {
    let account = find_user(txn, user_id).await?;
    let aliases = index_own_names(txn, keyring, &account).await?;

    // Relatives' rows are kept as they are: they belong to the filings.
    let own: Vec<&str> = std::iter::once(account.display_name.as_str())
        .chain(aliases.iter().map(|a| a.alias.as_str()))
        .collect();
    let relatives = relative_filing::Entity::find()
        .filter(relative_filing::Column::UserId.eq(user_id))
        .all(txn)
        .await?
        .iter()
        .map(|filing| open_filing(keyring, filing).map(|(name, _)| name))
        .collect::<Result<Vec<_>, _>>()?;
    let relatives: Vec<&str> = relatives.iter().map(|name| name.as_str()).collect();
    if !own
        .iter()
        .chain(&relatives)
        .any(|name| FreeText::can_match(name))
    {
        return Ok(Vec::new());
    }

    let already: HashSet<Uuid> = recused_report_ids(txn, user_id)
        .await?
        .into_iter()
        .collect();
    let mut newly = Vec::new();
    let mut after: Option<Uuid> = None;
    loop {
        let batch = sealed_texts(txn, after).await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = Some(last.id);
        for sealed in batch.iter().filter(|r| !already.contains(&r.id)) {
            let text = sealed.open(keyring)?;
            let source = if own.iter().any(|name| text.mentions(name)) {
                BY_NAME
            } else if relatives.iter().any(|name| text.mentions(name)) {
                BY_RELATIVE
            } else {
                continue;
            };
            if insert_recusal(txn, sealed.id, user_id, source, None, None, now).await? {
                newly.push(sealed.id);
            }
        }
    }
    Ok(newly)
}

/// Reports opened per query while re-matching: enough to keep round trips few, few enough
/// that memory stays small however many reports there are.
const REMATCH_BATCH: u64 = 500;

/// What re-matching needs of a report: its id, its wrapped data key and its sealed text.
struct SealedText {
    id: Uuid,
    wrapped: WrappedDek,
    subject: Option<Vec<u8>>,
    description: Vec<u8>,
}

impl SealedText {
    fn open(&self, keyring: &Keyring) -> Result<FreeText, ServiceError> {
        let dek = row_key(keyring, &self.wrapped, self.id)?;
        let fields = report_fields(&dek, self.id);
        let description = fields.open("description", &self.description)?;
        let subject = fields.open_opt("subject", self.subject.as_deref())?;
        Ok(FreeText::new(
            subject.as_deref().map(String::as_str),
            &description,
        ))
    }
}

/// What re-matching reads of a report: its key and the two texts that can name someone.
#[derive(DerivePartialModel)]
#[sea_orm(entity = "report::Entity")]
struct Rematched {
    id: Uuid,
    dek_id: Uuid,
    dek_kek_id: String,
    dek_wrapped: Vec<u8>,
    subject: Option<Vec<u8>>,
    description: Vec<u8>,
}

/// The next batch of reports after `after` in id order, only the columns re-matching reads.
async fn sealed_texts<C: ConnectionTrait>(
    db: &C,
    after: Option<Uuid>,
) -> Result<Vec<SealedText>, ServiceError> {
    let mut query = report::Entity::find()
        // A purged report has nothing left to name anyone.
        .filter(report::Column::PurgedOn.is_null())
        .order_by_asc(report::Column::Id)
        .limit(REMATCH_BATCH);
    if let Some(after) = after {
        query = query.filter(report::Column::Id.gt(after));
    }
    let rows = query.into_partial_model::<Rematched>().all(db).await?;
    Ok(rows
        .into_iter()
        .map(|row| SealedText {
            id: row.id,
            wrapped: WrappedDek {
                dek_id: row.dek_id,
                kek_id: row.dek_kek_id,
                bytes: row.dek_wrapped,
            },
            subject: row.subject,
            description: row.description,
        })
        .collect())
}

/// Recuses a staff member from a case by hand, with a reason sealed under the report's own
/// key (it may well name people). Returns false when they were already recused, in which
/// case nothing is written.
///
/// Runs in a transaction of its own, or in a savepoint when `db` is already a transaction
/// (then the caller's first statement should have been a write, for SQLite's sake).
pub async fn recuse_manually<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    keyring: &Keyring,
    report_id: Uuid,
    user_id: Uuid,
    by: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ServiceError::Invalid("error.required"));
    }
    if reason.chars().count() > REASON_MAX {
        return Err(ServiceError::Invalid("error.too_long"));
    }
    let found = report::Entity::find_by_id(report_id)
        .one(db)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("report".into()))?;
    let account = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("user".into()))?;
    if is_recused(db, report_id, user_id).await? {
        return Ok(false);
    }
    let dek = report_dek(keyring, &found)?;
    let sealed = reason_sealer(&dek, report_id, user_id).seal("reason", reason)?;

    let detail = format!("recused {} by hand", account.username);
    let record = AuditRecord::new(Some(by), AuditAction::Recuse, Some(report_id), &detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    // Read inside the write lock: two inspectors stepping aside at once must not both pass.
    let mut kept_away = recused_users(&txn, report_id).await?;
    kept_away.push(user_id);
    if !someone_else_holds(&txn, Role::Inspector, kept_away).await? {
        return Err(ServiceError::Invalid("error.recusal_last_inspector"));
    }
    let inserted = insert_recusal(
        &txn,
        report_id,
        user_id,
        BY_HAND,
        Some(sealed),
        Some(by),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(inserted)
}

/// The reason given for a recusal by hand, opened; `None` for automatic recusals and for
/// staff who are not recused.
pub async fn recusal_reason<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
    report_id: Uuid,
    user_id: Uuid,
) -> Result<Option<Zeroizing<String>>, ServiceError> {
    let Some(row) = recusal::Entity::find_by_id((report_id, user_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(sealed) = row.reason else {
        return Ok(None);
    };
    let found = report::Entity::find_by_id(report_id)
        .one(db)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("report".into()))?;
    let dek = report_dek(keyring, &found)?;
    Ok(Some(
        reason_sealer(&dek, report_id, user_id).open("reason", &sealed)?,
    ))
}

/// Whether a staff member is kept away from a case.
pub async fn is_recused<C: ConnectionTrait>(
    db: &C,
    report_id: Uuid,
    user_id: Uuid,
) -> Result<bool, ServiceError> {
    Ok(recusal::Entity::find_by_id((report_id, user_id))
        .one(db)
        .await?
        .is_some())
}

/// Everyone kept away from a case (left out of its mail, its list rows and its page).
pub async fn recused_users<C: ConnectionTrait>(
    db: &C,
    report_id: Uuid,
) -> Result<Vec<Uuid>, ServiceError> {
    other_side(db, (recusal::Column::ReportId, report_id)).await
}

/// Every case a staff member is kept away from.
pub async fn recused_report_ids<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
) -> Result<Vec<Uuid>, ServiceError> {
    other_side(db, (recusal::Column::UserId, user_id)).await
}

/// The ids on the other side of the recusals whose `by` column is `id` (a report's staff, or a
/// staff member's reports), in order.
async fn other_side<C: ConnectionTrait>(
    db: &C,
    (by, id): (recusal::Column, Uuid),
) -> Result<Vec<Uuid>, ServiceError> {
    let wanted = match by {
        recusal::Column::ReportId => recusal::Column::UserId,
        _ => recusal::Column::ReportId,
    };
    Ok(recusal::Entity::find()
        .select_only()
        .column(wanted)
        .filter(by.eq(id))
        .order_by_asc(wanted)
        .into_tuple::<Uuid>()
        .all(db)
        .await?)
}

/// Matches in the order found, one per key; a match by the person's own name wins over one
/// through a relative, since that is the stronger reason to stay away.
#[derive(Default)]
struct Matches(Vec<(Uuid, &'static str)>);

impl Matches {
    fn add(&mut self, id: Uuid, source: &'static str) {
        match self.0.iter_mut().find(|(known, _)| *known == id) {
            Some(found) if source == BY_NAME => found.1 = BY_NAME,
            Some(_) => {}
            None => self.0.push((id, source)),
        }
    }
}

fn recusal_source(staff_source: &str) -> &'static str {
    if staff_source == STAFF_RELATIVE {
        BY_RELATIVE
    } else {
        BY_NAME
    }
}

/// The report's free text, normalised once, for looking names up inside it.
struct FreeText {
    description: Zeroizing<String>,
    subject: Zeroizing<String>,
}

impl FreeText {
    fn new(subject: Option<&str>, description: &str) -> FreeText {
        FreeText {
            description: Zeroizing::new(normalize_name(description)),
            subject: Zeroizing::new(subject.map(normalize_name).unwrap_or_default()),
        }
    }

    /// Whether a name is ever looked for: a single character or a bare title ("书记") would
    /// match nearly every report.
    fn can_match(name: &str) -> bool {
        matchable(&normalize_name(name))
    }

    fn mentions(&self, name: &str) -> bool {
        let name = Zeroizing::new(normalize_name(name));
        matchable(&name)
            && (self.description.contains(name.as_str()) || self.subject.contains(name.as_str()))
    }
}

/// A normalised name long enough, and more than a title, to be looked for in a report.
pub(crate) fn matchable(normalized: &str) -> bool {
    normalized.chars().count() >= MIN_NAME_CHARS && !is_title_only(normalized)
}

async fn insert_recusal<C: ConnectionTrait>(
    db: &C,
    report_id: Uuid,
    user_id: Uuid,
    source: &str,
    reason: Option<Vec<u8>>,
    by_user: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let inserted = recusal::Entity::insert(recusal::ActiveModel {
        report_id: Set(report_id),
        user_id: Set(user_id),
        source: Set(source.to_string()),
        reason: Set(reason),
        by_user: Set(by_user),
        at: Set(at),
    })
    .on_conflict(
        OnConflict::columns([recusal::Column::ReportId, recusal::Column::UserId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    // Someone kept away from a case cannot be the one handling it.
    report::Entity::update_many()
        .col_expr(report::Column::AssigneeId, Expr::value(None::<Uuid>))
        .filter(report::Column::Id.eq(report_id))
        .filter(report::Column::AssigneeId.eq(user_id))
        .exec(db)
        .await?;
    Ok(inserted > 0)
}

/// A recusal's row is the (report, account) pair; its reason is sealed with the report's key.
fn reason_sealer(dek: &Dek, report_id: Uuid, user_id: Uuid) -> Sealer<'_> {
    Sealer::new(dek, RECUSALS, format!("{report_id}/{user_id}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_match_by_name_outranks_one_through_a_relative() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let mut matches = Matches::default();
        matches.add(a, BY_RELATIVE);
        matches.add(b, BY_NAME);
        matches.add(a, BY_NAME);
        matches.add(b, BY_RELATIVE);
        assert_eq!(matches.0, vec![(a, BY_NAME), (b, BY_NAME)]);
    }
}
