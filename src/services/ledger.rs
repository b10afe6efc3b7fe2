//! The problem ledger (问题台账): every case under the list's filters with what the bureau's
//! ledger asks for — who is reported, a one-line summary, the finding, the days it was
//! transferred, reported to the bureau and closed. In full (inspectors: sealed fields opened,
//! audited with the case numbers it held) or without content (clear metadata only, for wider
//! circulation; audited too).

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::ServiceError;
use super::access::{Caller, open_fields, report_dek};
use super::audit::AuditAction;
use super::cases::{CaseFilter, CaseRow, Rectified, all_cases, rectification_of};
use super::deadlines::Deadlines;
use crate::crypto::Keyring;
use crate::domain::{CaseEvent, Status, local_day};
use crate::entities::{report, report_event};

/// How long the one-line summary of a report is, in characters.
pub const SUMMARY_CHARS: usize = 60;

/// Which ledger: with the sealed content opened, or metadata only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Full,
    WithoutContent,
}

/// One line of the ledger.
pub struct LedgerRow {
    pub case: CaseRow,
    /// Who is reported and the summary: `None` without content, or once purged.
    pub content: Option<Content>,
    pub transferred_on: Option<NaiveDate>,
    pub reported_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    /// Where its rectification stands; `None` without a measure.
    pub rectification: Option<Rectified>,
}

impl LedgerRow {
    /// A list line with none of the ledger's columns.
    fn bare(case: CaseRow) -> Self {
        LedgerRow {
            case,
            content: None,
            transferred_on: None,
            reported_on: None,
            closed_on: None,
            rectification: None,
        }
    }
}

/// The sealed part of a ledger line, opened.
pub struct Content {
    pub subject: Option<Zeroizing<String>>,
    pub summary: Zeroizing<String>,
}

/// The ledger for the viewer under the list's filter: only inspectors, and never a case the
/// viewer is recused from (visibility is the list's). The export is audited first, naming
/// the cases it holds; nothing is returned if the audit entry cannot be written.
pub async fn ledger(
    caller: Caller<'_>,
    filter: &CaseFilter,
    variant: Variant,
    deadlines: &Deadlines,
) -> Result<Vec<LedgerRow>, ServiceError> {
    if !caller.viewer.is_inspector() {
        return Err(ServiceError::Forbidden);
    }
    let rows = all_cases(
        caller.db,
        caller.viewer,
        filter,
        deadlines,
        local_day(caller.now),
    )
    .await?;
    let numbers: Vec<&str> = rows.iter().map(|r| r.case_number.as_str()).collect();
    let kind = match variant {
        Variant::Full => "full",
        Variant::WithoutContent => "without content",
    };
    let detail = format!(
        "ledger exported ({kind}), {} case(s): {}",
        rows.len(),
        numbers.join(", ")
    );
    caller.audit(AuditAction::Export, None, &detail).await?;

    let with_content = variant == Variant::Full;
    lines(
        caller.db,
        caller.keyring,
        rows,
        with_content,
        local_day(caller.now),
    )
    .await
}

/// The ledger's lines for the cases one list page shows. An inspector gets the ledger's
/// columns, the sealed ones opened and audited with one entry naming the cases shown (nothing
/// is opened if the entry cannot be written); anyone else gets the rows as they are.
pub async fn list_page(
    caller: Caller<'_>,
    rows: Vec<CaseRow>,
) -> Result<Vec<LedgerRow>, ServiceError> {
    if !caller.viewer.is_inspector() {
        return Ok(rows.into_iter().map(LedgerRow::bare).collect());
    }
    let shown: Vec<&str> = rows
        .iter()
        .filter(|r| !r.purged)
        .map(|r| r.case_number.as_str())
        .collect();
    if !shown.is_empty() {
        let detail = format!(
            "case list shown with summaries, {} case(s): {}",
            shown.len(),
            shown.join(", ")
        );
        caller
            .audit(AuditAction::ListSummaries, None, &detail)
            .await?;
    }
    lines(caller.db, caller.keyring, rows, true, local_day(caller.now)).await
}

