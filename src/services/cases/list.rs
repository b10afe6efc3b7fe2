//! The triage list: metadata only, nothing decrypted.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DerivePartialModel, EntityTrait,
    Order as SqlOrder, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::domain::{Category, Outcome, Status, SubjectRole};
use crate::entities::{message, report};
use crate::services::ServiceError;
use crate::services::access::{Viewer, status_of};
use crate::services::deadlines::{self, CaseDates, Deadlines, Stage};
use crate::services::staff;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    NewestFirst,
    OldestFirst,
}

/// What the triage list is narrowed to. The default is every visible case, newest first.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<Status>,
    pub category: Option<Category>,
    pub village: Option<String>,
    pub channel: Option<String>,
    /// The posting site whose QR code the report came through.
    pub site: Option<Uuid>,
    pub assigned_to_me: bool,
    /// Only cases whose current stage is past its due date.
    pub overdue: bool,
    pub order: Order,
}

/// One line of the triage list: metadata only, nothing decrypted.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub id: Uuid,
    pub case_number: String,
    pub category: Category,
    pub village: Option<String>,
    pub channel: String,
    pub status: Status,
    pub received_on: NaiveDate,
    pub anonymous: bool,
    /// The reported person's position (metadata; their name is sealed and not listed).
    pub subject_role: Option<SubjectRole>,
    /// The finding, once concluded.
    pub outcome: Option<Outcome>,
    /// The assignee's display name.
    pub assignee: Option<String>,
    /// Reporter answers no inspector has opened the case to read yet.
    pub unread_replies: u64,
    /// The current stage and its last day, while anything is due.
    pub due: Option<(Stage, NaiveDate)>,
    /// Past the due date on the day the list was asked for.
    pub overdue: bool,
    /// Its content was destroyed under the retention rule: metadata is all there is.
    pub purged: bool,
}

#[derive(Debug, Clone)]
pub struct CaseList {
    pub rows: Vec<CaseRow>,
    /// Cases per status (every status, in workflow order) under the same visibility and
    /// filters as the list, except the status filter: what the status tabs show.
    pub counts: Vec<(Status, u64)>,
    /// How many cases match the filter, over all pages.
    pub total: u64,
    /// Pages count from 1.
    pub page: u64,
    pub per_page: u64,
}

/// What the list reads of a report: metadata only, nothing sealed.
#[derive(Debug, DerivePartialModel)]
#[sea_orm(entity = "report::Entity")]
struct Metadata {
    id: Uuid,
    case_number: String,
    category: String,
    village: Option<String>,
    channel: String,
    status: String,
    received_on: NaiveDate,
    anonymous: bool,
    assignee_id: Option<Uuid>,
    purged_on: Option<NaiveDate>,
    subject_role: Option<String>,
    outcome: Option<String>,
}

/// The triage list: one page of the cases the viewer may see, with counts per status and each
/// case's due date as of `today` (in Asia/Shanghai). Reads metadata only and decrypts nothing;
/// names, unread counts and acceptance dates come in one query each.
pub async fn list_cases(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: &CaseFilter,
    page: u64,
    per_page: u64,
    deadlines: &Deadlines,
    today: NaiveDate,
) -> Result<CaseList, ServiceError> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 500);
    let Some(visible) = viewer.visible() else {
        return Ok(CaseList {
            rows: Vec::new(),
            counts: Status::ALL.into_iter().map(|s| (s, 0)).collect(),
            total: 0,
            page,
            per_page,
        });
    };
    let mut narrowed = narrowed(visible, viewer, filter, deadlines, today);

    let per_status: HashMap<String, i64> = report::Entity::find()
        .select_only()
        .column(report::Column::Status)
        .column_as(Expr::expr(Func::count(Expr::col(report::Column::Id))), "n")
        .filter(narrowed.clone())
        .group_by(report::Column::Status)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let counts: Vec<(Status, u64)> = Status::ALL
        .into_iter()
        .map(|s| {
            let n = per_status.get(s.code()).copied().unwrap_or(0);
            (s, u64::try_from(n).unwrap_or(0))
        })
        .collect();
    let total = match filter.status {
        Some(status) => counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n),
        None => counts.iter().map(|(_, n)| n).sum(),
    };

    if let Some(status) = filter.status {
        narrowed = narrowed.add(report::Column::Status.eq(status.code()));
    }
    let window = Some(((page - 1).saturating_mul(per_page), per_page));
    let rows = rows_of(db, narrowed, filter.order, window, deadlines, today).await?;
    Ok(CaseList {
        rows,
        counts,
        total,
        page,
        per_page,
    })
}

