//! Reaching a report: who may see it, finding it by its tracking code, and the data keys that
//! open what is sealed for it. The one place that turns a stored wrapped key into an open one,
//! so a change of where keys come from touches this module alone.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::FromSql;
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, QueryFilter, QueryResult, QuerySelect, Statement, TryGetable, Value,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::ServiceError;
use super::audit::{self, AuditAction, AuditRecord};
use crate::config::{CIVIL_AFFAIRS_POST, DISTRICT_BUREAU};
use crate::crypto::{Dek, Keyring, SealContext, WrappedDek};
use crate::domain::{Role, Status, TrackingCode};
use crate::entities::{case_route, message, recusal, report, user, user_role};
use crate::sqlite_reads::SqliteReads;

/// The table a report's own fields are sealed for.
const REPORTS: &str = "reports";

/// Who is looking: the signed-in account and the roles it holds.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: Uuid,
    pub roles: Vec<Role>,
}

impl Viewer {
    pub fn is_inspector(&self) -> bool {
        self.roles.contains(&Role::Inspector)
    }

    pub fn is_operator(&self) -> bool {
        self.roles.contains(&Role::Operator)
    }

    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }

    /// The history kind of the remarks this account writes on the cases sent to its office
    /// (the bureau, a civil-affairs verifier); `None` for everyone else.
    pub fn remark(&self) -> Option<&'static str> {
        self.roles.iter().find_map(|r| r.remark())
    }

    /// Whether the account reads case files: inspectors all, the bureau and verifiers the
    /// cases sent to their office.
    pub fn reads_cases(&self) -> bool {
        self.is_inspector() || self.remark().is_some()
    }

    /// The reports this account may know exist, or `None` when it may know of none.
    /// Inspectors see every case they are not recused from; the bureau the cases sent to
    /// it; operators the ones they entered; an admin who is none of these sees nothing.
    /// Recusal applies to everyone.
    pub(crate) fn visible(&self) -> Option<Condition> {
        let not_recused = not_recused_condition(self.user_id);
        if self.is_inspector() {
            return Some(not_recused);
        }
        let mut reach = Condition::any();
        for (role, group) in OFFICES {
            if self.roles.contains(&role) {
                reach = reach.add(sent_to_group(group));
            }
        }
        if self.is_operator() {
            reach = reach.add(report::Column::OperatorId.eq(self.user_id));
        }
        if reach.is_empty() {
            return None;
        }
        Some(Condition::all().add(reach).add(not_recused))
    }
}

/// A staff member's call into the services: what it reads and writes with, who makes it,
/// and when.
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    pub db: &'a DatabaseConnection,
    pub keyring: &'a Keyring,
    pub viewer: &'a Viewer,
    pub now: DateTime<Utc>,
}

impl Caller<'_> {
    /// Begins a write this call makes: a transaction whose first statement is the audit
    /// entry naming the caller (it takes the write lock; see `audit::begin`).
    pub async fn begin(
        &self,
        action: AuditAction,
        report: Option<Uuid>,
        detail: &str,
    ) -> Result<DatabaseTransaction, ServiceError> {
        let record = AuditRecord::new(Some(self.viewer.user_id), action, report, detail);
        audit::begin(self.db, self.keyring, record, self.now).await
    }

    /// Records something this call reads or hands out: its audit entry, committed at once.
    pub async fn audit(
        &self,
        action: AuditAction,
        report: Option<Uuid>,
        detail: &str,
    ) -> Result<(), ServiceError> {
        Ok(self.begin(action, report, detail).await?.commit().await?)
    }

    /// Appends the audit entry naming the caller inside `txn`, as its first statement.
    pub async fn append_audit(
        &self,
        txn: &DatabaseTransaction,
        action: AuditAction,
        report: Option<Uuid>,
        detail: &str,
    ) -> Result<(), ServiceError> {
        let record = AuditRecord::new(Some(self.viewer.user_id), action, report, detail);
        audit::append(txn, self.keyring, record, self.now).await?;
        Ok(())
    }
}

/// The roles that read only the cases sent to their office, and that office's group.
const OFFICES: [(Role, &str); 2] = [
    (Role::Bureau, DISTRICT_BUREAU),
    (Role::Verifier, CIVIL_AFFAIRS_POST),
];

