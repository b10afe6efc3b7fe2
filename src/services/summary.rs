//! The campaign summary (总结, due to the district bureau on 20 October): the statistics for
//! the campaign, the substantiated cases with their rectification, and the sections
//! inspectors write — a draft until finalised, then audited and frozen.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use super::ServiceError;
use super::access::Caller;
use super::audit::AuditAction;
use super::cases::{CaseFilter, CaseRow, Rectified, all_cases, rectification_of};
use super::deadlines::Deadlines;
use super::statistics::{self, Span, Statistics};
use crate::domain::{Outcome, local_day};
use crate::entities::{summary, upsert};

/// Which summary: the one for the campaign.
const CAMPAIGN: &str = "campaign";

/// The longest section accepted, in characters.
pub const SECTION_MAX: usize = 20_000;

/// What inspectors write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sections {
    pub practices: String,
    pub problems: String,
    pub next_steps: String,
}

/// The summary as it stands.
pub struct Summary {
    pub span: Span,
    pub stats: Statistics,
    /// The substantiated and partly substantiated cases, with their rectification.
    pub substantiated: Vec<(CaseRow, Option<Rectified>)>,
    pub sections: Sections,
    /// When it was finalised, if it was.
    pub finalised_at: Option<DateTime<Utc>>,
}

/// The summary for the campaign's span, for an inspector.
pub async fn summary(
    caller: Caller<'_>,
    span: Span,
    deadlines: &Deadlines,
) -> Result<Summary, ServiceError> {
    let today = local_day(caller.now);
    let stats = statistics::statistics(caller.db, caller.viewer, span, deadlines, today).await?;
    let rows: Vec<CaseRow> = all_cases(
        caller.db,
        caller.viewer,
        &CaseFilter::default(),
        deadlines,
        today,
    )
    .await?
    .into_iter()
    .filter(|r| (span.from..=span.to).contains(&r.received_on))
    .filter(|r| {
        matches!(
            r.outcome,
            Some(Outcome::Substantiated | Outcome::PartlySubstantiated)
        )
    })
    .collect();
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
    let mut rectified = rectification_of(caller.db, &ids, today).await?;
    let mut substantiated: Vec<(CaseRow, Option<Rectified>)> = rows
        .into_iter()
        .map(|r| {
            let done = rectified.remove(&r.id);
            (r, done)
        })
        .collect();
    substantiated.sort_by(|a, b| a.0.case_number.cmp(&b.0.case_number));
    let stored = summary::Entity::find_by_id(CAMPAIGN).one(caller.db).await?;
    let (sections, finalised_at) = match stored {
        Some(s) => (
            Sections {
                practices: s.practices,
                problems: s.problems,
                next_steps: s.next_steps,
            },
            s.finalised_at,
        ),
        None => (Sections::default(), None),
    };
    Ok(Summary {
        span,
        stats,
        substantiated,
        sections,
        finalised_at,
    })
}

/// The summary for handing in as a file: as `summary`, its export audited first (nothing is
/// returned if the entry cannot be written).
pub async fn export(
    caller: Caller<'_>,
    span: Span,
    deadlines: &Deadlines,
) -> Result<Summary, ServiceError> {
    if !caller.viewer.is_inspector() {
        return Err(ServiceError::Forbidden);
    }
    caller
        .audit(AuditAction::Export, None, "campaign summary exported")
        .await?;
    summary(caller, span, deadlines).await
}

/// Whether the campaign summary has been finalised.
pub async fn is_finalised<C: ConnectionTrait>(db: &C) -> Result<bool, ServiceError> {
    Ok(summary::Entity::find_by_id(CAMPAIGN)
        .one(db)
        .await?
        .is_some_and(|s| s.finalised_at.is_some()))
}

/// Saves the sections as a draft, or (`finalise`) for good. Refused once finalised: the
/// summary handed in does not change afterwards.
pub async fn save(
    caller: Caller<'_>,
    sections: Sections,
    finalise: bool,
) -> Result<(), ServiceError> {
    if !caller.viewer.is_inspector() {
        return Err(ServiceError::Forbidden);
    }
    let trimmed = |s: &str| s.trim().to_string();
    let sections = Sections {
        practices: trimmed(&sections.practices),
        problems: trimmed(&sections.problems),
        next_steps: trimmed(&sections.next_steps),
    };
    let all = [
        &sections.practices,
        &sections.problems,
        &sections.next_steps,
    ];
    if all.iter().any(|s| s.chars().count() > SECTION_MAX) {
        return Err(ServiceError::Invalid("error.too_long"));
    }
    if finalise && all.iter().any(|s| s.is_empty()) {
        return Err(ServiceError::Invalid("summary.incomplete"));
    }
    let what = if finalise { "finalised" } else { "draft saved" };
    let detail = format!("campaign summary {what}");
    let txn = caller.begin(AuditAction::Summary, None, &detail).await?;
    if is_finalised(&txn).await? {
        return Err(ServiceError::Invalid("summary.frozen"));
    }
    upsert(
        &txn,
        summary::ActiveModel {
            id: Set(CAMPAIGN.to_string()),
            practices: Set(sections.practices),
            problems: Set(sections.problems),
            next_steps: Set(sections.next_steps),
            updated_by: Set(caller.viewer.user_id),
            updated_at: Set(caller.now),
            finalised_by: Set(finalise.then_some(caller.viewer.user_id)),
            finalised_at: Set(finalise.then_some(caller.now)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
