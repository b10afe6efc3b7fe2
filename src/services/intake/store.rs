//! The intake transaction's own rows: the case numbers, the spent form tokens, the reports
//! (content sealed with a fresh data key each) and their files, with the rows each brings
//! (the people it names, recusals, routing, outbox), built in memory before any is written.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, Iterable,
    QueryFilter, TryInsertResult,
};
use uuid::Uuid;

use super::{Intake, Origin, Receipt, StoredFile, TOKEN_USED, batch::Job};
use crate::crypto::{Dek, Keyring, new_tracking_code};
use crate::domain::attachment::Attachment;
use crate::domain::{Status, TrackingCode, end_of_day, local_day};
use crate::entities::recusal as recusal_row;
use crate::entities::{case_counter, case_route, outbox, report, report_name, used_form_token};
use crate::mail::CaseFacts;
use crate::services::access::{new_row_key, report_fields};
use crate::services::recusal::{self, StaffNames};
use crate::services::routing::CaseMeta;
use crate::services::{ServiceError, attachments, sites};

/// The case numbers a transaction hands out (2026-0001, …, per year, staff-facing only):
/// reserved for all its reports at once, and what its failed reports did not use given back
/// before the commit, so numbers run without a gap.
pub(super) struct CaseNumbers(Vec<Reserved>);

struct Reserved {
    year: i32,
    first: i32,
    reserved: i32,
    used: i32,
}

impl CaseNumbers {
    /// Reserves a number for each of these days' reports, one statement per year. Written
    /// first, so the transaction takes the write lock at once (SQLite would otherwise fail a
    /// read-then-write upgrade under contention); on PostgreSQL it holds the year's counter
    /// row until the commit, so nobody else counts meanwhile.
    pub async fn reserve<C: ConnectionTrait>(
        txn: &C,
        days: impl Iterator<Item = NaiveDate>,
    ) -> Result<CaseNumbers, ServiceError> {
        let mut wanted: Vec<(i32, i32)> = Vec::new();
        for year in days.map(|day| day.year()) {
            match wanted.iter_mut().find(|(y, _)| *y == year) {
                Some((_, count)) => *count += 1,
                None => wanted.push((year, 1)),
            }
        }
        let mut reserved = Vec::with_capacity(wanted.len());
        for (year, count) in wanted {
            // One statement: the year's row is made on its first report, counted up after.
            let counted = case_counter::Entity::insert(case_counter::ActiveModel {
                year: Set(year),
                last: Set(count),
            })
            .on_conflict(
                OnConflict::column(case_counter::Column::Year)
                    .value(
                        case_counter::Column::Last,
                        Expr::col((case_counter::Entity, case_counter::Column::Last)).add(count),
                    )
                    .to_owned(),
            )
            .exec_with_returning(txn)
            .await?;
            reserved.push(Reserved {
                year,
                first: counted.last - count + 1,
                reserved: count,
                used: 0,
            });
        }
        Ok(CaseNumbers(reserved))
    }

    fn year(&mut self, day: NaiveDate) -> Result<&mut Reserved, ServiceError> {
        let year = day.year();
        self.0
            .iter_mut()
            .find(|r| r.year == year && r.used < r.reserved)
            .ok_or_else(|| {
                ServiceError::Db(sea_orm::DbErr::Custom(format!(
                    "no case number reserved for {year}"
                )))
            })
    }

    /// The number the next report received on `day` gets, once `taken`.
    pub fn next(&mut self, day: NaiveDate) -> Result<String, ServiceError> {
        let reserved = self.year(day)?;
        let (year, n) = (reserved.year, reserved.first + reserved.used);
        Ok(format!("{year}-{n:04}"))
    }

    /// The report that was given `next(day)` is stored.
    pub fn taken(&mut self, day: NaiveDate) -> Result<(), ServiceError> {
        self.year(day)?.used += 1;
        Ok(())
    }

    /// Gives back the numbers no stored report holds, inside the transaction.
    pub async fn settle<C: ConnectionTrait>(&self, txn: &C) -> Result<(), ServiceError> {
        for r in self.0.iter().filter(|r| r.used < r.reserved) {
            case_counter::Entity::update_many()
                .col_expr(
                    case_counter::Column::Last,
                    Expr::value(r.first + r.used - 1),
                )
                .filter(case_counter::Column::Year.eq(r.year))
                .exec(txn)
                .await?;
        }
        Ok(())
    }
}