/// The reports routed to a recipient group, by rule or by escalation.
fn sent_to_group(group: &str) -> Condition {
    Condition::all().add(report::Column::Id.in_subquery(reports_having(
        case_route::Column::ReportId,
        case_route::Column::GroupId.eq(group),
    )))
}

/// A filter for `report::Entity` queries that leaves out every case the user is recused
/// from, evaluated in the database so lists and counts cannot forget it.
pub fn not_recused_condition(user_id: Uuid) -> Condition {
    Condition::all().add(report::Column::Id.not_in_subquery(reports_having(
        recusal::Column::ReportId,
        recusal::Column::UserId.eq(user_id),
    )))
}

/// The ids of the reports that have a row matching `matching` in the table whose column
/// `report_id` names the report: a subquery to test `report::Column::Id` against.
pub(crate) fn reports_having<C: ColumnTrait>(report_id: C, matching: Expr) -> SelectStatement {
    Query::select()
        .column(report_id)
        .from(C::EntityName::default())
        .and_where(matching)
        .to_owned()
}

/// The report if the viewer may see it; hidden and missing look the same.
pub(crate) async fn visible_report<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Option<report::Model>, ServiceError> {
    let Some(visible) = viewer.visible() else {
        return Ok(None);
    };
    Ok(report::Entity::find_by_id(id)
        .filter(visible)
        .one(db)
        .await?)
}

