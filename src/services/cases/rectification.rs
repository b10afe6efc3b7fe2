//! Rectification (整改) of a case found substantiated: its measures, each with who is
//! responsible and by when, and what each came to — support stopped or granted, an amount
//! corrected, money recovered, people dealt with — on the day it happened. Texts are sealed
//! with the report's key; counts, amounts and days stay in clear for the statistics.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::workflow::{CaseCommand, Workable};
use crate::crypto::Dek;
use crate::domain::{
    Outcome, RESULT_COUNT_MAX, ResultKind, Status, Yuan, local_day, optional_text, required_text,
};
use crate::entities::{rectification_measure as measure, rectification_result, report};
use crate::services::ServiceError;
use crate::services::access::{Sealer, status_of};
use crate::services::audit::AuditAction;

const MEASURES: &str = "rectification_measures";
const RESULTS: &str = "rectification_results";

/// The longest name of a responsible unit or person, in characters.
pub const RESPONSIBLE_MAX: usize = 100;

/// A measure as an inspector writes it.
#[derive(Debug, Clone)]
pub struct NewMeasure {
    pub measure: String,
    pub responsible: String,
    pub due_on: NaiveDate,
}

/// A result of a measure as an inspector records it.
#[derive(Debug, Clone)]
pub struct NewResult {
    /// The measure's number within the case.
    pub seq: i32,
    pub kind: ResultKind,
    /// The day it happened.
    pub on: NaiveDate,
    /// Households or people.
    pub count: u32,
    /// Required for an amount corrected or recovered; ignored otherwise.
    pub amount: Option<Yuan>,
    pub detail: Option<String>,
}

/// A measure on the case page.
pub struct MeasureView {
    pub seq: i32,
    /// `None` once the case is purged.
    pub measure: Option<Zeroizing<String>>,
    pub responsible: Option<Zeroizing<String>>,
    pub due_on: NaiveDate,
    pub done_on: Option<NaiveDate>,
    /// Not done and past its due day.
    pub overdue: bool,
    pub results: Vec<ResultView>,
}

pub struct ResultView {
    pub kind: ResultKind,
    pub on: NaiveDate,
    pub count: u32,
    pub amount: Option<Yuan>,
    pub detail: Option<Zeroizing<String>>,
}

/// Where a case's rectification stands, for the ledger and the statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rectified {
    pub measures: usize,
    pub done: usize,
    /// Not done and past their due day.
    pub overdue: usize,
    /// Results added up by kind: (households or people, amount).
    pub totals: HashMap<ResultKind, (u64, Yuan)>,
}

impl Rectified {
    /// Every measure done.
    pub fn is_done(&self) -> bool {
        self.measures > 0 && self.done == self.measures
    }

    pub fn total(&self, kind: ResultKind) -> (u64, Yuan) {
        self.totals.get(&kind).copied().unwrap_or_default()
    }
}

/// A measure past its due day and not done, for the daily digest.
#[derive(Debug, Clone)]
pub struct OverdueMeasure {
    pub report_id: Uuid,
    pub case_number: String,
    /// Who the case is assigned to: their own digest names it too.
    pub assignee_id: Option<Uuid>,
    pub seq: i32,
    pub due_on: NaiveDate,
}

fn measure_fields(dek: &Dek, id: Uuid) -> Sealer<'_> {
    Sealer::new(dek, MEASURES, id)
}

fn result_fields(dek: &Dek, id: Uuid) -> Sealer<'_> {
    Sealer::new(dek, RESULTS, id)
}

/// A day an inspector gives for something that happened: not in the future, not before the
/// report arrived.
fn happened_day(
    on: NaiveDate,
    case: &report::Model,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if on > local_day(now) {
        return Err(ServiceError::Invalid("error.date_future"));
    }
    if on < case.received_on {
        return Err(ServiceError::Invalid("error.date_before_report"));
    }
    Ok(())
}

/// Only a case found (partly) substantiated is rectified.
fn rectifiable(case: &report::Model) -> Result<(), ServiceError> {
    let found = case.outcome.as_deref().and_then(Outcome::parse);
    let substantiated = matches!(
        found,
        Some(Outcome::Substantiated | Outcome::PartlySubstantiated)
    );
    if !substantiated || status_of(&case.status) == Status::Merged {
        return Err(ServiceError::Invalid("error.rectification_no_finding"));
    }
    Ok(())
}