/// The ledger's lines for `rows`: the days each case was transferred, reported and closed,
/// where its rectification stands as of `today`, and, `with_content`, its sealed columns
/// opened.
async fn lines(
    db: &DatabaseConnection,
    keyring: &Keyring,
    rows: Vec<CaseRow>,
    with_content: bool,
    today: NaiveDate,
) -> Result<Vec<LedgerRow>, ServiceError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let dates = days_of(db, &ids).await?;
    let mut rectified = rectification_of(db, &ids, today).await?;
    let mut opened = if with_content {
        contents(db, keyring, &ids).await?
    } else {
        HashMap::new()
    };
    Ok(rows
        .into_iter()
        .map(|case| {
            let days = dates.get(&case.id);
            LedgerRow {
                content: opened.remove(&case.id),
                transferred_on: days.and_then(|d| d.transferred),
                reported_on: days.and_then(|d| d.reported),
                closed_on: days.and_then(|d| d.closed),
                rectification: rectified.remove(&case.id),
                case,
            }
        })
        .collect())
}

#[derive(Default)]
struct Days {
    transferred: Option<NaiveDate>,
    reported: Option<NaiveDate>,
    closed: Option<NaiveDate>,
}

/// The first transfer, first report to the bureau and the closing of each case, from its
/// history (a recorded event's own day, else the day it was recorded).
async fn days_of(
    db: &DatabaseConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Days>, ServiceError> {
    let mut days: HashMap<Uuid, Days> = HashMap::new();
    if ids.is_empty() {
        return Ok(days);
    }
    let events = report_event::Entity::find()
        .filter(report_event::Column::ReportId.is_in(ids.to_vec()))
        .order_by_asc(report_event::Column::At)
        .all(db)
        .await?;
    let transferred = CaseEvent::TransferredToDisciplinePost.code();
    let reported = CaseEvent::ReportedToDistrictBureau.code();
    for e in events {
        let on = e.happened_on.unwrap_or_else(|| local_day(e.at));
        let entry = days.entry(e.report_id).or_default();
        if e.kind == transferred {
            entry.transferred.get_or_insert(on);
        } else if e.kind == reported {
            entry.reported.get_or_insert(on);
        } else if e.to_status.as_deref() == Some(Status::Closed.code()) {
            entry.closed = Some(on);
        }
    }
    Ok(days)
}

/// Who is reported and the summary of each case still holding its content.
async fn contents(
    db: &DatabaseConnection,
    keyring: &Keyring,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Content>, ServiceError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = report::Entity::find()
        .filter(report::Column::Id.is_in(ids.to_vec()))
        .filter(report::Column::PurgedOn.is_null())
        .all(db)
        .await?;
    let mut opened = HashMap::new();
    for report in found {
        let dek = report_dek(keyring, &report)?;
        let fields = open_fields(&dek, &report)?;
        let summary = summary_of(&fields.description);
        let content = Content {
            subject: fields.subject,
            summary,
        };
        opened.insert(report.id, content);
    }
    Ok(opened)
}

/// The report's first line, cut to `SUMMARY_CHARS` characters with an ellipsis.
fn summary_of(description: &str) -> Zeroizing<String> {
    let line = description
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let line = line.trim();
    let mut summary: String = line.chars().take(SUMMARY_CHARS).collect();
    if line.chars().count() > SUMMARY_CHARS || description.trim() != line {
        summary.push('…');
    }
    Zeroizing::new(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_the_first_line_cut_short() {
        assert_eq!(summary_of("  低保有问题  ").as_str(), "低保有问题");
        assert_eq!(summary_of("\n第一行\n第二行").as_str(), "第一行…");
        let long = "很".repeat(SUMMARY_CHARS + 5);
        let cut = summary_of(&long);
        assert_eq!(cut.chars().count(), SUMMARY_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