/// The case as an inspector about to work on it sees it.
pub(crate) async fn workable<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
) -> Result<report::Model, ServiceError> {
    if !viewer.is_inspector() {
        return Err(ServiceError::Forbidden);
    }
    visible_report(db, viewer, id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The case as someone about to read it sees it (an inspector, or the bureau a case sent to
/// it); nothing for anyone else, as for a case they may not see.
pub(crate) async fn readable<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    id: Uuid,
) -> Result<Option<report::Model>, ServiceError> {
    if !viewer.reads_cases() {
        return Ok(None);
    }
    visible_report(db, viewer, id).await
}

/// Whether a report with this id exists at all (visibility is the caller's to check).
pub async fn case_exists<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<bool, ServiceError> {
    Ok(report::Entity::find_by_id(id)
        .select_only()
        .column(report::Column::Id)
        .into_tuple::<Uuid>()
        .one(db)
        .await?
        .is_some())
}

/// The status a stored code names; an unreadable one reads as just received.
pub(crate) fn status_of(code: &str) -> Status {
    Status::parse(code).unwrap_or(Status::Received)
}

/// The report a tracking code belongs to, re-indexed under the current lookup key when it
/// was found under a retired one, so lookup keys can rotate without a mass migration.
pub(crate) async fn find_by_code<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
    code: &TrackingCode,
) -> Result<Option<report::Model>, ServiceError> {
    let hashes = keyring.lookup_hashes(code);
    let Some(mut found) = report::Entity::find()
        .filter(report::Column::TrackingHash.is_in(hashes.iter().map(|(_, h)| h.clone())))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if let Some((key_id, hash)) = rehash(db, hashes, found.id, &found.tracking_key_id).await? {
        found.tracking_key_id = key_id;
        found.tracking_hash = hash;
    }
    Ok(Some(found))
}

/// What a reporter's look-up reads of the report their code belongs to: its state, and the
/// wrapped key that opens its messages and the inspectors' decisions (none of its sealed
/// fields, which a reporter is never shown).
#[derive(Debug, Clone)]
pub(crate) struct Tracked {
    pub id: Uuid,
    pub anonymous: bool,
    pub status: String,
    pub received_on: NaiveDate,
    pub status_changed_at: Option<DateTime<Utc>>,
    pub merged_into: Option<Uuid>,
    pub purged_on: Option<NaiveDate>,
    pub dek: WrappedDek,
}

impl From<report::Model> for Tracked {
    fn from(found: report::Model) -> Tracked {
        Tracked {
            id: found.id,
            anonymous: found.anonymous,
            status: found.status,
            received_on: found.received_on,
            status_changed_at: found.status_changed_at,
            merged_into: found.merged_into,
            purged_on: found.purged_on,
            dek: WrappedDek {
                dek_id: found.dek_id,
                kek_id: found.dek_kek_id,
                bytes: found.dek_wrapped,
            },
        }
    }
}

/// A report found by its tracking code, with its messages: one indexed read (the report
/// joined to its messages), which is all a reporter's status page needs but for a closed
/// case's feedback. On a SQLite file it runs on this thread (`SqliteReads`), elsewhere
/// through the pool; either way it sees what has been committed. The statement's text
/// depends only on the backend and the number of lookup keys, and its rows are read by
/// position: a look-up runs no query builder and maps no column it does not use.
pub(crate) async fn find_with_messages(
    db: &DatabaseConnection,
    reads: &SqliteReads,
    keyring: &Keyring,
    code: &TrackingCode,
) -> Result<Option<(Tracked, Vec<message::Model>)>, ServiceError> {
    let hashes = keyring.lookup_hashes(code);
    let read = with_messages(db, reads, hashes.iter().map(|(_, h)| h.clone()).collect()).await?;
    let Some((tracked, key_id)) = read.found else {
        return Ok(None);
    };
    rehash(db, hashes, tracked.id, &key_id).await?;
    Ok(Some((tracked, read.messages)))
}

/// Does the same database work as a lookup of an unknown code, so a malformed code cannot
/// be told from an unknown one by its timing: the same read, with as many stand-in hashes
/// as a real code has (one per lookup key).
pub(crate) async fn find_nothing(
    db: &DatabaseConnection,
    reads: &SqliteReads,
    keyring: &Keyring,
) -> Result<(), ServiceError> {
    let stand_ins = (0..keyring.lookup_key_count())
        .map(|_| keyring.dummy_lookup_hash())
        .collect();
    with_messages(db, reads, stand_ins).await?;
    Ok(())
}

/// The report with the given tracking hashes and each of its messages, oldest first: one
/// row per message (or one with no message). Both tables are read through an index
/// (`ux_reports_tracking_hash`, `ix_messages_report`).
async fn with_messages(
    db: &DatabaseConnection,
    reads: &SqliteReads,
    hashes: Vec<Vec<u8>>,
) -> Result<WithMessages, ServiceError> {
    let backend = db.get_database_backend();
    let placeholders: Vec<String> = (1..=hashes.len())
        .map(|n| match backend {
            DbBackend::Postgres => format!("${n}"),
            _ => "?".to_string(),
        })
        .collect();
    let sql = format!(
        "SELECT r.id, r.anonymous, r.status, r.received_on, \
         r.status_changed_at, r.merged_into, r.purged_on, r.dek_id, r.dek_kek_id, \
         r.dek_wrapped, r.tracking_key_id, \
         m.id, m.from_inspector, m.author_id, m.at, m.body, m.read_at \
         FROM reports r LEFT JOIN messages m ON m.report_id = r.id \
         WHERE r.tracking_hash IN ({}) ORDER BY m.at",
        placeholders.join(", ")
    );
    let mut read = WithMessages::default();
    let direct = reads.read(|c| -> Result<(), ServiceError> {
        let mut statement = c.prepare_cached(&sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(&hashes))?;
        while let Some(row) = rows.next()? {
            read.take(row)?;
        }
        Ok(())
    });
    match direct {
        Some(done) => done?,
        None => {
            let values = hashes.into_iter().map(|h| Value::Bytes(Some(h)));
            let statement = Statement::from_sql_and_values(backend, sql, values);
            for row in db.query_all_raw(statement).await? {
                read.take(&row)?;
            }
        }
    }
    Ok(read)
}

/// What the look-up statement's rows come to: the report and the key its hash was found
/// under, and its messages.
#[derive(Default)]
struct WithMessages {
    found: Option<(Tracked, String)>,
    messages: Vec<message::Model>,
}

impl WithMessages {
    fn take(&mut self, row: &impl ByIndex) -> Result<(), ServiceError> {
        let id: Uuid = row.at(0)?;
        let (tracked, _) = match &self.found {
            Some(found) => found,
            None => self.found.insert((
                Tracked {
                    id,
                    anonymous: row.at(1)?,
                    status: row.at(2)?,
                    received_on: row.at(3)?,
                    status_changed_at: row.at(4)?,
                    merged_into: row.at(5)?,
                    purged_on: row.at(6)?,
                    dek: WrappedDek {
                        dek_id: row.at(7)?,
                        kek_id: row.at(8)?,
                        bytes: row.at(9)?,
                    },
                },
                row.at(10)?,
            )),
        };
        // Codes are unique under each key; a report matched under another key is not this
        // one's and brings no messages here.
        let Some(message_id) = row.at::<Option<Uuid>>(11)? else {
            return Ok(());
        };
        if id != tracked.id {
            return Ok(());
        }
        self.messages.push(message::Model {
            id: message_id,
            report_id: id,
            from_inspector: row.at(12)?,
            author_id: row.at(13)?,
            at: row.at(14)?,
            body: row.at(15)?,
            read_at: row.at(16)?,
        });
        Ok(())
    }
}

/// A row read by column position, from the pool or from `SqliteReads`.
trait ByIndex {
    fn at<T: TryGetable + FromSql>(&self, index: usize) -> Result<T, ServiceError>;
}

impl ByIndex for QueryResult {
    fn at<T: TryGetable + FromSql>(&self, index: usize) -> Result<T, ServiceError> {
        Ok(self.try_get_by_index(index)?)
    }
}

impl ByIndex for rusqlite::Row<'_> {
    fn at<T: TryGetable + FromSql>(&self, index: usize) -> Result<T, ServiceError> {
        Ok(self.get(index)?)
    }
}