/// Every case the viewer may see under the filter (status included), in the list's order:
/// what the ledger holds. Metadata only, as the list.
pub async fn all_cases(
    db: &DatabaseConnection,
    viewer: &Viewer,
    filter: &CaseFilter,
    deadlines: &Deadlines,
    today: NaiveDate,
) -> Result<Vec<CaseRow>, ServiceError> {
    let Some(visible) = viewer.visible() else {
        return Ok(Vec::new());
    };
    let mut narrowed = narrowed(visible, viewer, filter, deadlines, today);
    if let Some(status) = filter.status {
        narrowed = narrowed.add(report::Column::Status.eq(status.code()));
    }
    rows_of(db, narrowed, filter.order, None, deadlines, today).await
}

/// The filter's conditions but the status (which the counts per status leave out).
fn narrowed(
    visible: Condition,
    viewer: &Viewer,
    filter: &CaseFilter,
    deadlines: &Deadlines,
    today: NaiveDate,
) -> Condition {
    // Flood reports wait in quarantine until an inspector keeps them.
    let mut narrowed = Condition::all()
        .add(visible)
        .add(report::Column::Quarantined.eq(false));
    if let Some(category) = filter.category {
        narrowed = narrowed.add(report::Column::Category.eq(category.code()));
    }
    if let Some(village) = &filter.village {
        narrowed = narrowed.add(report::Column::Village.eq(village.as_str()));
    }
    if let Some(channel) = &filter.channel {
        narrowed = narrowed.add(report::Column::Channel.eq(channel.as_str()));
    }
    if let Some(site) = filter.site {
        narrowed = narrowed.add(report::Column::SiteId.eq(site));
    }
    if filter.assigned_to_me {
        narrowed = narrowed.add(report::Column::AssigneeId.eq(viewer.user_id));
    }
    if filter.overdue {
        narrowed = narrowed.add(deadlines.due_before(today));
    }
    narrowed
}

/// The rows matching `narrowed` in `order`, within `window` (offset, limit) when given, with
/// assignees' names, unread answers and due dates.
async fn rows_of(
    db: &DatabaseConnection,
    narrowed: Condition,
    order: Order,
    window: Option<(u64, u64)>,
    deadlines: &Deadlines,
    today: NaiveDate,
) -> Result<Vec<CaseRow>, ServiceError> {
    let direction = match order {
        Order::NewestFirst => SqlOrder::Desc,
        Order::OldestFirst => SqlOrder::Asc,
    };
    let mut query = report::Entity::find()
        .filter(narrowed)
        .order_by(report::Column::ReceivedOn, direction.clone())
        .order_by(report::Column::CaseNumber, direction);
    if let Some((offset, limit)) = window {
        query = query.offset(offset).limit(limit);
    }
    let found: Vec<Metadata> = query.into_partial_model::<Metadata>().all(db).await?;

    let names = staff::display_names(db, found.iter().filter_map(|r| r.assignee_id)).await?;
    let unread = unread_replies(db, found.iter().map(|r| r.id).collect()).await?;
    let accepted = deadlines::acceptance_days(db, found.iter().map(|r| r.id).collect()).await?;
    Ok(found
        .into_iter()
        .map(|r| {
            let dates = CaseDates {
                status: status_of(&r.status),
                received_on: r.received_on,
                accepted_on: accepted.get(&r.id).copied(),
            };
            let due = deadlines.due(&dates);
            CaseRow {
                assignee: r.assignee_id.and_then(|a| names.get(&a).cloned()),
                unread_replies: unread.get(&r.id).copied().unwrap_or(0),
                id: r.id,
                case_number: r.case_number,
                category: Category::parse(&r.category).unwrap_or(Category::Other),
                village: r.village,
                channel: r.channel,
                status: dates.status,
                received_on: r.received_on,
                anonymous: r.anonymous,
                subject_role: r.subject_role.as_deref().and_then(SubjectRole::parse),
                outcome: r.outcome.as_deref().and_then(Outcome::parse),
                overdue: due.is_some_and(|(_, day)| day < today),
                due,
                purged: r.purged_on.is_some(),
            }
        })
        .collect())
}

/// Unread reporter answers per report, for the given reports only.
async fn unread_replies<C: ConnectionTrait>(
    db: &C,
    reports: Vec<Uuid>,
) -> Result<HashMap<Uuid, u64>, ServiceError> {
    if reports.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(message::Entity::find()
        .select_only()
        .column(message::Column::ReportId)
        .column_as(Expr::expr(Func::count(Expr::col(message::Column::Id))), "n")
        .filter(message::Column::ReportId.is_in(reports))
        .filter(message::Column::FromInspector.eq(false))
        .filter(message::Column::ReadAt.is_null())
        .group_by(message::Column::ReportId)
        .into_tuple::<(Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, n)| (id, u64::try_from(n).unwrap_or(0)))
        .collect())
}
