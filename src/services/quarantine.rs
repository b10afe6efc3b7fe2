//! The quarantine: public reports that arrived during a flood wait here until inspectors
//! keep them (they join the case list) or discard them (shredded), in bulk and audited.

use chrono::NaiveDate;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::ServiceError;
use super::access::{Caller, not_recused_condition, open_fields, report_dek};
use super::audit::AuditAction;
use super::deadlines::Deadlines;
use super::recusal;
use super::routing::{CaseMeta, Routing, route_report};
use crate::domain::{Category, Channel, SubjectRole};
use crate::entities::report;
use crate::mail::CaseFacts;

/// How many characters of a quarantined report's text the review list shows.
const EXCERPT_CHARS: usize = 120;
/// How many quarantined reports one page of the review shows.
pub const PER_PAGE: u64 = 100;

pub struct Quarantined {
    pub id: Uuid,
    pub case_number: String,
    pub category: Option<Category>,
    pub village: Option<String>,
    pub received_on: NaiveDate,
    pub excerpt: Zeroizing<String>,
}

/// One page of the quarantine review.
pub struct Review {
    pub rows: Vec<Quarantined>,
    /// How many reports wait in quarantine for this inspector, over all pages.
    pub total: u64,
    /// Pages count from 1.
    pub page: u64,
}

impl Review {
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(PER_PAGE).max(1)
    }
}

/// One page of the quarantined reports an inspector may review (recused ones stay hidden),
/// oldest first, each with the start of its text. Reading a page is one audit entry naming
/// the case numbers shown.
pub async fn review_list(caller: Caller<'_>, page: u64) -> Result<Review, ServiceError> {
    let page = page.max(1);
    if !caller.viewer.is_inspector() {
        return Ok(Review {
            rows: Vec::new(),
            total: 0,
            page,
        });
    }
    let held = || {
        report::Entity::find()
            .filter(report::Column::Quarantined.eq(true))
            .filter(not_recused_condition(caller.viewer.user_id))
    };
    let total = held().count(caller.db).await?;
    let rows = held()
        .order_by_asc(report::Column::CaseNumber)
        .offset((page - 1).saturating_mul(PER_PAGE))
        .limit(PER_PAGE)
        .all(caller.db)
        .await?;
    if rows.is_empty() {
        return Ok(Review {
            rows: Vec::new(),
            total,
            page,
        });
    }
    let detail = format!(
        "reviewed quarantined reports: {}",
        case_numbers(rows.iter().map(|r| r.case_number.as_str()))
    );
    caller.audit(AuditAction::OpenCase, None, &detail).await?;
    let mut list = Vec::with_capacity(rows.len());
    for row in rows {
        let dek = report_dek(caller.keyring, &row)?;
        let opened = open_fields(&dek, &row)?;
        let excerpt: String = opened.description.chars().take(EXCERPT_CHARS).collect();
        list.push(Quarantined {
            id: row.id,
            case_number: row.case_number,
            category: Category::parse(&row.category),
            village: row.village,
            received_on: row.received_on,
            excerpt: Zeroizing::new(excerpt),
        });
    }
    Ok(Review {
        rows: list,
        total,
        page,
    })
}

fn case_numbers<'a>(numbers: impl Iterator<Item = &'a str>) -> String {
    let listed: Vec<&str> = numbers.collect();
    if listed.is_empty() {
        "none".to_string()
    } else {
        listed.join(", ")
    }
}

/// Keeps (releases to the case list) or discards (deletes, shredding the report with its
/// key) the given quarantined reports. Reports not in quarantine, or that the inspector is
/// recused from, are left alone. Returns how many were handled.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    caller: Caller<'_>,
    routing: &Routing,
    deadlines: &Deadlines,
    keep: &[Uuid],
    discard: &[Uuid],
) -> Result<u64, ServiceError> {
    if !caller.viewer.is_inspector() || (keep.is_empty() && discard.is_empty()) {
        return Ok(0);
    }
    let txn = caller.db.begin().await?;
    let mine = || {
        sea_orm::Condition::all()
            .add(report::Column::Quarantined.eq(true))
            .add(not_recused_condition(caller.viewer.user_id))
    };
    // Kept reports are routed caller.now, as they would have been at intake.
    let released = report::Entity::find()
        .filter(mine())
        .filter(report::Column::Id.is_in(keep.iter().copied()))
        .all(&txn)
        .await?;
    for row in &released {
        let (Some(category), Some(channel)) =
            (Category::parse(&row.category), Channel::parse(&row.channel))
        else {
            continue;
        };
        let facts = CaseFacts {
            report_id: row.id,
            case_number: &row.case_number,
            category,
            village: row.village.as_deref(),
            channel,
            // Still to be accepted: the deadline counts from the day it arrived.
            due: deadlines.accept_due(row.received_on),
        };
        let case = CaseMeta {
            facts,
            subject_role: row.subject_role.as_deref().and_then(SubjectRole::parse),
            anonymous: row.anonymous,
        };
        let recused = recusal::recused_users(&txn, row.id).await?;
        route_report(&txn, routing, &case, &recused, caller.now).await?;
    }
    let shredded: Vec<String> = report::Entity::find()
        .select_only()
        .column(report::Column::CaseNumber)
        .filter(mine())
        .filter(report::Column::Id.is_in(discard.iter().copied()))
        .order_by_asc(report::Column::CaseNumber)
        .into_tuple()
        .all(&txn)
        .await?;
    // The record names every report kept and every report shredded, so that a discard can be
    // answered for case by case.
    let detail = format!(
        "quarantine: kept {}; discarded {}",
        case_numbers(released.iter().map(|r| r.case_number.as_str())),
        case_numbers(shredded.iter().map(String::as_str)),
    );
    caller
        .append_audit(&txn, AuditAction::CaseEvent, None, &detail)
        .await?;
    let kept = report::Entity::update_many()
        .set(report::ActiveModel {
            quarantined: Set(false),
            ..Default::default()
        })
        .filter(mine())
        .filter(report::Column::Id.is_in(keep.iter().copied()))
        .exec(&txn)
        .await?
        .rows_affected;
    let discarded = report::Entity::delete_many()
        .filter(mine())
        .filter(report::Column::Id.is_in(discard.iter().copied()))
        .exec(&txn)
        .await?
        .rows_affected;
    txn.commit().await?;
    Ok(kept + discarded)
}