/// A report found under an older lookup key is stored again under the current one (the
/// first of `hashes`); nothing is written when it was found under the current key. Returns
/// the key and hash written, if any.
async fn rehash<C: ConnectionTrait>(
    db: &C,
    mut hashes: Vec<(String, Vec<u8>)>,
    id: Uuid,
    found_under: &str,
) -> Result<Option<(String, Vec<u8>)>, ServiceError> {
    if hashes.is_empty() || hashes[0].0 == found_under {
        return Ok(None);
    }
    let (current_id, current_hash) = hashes.swap_remove(0);
    report::Entity::update_many()
        .col_expr(
            report::Column::TrackingKeyId,
            Expr::value(current_id.clone()),
        )
        .col_expr(
            report::Column::TrackingHash,
            Expr::value(current_hash.clone()),
        )
        .filter(report::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(Some((current_id, current_hash)))
}

/// A fresh data key for a new row that belongs to no report (or a new report), and its
/// wrapped form to store beside the row.
pub(crate) fn new_row_key(keyring: &Keyring, row: Uuid) -> Result<(Dek, WrappedDek), ServiceError> {
    let dek = Dek::generate();
    let wrapped = keyring.wrap(&dek, &row.to_string())?;
    Ok((dek, wrapped))
}

/// A row's own data key, unwrapped with the KEK it names.
pub(crate) fn row_key(
    keyring: &Keyring,
    wrapped: &WrappedDek,
    row: Uuid,
) -> Result<Dek, ServiceError> {
    Ok(keyring.unwrap(wrapped, &row.to_string())?)
}

/// The report's data key. Everything sealed for this report (its fields, events, notes,
/// messages, recusal reasons and files) opens with it.
pub(crate) fn report_dek(keyring: &Keyring, found: &report::Model) -> Result<Dek, ServiceError> {
    let wrapped = WrappedDek {
        dek_id: found.dek_id,
        kek_id: found.dek_kek_id.clone(),
        bytes: found.dek_wrapped.clone(),
    };
    unpurged_report_key(keyring, found.id, found.purged_on, &wrapped)
}

/// The data key of a report found by its tracking code (see `report_dek`).
pub(crate) fn tracked_dek(keyring: &Keyring, found: &Tracked) -> Result<Dek, ServiceError> {
    unpurged_report_key(keyring, found.id, found.purged_on, &found.dek)
}

/// A report's key unwrapped, unless the report was purged: a purged report has no key any
/// more, and reads as not found.
fn unpurged_report_key(
    keyring: &Keyring,
    id: Uuid,
    purged_on: Option<NaiveDate>,
    wrapped: &WrappedDek,
) -> Result<Dek, ServiceError> {
    if purged_on.is_some() {
        return Err(ServiceError::NotFound);
    }
    row_key(keyring, wrapped, id)
}

/// Seals and opens the fields of one row of one table, each value bound to that place.
pub(crate) struct Sealer<'a> {
    dek: &'a Dek,
    table: &'static str,
    row: String,
}