/// Adds a measure to a substantiated case. Returns its number within the case.
pub async fn add_measure(cmd: CaseCommand<'_>, new: NewMeasure) -> Result<i32, ServiceError> {
    let workable = Workable::find(cmd).await?;
    rectifiable(&workable.before)?;
    let text = required_text(&new.measure).map_err(ServiceError::Invalid)?;
    let responsible = required_text(&new.responsible).map_err(ServiceError::Invalid)?;
    if responsible.chars().count() > RESPONSIBLE_MAX {
        return Err(ServiceError::Invalid("error.too_long"));
    }
    if new.due_on < workable.before.received_on {
        return Err(ServiceError::Invalid("error.date_before_report"));
    }
    let case_number = &workable.before.case_number;
    let work = workable
        .begin(
            AuditAction::Rectification,
            &format!("case {case_number}: rectification measure added"),
        )
        .await?;
    rectifiable(&work.case)?;
    let seq = measure::Entity::find()
        .filter(measure::Column::ReportId.eq(cmd.id))
        .all(&work.txn)
        .await?
        .iter()
        .map(|m| m.seq)
        .max()
        .unwrap_or(0)
        + 1;
    let measure_id = Uuid::new_v4();
    let sealer = measure_fields(&work.dek, measure_id);
    measure::ActiveModel {
        id: Set(measure_id),
        report_id: Set(cmd.id),
        seq: Set(seq),
        created_by: Set(cmd.caller.viewer.user_id),
        created_at: Set(cmd.caller.now),
        measure: Set(Some(sealer.seal("measure", text)?)),
        responsible: Set(Some(sealer.seal("responsible", responsible)?)),
        due_on: Set(new.due_on),
        done_on: Set(None),
    }
    .insert(&work.txn)
    .await?;
    work.record("rectification_measure", None, Some(text))
        .await?;
    work.commit().await?;
    Ok(seq)
}

/// The measure numbered `seq` on the case, read inside the write.
async fn measure_of<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    seq: i32,
) -> Result<measure::Model, ServiceError> {
    measure::Entity::find()
        .filter(measure::Column::ReportId.eq(id))
        .filter(measure::Column::Seq.eq(seq))
        .one(db)
        .await?
        .ok_or(ServiceError::Invalid("staff.rectify.choose_measure"))
}

/// Records what a measure came to, on the day it happened.
pub async fn record_result(cmd: CaseCommand<'_>, new: NewResult) -> Result<(), ServiceError> {
    let workable = Workable::find(cmd).await?;
    rectifiable(&workable.before)?;
    happened_day(new.on, &workable.before, cmd.caller.now)?;
    if !(1..=RESULT_COUNT_MAX).contains(&new.count) {
        return Err(ServiceError::Invalid("error.count"));
    }
    let amount = match (new.kind.is_money(), new.amount) {
        (true, None) => return Err(ServiceError::Invalid("error.required")),
        (true, amount) => amount,
        (false, _) => None,
    };
    let detail = optional_text(new.detail.as_deref()).map_err(ServiceError::Invalid)?;
    let case_number = &workable.before.case_number;
    let audit = format!(
        "case {case_number}: rectification measure {} result recorded ({})",
        new.seq,
        new.kind.code()
    );
    let work = workable.begin(AuditAction::Rectification, &audit).await?;
    let measure = measure_of(&work.txn, cmd.id, new.seq).await?;
    let result_id = Uuid::new_v4();
    rectification_result::ActiveModel {
        id: Set(result_id),
        measure_id: Set(measure.id),
        report_id: Set(cmd.id),
        kind: Set(new.kind.code().to_string()),
        happened_on: Set(new.on),
        count: Set(i32::try_from(new.count).unwrap_or(i32::MAX)),
        amount_fen: Set(amount.map(Yuan::fen)),
        detail: Set(result_fields(&work.dek, result_id).seal_opt("detail", detail)?),
        recorded_by: Set(cmd.caller.viewer.user_id),
        recorded_at: Set(cmd.caller.now),
    }
    .insert(&work.txn)
    .await?;
    work.record_dated("rectification_result", None, None, Some(new.on))
        .await?;
    work.commit().await
}

/// Marks a measure done on the day it was.
pub async fn complete_measure(
    cmd: CaseCommand<'_>,
    seq: i32,
    done_on: NaiveDate,
) -> Result<(), ServiceError> {
    let workable = Workable::find(cmd).await?;
    rectifiable(&workable.before)?;
    happened_day(done_on, &workable.before, cmd.caller.now)?;
    let case_number = &workable.before.case_number;
    let audit = format!("case {case_number}: rectification measure {seq} done on {done_on}");
    let work = workable.begin(AuditAction::Rectification, &audit).await?;
    let found = measure_of(&work.txn, cmd.id, seq).await?;
    if found.done_on.is_some() {
        return Err(ServiceError::Invalid("error.measure_done"));
    }
    measure::ActiveModel {
        id: Set(found.id),
        done_on: Set(Some(done_on)),
        ..Default::default()
    }
    .update(&work.txn)
    .await?;
    work.record_dated("rectification_done", None, None, Some(done_on))
        .await?;
    work.commit().await
}