/// One report with every row it brings, built and sealed, nothing written yet.
pub(super) struct Prepared<'j> {
    report_id: Uuid,
    token: Option<used_form_token::ActiveModel>,
    report: report::ActiveModel,
    dek: Dek,
    files: &'j [Attachment],
    names: Vec<report_name::ActiveModel>,
    recusals: Vec<recusal_row::ActiveModel>,
    routes: Vec<case_route::ActiveModel>,
    mails: Vec<outbox::ActiveModel>,
    pub receipt: Receipt,
}

impl Intake<'_> {
    /// Builds a report's rows: its site and a tracking code are looked up (reads only), the
    /// rest is done in memory, recusal and routing included.
    pub(super) async fn prepare<'j, C: ConnectionTrait>(
        &self,
        db: &C,
        staff: &StaffNames,
        job: &'j Job,
        case_number: String,
    ) -> Result<Prepared<'j>, ServiceError> {
        let Job { draft, origin, now } = job;
        let (origin, now): (Origin, DateTime<Utc>) = (*origin, *now);
        let received_on = local_day(now);
        let site_id = match draft.site.as_deref() {
            Some(token) => sites::site_for_intake(db, token).await?,
            None => None,
        };
        let tracking_code = unused_tracking_code(db, self.keyring).await?;
        let (tracking_key_id, tracking_hash) = self.keyring.current_lookup_hash(&tracking_code);
        let token = origin.form_token.map(|token| used_form_token::ActiveModel {
            nonce: Set(token.nonce.to_vec()),
            // Its day only: the token's expiry is its issue time plus a fixed age.
            expires_at: Set(end_of_day(token.expires_at)),
        });

        let id = Uuid::new_v4();
        let (dek, wrapped) = new_row_key(self.keyring, id)?;
        let fields = report_fields(&dek, id);
        let reporter = draft.reporter.as_ref();
        let report = report::ActiveModel {
            id: Set(id),
            case_number: Set(case_number.clone()),
            channel: Set(origin.channel.code().to_string()),
            category: Set(draft.category.code().to_string()),
            village: Set(draft.village.clone()),
            subject_role: Set(draft.subject_role.map(|r| r.code().to_string())),
            anonymous: Set(draft.is_anonymous()),
            status: Set(Status::Received.code().to_string()),
            received_on: Set(received_on),
            status_changed_at: Set(None),
            dek_id: Set(wrapped.dek_id),
            dek_kek_id: Set(wrapped.kek_id),
            dek_wrapped: Set(wrapped.bytes),
            tracking_key_id: Set(tracking_key_id),
            tracking_hash: Set(tracking_hash),
            description: Set(fields.seal("description", &draft.description)?),
            subject: Set(fields.seal_opt("subject", draft.subject.as_deref())?),
            occurred: Set(fields.seal_opt("occurred", draft.occurred.as_deref())?),
            reporter_name: Set(fields.seal_opt("reporter_name", reporter.map(|r| r.name.as_str()))?),
            reporter_phone: Set(
                fields.seal_opt("reporter_phone", reporter.map(|r| r.phone.as_str()))?
            ),
            operator_id: Set(origin.operator),
            assignee_id: Set(None),
            merged_into: Set(None),
            outcome: Set(None),
            quarantined: Set(origin.quarantined),
            site_id: Set(site_id),
            purged_on: Set(None),
        };

        let at_intake = recusal::recuse_at_intake(self.keyring, staff, id, draft, now);
        let facts = CaseFacts {
            report_id: id,
            case_number: &case_number,
            category: draft.category,
            village: draft.village.as_deref(),
            channel: origin.channel,
            due: self.deadlines.accept_due(received_on),
        };
        let case = CaseMeta {
            facts,
            subject_role: draft.subject_role,
            anonymous: draft.is_anonymous(),
        };
        // A flood report is routed only once an inspector keeps it: the flood must not
        // reach the inspectors' mailboxes either.
        let (routes, mails) = if origin.quarantined {
            (Vec::new(), Vec::new())
        } else {
            let rows = self.routing.new_case_rows(&case, &at_intake.recused, now)?;
            (rows.routes, rows.mails)
        };
        let receipt = Receipt {
            tracking_code,
            received_on,
            anonymous: draft.is_anonymous(),
            files: draft
                .attachments
                .iter()
                .map(|a| StoredFile {
                    name: a.name.clone(),
                    kind: a.kind,
                    size: a.content.len(),
                    stripped: a.stripped,
                })
                .collect(),
            files_stripped: draft.attachments.iter().any(|a| a.stripped),
        };
        Ok(Prepared {
            report_id: id,
            token,
            report,
            dek,
            files: &draft.attachments,
            names: at_intake.names,
            recusals: at_intake.recusals,
            routes,
            mails,
            receipt,
        })
    }
}