impl<'a> Sealer<'a> {
    pub(crate) fn new(dek: &'a Dek, table: &'static str, row: impl ToString) -> Sealer<'a> {
        Sealer {
            dek,
            table,
            row: row.to_string(),
        }
    }

    fn context<'b>(&'b self, field: &'b str) -> SealContext<'b> {
        SealContext {
            table: self.table,
            row: &self.row,
            field,
        }
    }

    pub(crate) fn seal(&self, field: &str, text: &str) -> Result<Vec<u8>, ServiceError> {
        Ok(self.dek.seal_str(&self.context(field), text)?)
    }

    pub(crate) fn seal_opt(
        &self,
        field: &str,
        text: Option<&str>,
    ) -> Result<Option<Vec<u8>>, ServiceError> {
        text.map(|t| self.seal(field, t)).transpose()
    }

    pub(crate) fn seal_bytes(&self, field: &str, bytes: &[u8]) -> Result<Vec<u8>, ServiceError> {
        Ok(self.dek.seal(&self.context(field), bytes)?)
    }

    pub(crate) fn open(
        &self,
        field: &str,
        stored: &[u8],
    ) -> Result<Zeroizing<String>, ServiceError> {
        Ok(self.dek.open_string(&self.context(field), stored)?)
    }

    pub(crate) fn open_opt(
        &self,
        field: &str,
        stored: Option<&[u8]>,
    ) -> Result<Option<Zeroizing<String>>, ServiceError> {
        stored.map(|s| self.open(field, s)).transpose()
    }

    pub(crate) fn open_bytes(
        &self,
        field: &str,
        stored: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        Ok(self.dek.open(&self.context(field), stored)?)
    }
}

/// The sealer of a report's own fields.
pub(crate) fn report_fields(dek: &Dek, report_id: Uuid) -> Sealer<'_> {
    Sealer::new(dek, REPORTS, report_id)
}

/// A report's content, decrypted. Only staff paths (and tests) ever call this.
pub struct OpenedReport {
    pub case_number: String,
    pub description: Zeroizing<String>,
    pub subject: Option<Zeroizing<String>>,
    pub occurred: Option<Zeroizing<String>>,
    pub reporter_name: Option<Zeroizing<String>>,
    pub reporter_phone: Option<Zeroizing<String>>,
}

/// Opens the report's own sealed fields; any altered or misplaced value fails the whole
/// opening rather than showing part of a report.
pub(crate) fn open_fields(dek: &Dek, found: &report::Model) -> Result<OpenedReport, ServiceError> {
    let fields = report_fields(dek, found.id);
    Ok(OpenedReport {
        case_number: found.case_number.clone(),
        description: fields.open("description", &found.description)?,
        subject: fields.open_opt("subject", found.subject.as_deref())?,
        occurred: fields.open_opt("occurred", found.occurred.as_deref())?,
        reporter_name: fields.open_opt("reporter_name", found.reporter_name.as_deref())?,
        reporter_phone: fields.open_opt("reporter_phone", found.reporter_phone.as_deref())?,
    })
}

/// Unwraps the report's DEK and opens every sealed field.
pub async fn open_report<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
    id: Uuid,
) -> Result<Option<OpenedReport>, ServiceError> {
    let Some(found) = report::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let dek = report_dek(keyring, &found)?;
    Ok(Some(open_fields(&dek, &found)?))
}

/// Whether an enabled account other than those in `except` holds `role`: a case no
/// inspector may see, or an office with no admin, is what this guards against.
pub(crate) async fn someone_else_holds<C: ConnectionTrait>(
    db: &C,
    role: Role,
    except: Vec<Uuid>,
) -> Result<bool, ServiceError> {
    let holders: Vec<Uuid> = user_role::Entity::find()
        .select_only()
        .column(user_role::Column::UserId)
        .filter(user_role::Column::Role.eq(role.code()))
        .filter(user_role::Column::UserId.is_not_in(except))
        .into_tuple()
        .all(db)
        .await?;
    let enabled = user::Entity::find()
        .filter(user::Column::Id.is_in(holders))
        .filter(user::Column::Disabled.eq(false))
        .one(db)
        .await?;
    Ok(enabled.is_some())
}