/// The case's measures with their results, opened, in their order.
pub(crate) async fn measures_of<C: ConnectionTrait>(
    db: &C,
    dek: &Dek,
    id: Uuid,
    today: NaiveDate,
) -> Result<Vec<MeasureView>, ServiceError> {
    let measures = measure::Entity::find()
        .filter(measure::Column::ReportId.eq(id))
        .order_by_asc(measure::Column::Seq)
        .all(db)
        .await?;
    let mut results: HashMap<Uuid, Vec<ResultView>> = HashMap::new();
    for r in rectification_result::Entity::find()
        .filter(rectification_result::Column::ReportId.eq(id))
        .order_by_asc(rectification_result::Column::HappenedOn)
        .order_by_asc(rectification_result::Column::RecordedAt)
        .all(db)
        .await?
    {
        let Some(kind) = ResultKind::parse(&r.kind) else {
            continue;
        };
        results.entry(r.measure_id).or_default().push(ResultView {
            kind,
            on: r.happened_on,
            count: u32::try_from(r.count).unwrap_or(0),
            amount: r.amount_fen.map(Yuan::from_fen),
            detail: result_fields(dek, r.id).open_opt("detail", r.detail.as_deref())?,
        });
    }
    measures
        .into_iter()
        .map(|m| {
            let sealer = measure_fields(dek, m.id);
            Ok(MeasureView {
                seq: m.seq,
                measure: sealer.open_opt("measure", m.measure.as_deref())?,
                responsible: sealer.open_opt("responsible", m.responsible.as_deref())?,
                due_on: m.due_on,
                done_on: m.done_on,
                overdue: m.done_on.is_none() && m.due_on < today,
                results: results.remove(&m.id).unwrap_or_default(),
            })
        })
        .collect()
}

/// Where each of these cases' rectification stands on `today` (cases without measures are
/// left out). Reads clear columns only.
pub async fn rectification_of<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
    today: NaiveDate,
) -> Result<HashMap<Uuid, Rectified>, ServiceError> {
    let mut by_case: HashMap<Uuid, Rectified> = HashMap::new();
    if ids.is_empty() {
        return Ok(by_case);
    }
    for chunk in ids.chunks(500) {
        for m in measure::Entity::find()
            .filter(measure::Column::ReportId.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            let entry = by_case.entry(m.report_id).or_default();
            entry.measures += 1;
            match m.done_on {
                Some(_) => entry.done += 1,
                None if m.due_on < today => entry.overdue += 1,
                None => {}
            }
        }
        for r in rectification_result::Entity::find()
            .filter(rectification_result::Column::ReportId.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            let Some(kind) = ResultKind::parse(&r.kind) else {
                continue;
            };
            let total = by_case
                .entry(r.report_id)
                .or_default()
                .totals
                .entry(kind)
                .or_default();
            total.0 += u64::try_from(r.count).unwrap_or(0);
            total.1 = total.1 + Yuan::from_fen(r.amount_fen.unwrap_or(0));
        }
    }
    Ok(by_case)
}

/// Every measure not done and past its due day on `today`, by case number.
pub async fn overdue_measures<C: ConnectionTrait>(
    db: &C,
    today: NaiveDate,
) -> Result<Vec<OverdueMeasure>, ServiceError> {
    let late = measure::Entity::find()
        .filter(measure::Column::DoneOn.is_null())
        .filter(measure::Column::DueOn.lt(today))
        .all(db)
        .await?;
    if late.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = late.iter().map(|m| m.report_id).collect();
    let cases: HashMap<Uuid, (String, Option<Uuid>)> = report::Entity::find()
        .filter(report::Column::Id.is_in(ids))
        .select_only()
        .columns([
            report::Column::Id,
            report::Column::CaseNumber,
            report::Column::AssigneeId,
        ])
        .into_tuple::<(Uuid, String, Option<Uuid>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, number, assignee)| (id, (number, assignee)))
        .collect();
    let mut overdue: Vec<OverdueMeasure> = late
        .into_iter()
        .filter_map(|m| {
            let (case_number, assignee_id) = cases.get(&m.report_id)?.clone();
            Some(OverdueMeasure {
                case_number,
                assignee_id,
                report_id: m.report_id,
                seq: m.seq,
                due_on: m.due_on,
            })
        })
        .collect();
    overdue.sort_by(|a, b| (&a.case_number, a.seq).cmp(&(&b.case_number, b.seq)));
    Ok(overdue)
}