impl Prepared<'_> {
    /// Writes this report alone: a spent form token fails it, a tracking code drawn twice
    /// is drawn again. Returns its receipt.
    pub async fn write<C: ConnectionTrait>(
        mut self,
        db: &C,
        keyring: &Keyring,
    ) -> Result<Receipt, ServiceError> {
        if let Some(token) = self.token.take() {
            let inserted = used_form_token::Entity::insert(token)
                .on_conflict_do_nothing_on([used_form_token::Column::Nonce])
                .exec_without_returning(db)
                .await?;
            if !matches!(inserted, TryInsertResult::Inserted(1)) {
                return Err(ServiceError::Invalid(TOKEN_USED));
            }
        }
        loop {
            let inserted = report::Entity::insert(self.report.clone())
                .on_conflict_do_nothing_on([report::Column::TrackingHash])
                .exec_without_returning(db)
                .await?;
            if matches!(inserted, TryInsertResult::Inserted(1)) {
                break;
            }
            // The unique index found the code taken under the active key.
            let code = unused_tracking_code(db, keyring).await?;
            let (key_id, hash) = keyring.current_lookup_hash(&code);
            self.report.tracking_key_id = Set(key_id);
            self.report.tracking_hash = Set(hash);
            self.receipt.tracking_code = code;
        }
        // The evidence files go in with the report they belong to, sealed with its DEK.
        attachments::store(db, &self.dek, self.report_id, self.files).await?;
        insert_all(db, self.names).await?;
        insert_all(db, self.recusals).await?;
        insert_all(db, self.routes).await?;
        insert_all(db, self.mails).await?;
        Ok(self.receipt)
    }
}

/// Writes reports together, each kind of row in as few statements as it takes. Any failure
/// (a spent token, a tracking code drawn twice) fails them all: the caller then writes them
/// one by one. Returns the receipts, in order.
pub(super) async fn write_together<C: ConnectionTrait>(
    db: &C,
    prepared: Vec<Prepared<'_>>,
) -> Result<Vec<Receipt>, ServiceError> {
    let mut tokens = Vec::new();
    let mut reports = Vec::with_capacity(prepared.len());
    let mut files = Vec::new();
    let (mut names, mut recusals, mut routes, mut mails) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut receipts = Vec::with_capacity(prepared.len());
    for p in prepared {
        tokens.extend(p.token);
        reports.push(p.report);
        if !p.files.is_empty() {
            files.push((p.report_id, p.dek, p.files));
        }
        names.extend(p.names);
        recusals.extend(p.recusals);
        routes.extend(p.routes);
        mails.extend(p.mails);
        receipts.push(p.receipt);
    }
    insert_all(db, tokens).await?;
    insert_all(db, reports).await?;
    for (report_id, dek, files) in files {
        attachments::store(db, &dek, report_id, files).await?;
    }
    insert_all(db, names).await?;
    insert_all(db, recusals).await?;
    insert_all(db, routes).await?;
    insert_all(db, mails).await?;
    Ok(receipts)
}

/// Bound parameters in one statement: under SQLite's limit (32,766) and PostgreSQL's (65,535).
const PARAMETERS_MAX: usize = 30_000;

/// Inserts rows in multi-row statements, as many rows in each as the parameters allow.
async fn insert_all<A, C>(db: &C, rows: Vec<A>) -> Result<(), ServiceError>
where
    A: ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    let columns = <<A::Entity as EntityTrait>::Column as Iterable>::iter().count();
    let per_statement = (PARAMETERS_MAX / columns.max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per_statement).collect();
        A::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Draws a tracking code no report holds: with 10^15 codes a repeat is all but impossible,
/// but a collision must never hand one reporter another's case. Under the active lookup key
/// the unique index on the hash decides when the report is inserted; codes issued under a
/// retired key (until a rotation has re-hashed them) are looked up here.
async fn unused_tracking_code<C: ConnectionTrait>(
    db: &C,
    keyring: &Keyring,
) -> Result<TrackingCode, ServiceError> {
    loop {
        let code = new_tracking_code();
        let (active, _) = keyring.current_lookup_hash(&code);
        let retired: Vec<Vec<u8>> = keyring
            .lookup_hashes(&code)
            .into_iter()
            .filter(|(key_id, _)| *key_id != active)
            .map(|(_, hash)| hash)
            .collect();
        if retired.is_empty() {
            return Ok(code);
        }
        let taken = report::Entity::find()
            .filter(report::Column::TrackingHash.is_in(retired))
            .one(db)
            .await?;
        if taken.is_none() {
            return Ok(code);
        }
    }
}
