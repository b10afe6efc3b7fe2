//! The case list: filters, counts by status, and one row per visible case.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{due_text, village_name};
use crate::domain::{Category, Channel, SiteKind, Status};
use crate::error::AppError;
use crate::i18n::{Catalog, Lang};
use crate::services::cases::{self, CaseFilter, CaseList, Order};
use crate::services::ledger::{self, LedgerRow};
use crate::services::sites::{self, Site};
use crate::web::AppState;
use crate::web::pages::{Choice, village_choices};
use crate::web::staff::{Desk, StaffPage, staff_template};

staff_template!(CasesPage);

const PER_PAGE: u64 = 50;

/// The channels the list filters by, in the order the filter offers them.

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    category: Option<String>,
    village: Option<String>,
    channel: Option<String>,
    site: Option<String>,
    mine: Option<String>,
    overdue: Option<String>,
    order: Option<String>,
    page: Option<u64>,
}

impl ListQuery {
    pub(in crate::web::staff) fn filter(&self) -> CaseFilter {
        let some = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        CaseFilter {
            status: self.status.as_deref().and_then(Status::parse),
            category: self.category.as_deref().and_then(Category::parse),
            village: some(&self.village),
            channel: some(&self.channel),
            site: self.site.as_deref().and_then(|s| Uuid::parse_str(s).ok()),
            assigned_to_me: self.mine.is_some(),
            overdue: self.overdue.is_some(),
            order: if self.order.as_deref() == Some("oldest") {
                Order::OldestFirst
            } else {
                Order::NewestFirst
            },
        }
    }
}

pub struct ShownRow {
    pub id: Uuid,
    pub case_number: String,
    pub category: String,
    pub village: String,
    pub channel: String,
    pub status: String,
    pub received_on: String,
    pub anonymous: bool,
    /// The reported person's position.
    pub subject_role: String,
    pub assignee: String,
    pub unread_replies: u64,
    /// "Accept by 2024-10-10", empty when nothing is due.
    pub due: String,
    pub overdue: bool,
    /// Destroyed under the retention rule: shown as such, with no page to open.
    pub purged: bool,
    /// For inspectors, the ledger's columns: who is reported, the one-line summary, the
    /// finding, where rectification stands, and the days it was transferred, reported and
    /// closed.
    pub subject: String,
    pub summary: String,
    pub progress: String,
    pub outcome: String,
    pub rectification: String,
}

#[derive(Template)]
#[template(path = "staff/cases.html")]
struct CasesPage {
    frame: StaffPage,
    /// Whether the viewer opens case files (operators see the list only).
    reads_cases: bool,
    /// The list's filters as a query string, for the ledger exports (inspectors only).
    export_query: Option<String>,
    rows: Vec<ShownRow>,
    counts: Vec<(String, String, u64)>,
    total: u64,
    statuses: Vec<Choice>,
    categories: Vec<Choice>,
    villages: Vec<Choice>,
    channels: Vec<Choice>,
    sites: Vec<Choice>,
    mine: bool,
    overdue: bool,
    oldest: bool,
}

/// A list's query string without its page: the same filters for the whole ledger.
fn filters_only(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("page="))
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn list_cases(
    desk: Desk,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let state = &desk.state;
    let filter = query.filter();
    let viewer = desk.viewer();
    let CaseList {
        rows,
        counts,
        total,
        ..
    } = cases::list_cases(
        &state.db,
        viewer,
        &filter,
        query.page.unwrap_or(1),
        PER_PAGE,
        &state.deadlines,
        state.today(),
    )
    .await?;
    let sites = sites::list_sites(&state.db).await?;
    let lines = ledger::list_page(desk.caller(), rows).await?;
    let rows = lines
        .into_iter()
        .map(|line| {
            let progress = progress_text(t, &line);
            let LedgerRow {
                case: r,
                content,
                rectification,
                ..
            } = line;
            let (subject, summary) = content.map_or_else(Default::default, |c| {
                (
                    c.subject.map(|s| s.to_string()).unwrap_or_default(),
                    c.summary.to_string(),
                )
            });
            ShownRow {
                subject,
                summary,
                progress,
                outcome: r
                    .outcome
                    .map_or("", |o| t.label("staff.outcome", o.code()))
                    .to_string(),
                rectification: crate::web::staff::ledger::rectification_text(
                    t,
                    rectification.as_ref(),
                ),
                id: r.id,
                category: t.label("category", r.category.code()).to_string(),
                village: village_name(state, desk.lang, r.village.as_deref()),
                channel: t.label("channel", &r.channel).to_string(),
                status: t.label("status", r.status.code()).to_string(),
                received_on: r.received_on.to_string(),
                case_number: r.case_number,
                anonymous: r.anonymous,
                subject_role: r
                    .subject_role
                    .map(|role| t.label("role", role.code()).to_string())
                    .unwrap_or_default(),
                assignee: r.assignee.unwrap_or_default(),
                unread_replies: r.unread_replies,
                due: due_text(t, r.due),
                overdue: r.overdue,
                purged: r.purged,
            }
        })
        .collect();
    let page = CasesPage {
        frame: desk.page(),
        reads_cases: viewer.reads_cases(),
        export_query: viewer
            .is_inspector()
            .then(|| filters_only(desk.req().query_string())),
        rows,
        counts: counts
            .into_iter()
            .map(|(s, n)| {
                (
                    s.code().to_string(),
                    t.label("status", s.code()).to_string(),
                    n,
                )
            })
            .collect(),
        total,
        statuses: Choice::labelled(
            t,
            "status",
            Status::ALL.iter().map(|s| s.code()),
            query.status.as_deref(),
        ),
        categories: Choice::labelled(
            t,
            "category",
            Category::ALL.iter().map(|c| c.code()),
            query.category.as_deref(),
        ),
        villages: village_choices(&state.villages, desk.lang, query.village.as_deref()),
        channels: Choice::labelled(
            t,
            "channel",
            Channel::ALL.map(Channel::code),
            query.channel.as_deref(),
        ),
        sites: sites
            .iter()
            .map(|site| {
                let label = site_label(t, state, desk.lang, site);
                Choice::new(&site.id.to_string(), &label, query.site.as_deref())
            })
            .collect(),
        mine: filter.assigned_to_me,
        overdue: filter.overdue,
        oldest: filter.order == Order::OldestFirst,
    };
    desk.render(&page, StatusCode::OK)
}

/// The days a case was transferred to the discipline post, reported to the bureau and
/// closed, as one line: empty when none has happened.
fn progress_text(t: &Catalog, line: &LedgerRow) -> String {
    [
        ("staff.ledger.transferred_on", line.transferred_on),
        ("staff.ledger.reported_on", line.reported_on),
        ("staff.ledger.closed_on", line.closed_on),
    ]
    .into_iter()
    .filter_map(|(key, day)| day.map(|d| t.t(key).replace("{day}", &d.to_string())))
    .collect::<Vec<_>>()
    .join("；")
}

/// A posting site as the filter lists it: a household notice is one site per village, so it
/// reads as the village, never as a household.
fn site_label(t: &Catalog, state: &AppState, lang: Lang, site: &Site) -> String {
    let kind = t.label("site_kind", site.kind.code());
    match site.kind {
        SiteKind::Household => {
            format!(
                "{kind}（{}）",
                village_name(state, lang, site.village.as_deref())
            )
        }
        _ => format!("{kind}：{}", site.name),
    }
}
