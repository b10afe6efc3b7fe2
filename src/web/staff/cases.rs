//! The inspectors' triage desk: the case list, the case page and its actions.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use serde::Deserialize;
use uuid::Uuid;

use super::{Nav, StaffPage};
use crate::domain::{Category, Role, Status};
use crate::error::{AppError, ErrorKind, Surface};
use crate::i18n::{Catalog, Lang};
use crate::services::ServiceError;
use crate::services::cases::{
    self, CaseEvent, CaseFilter, CaseList, CaseView, Order, Outcome, Transition, Viewer,
};
use crate::services::staff::SessionUser;
use crate::services::{audit, recusal, routing, staff};
use crate::web::AppState;
use crate::web::pages::{Choice, render};

const PER_PAGE: u64 = 50;

fn viewer(user: &SessionUser) -> Viewer {
    Viewer {
        user_id: user.user_id,
        roles: user.roles.clone(),
    }
}

/// A time as staff in the office read it.
fn local(at: DateTime<Utc>) -> String {
    at.with_timezone(&Shanghai)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn village_name(state: &AppState, lang: Lang, id: Option<&str>) -> String {
    id.and_then(|id| state.villages.get(id))
        .map(|v| match lang {
            Lang::Zh => v.zh.clone(),
            Lang::En => v.en.clone(),
        })
        .unwrap_or_default()
}

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
    fn filter(&self) -> CaseFilter {
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
    pub assignee: String,
    pub unread_replies: u64,
    /// "Accept by 2024-10-10", empty when nothing is due.
    pub due: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "staff/cases.html")]
struct CasesPage {
    t: &'static Catalog,
    lang: Lang,
    nav: Nav,
    inspector: bool,
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

fn choices(codes: impl Iterator<Item = (String, String)>, current: Option<&str>) -> Vec<Choice> {
    codes
        .map(|(code, label)| Choice {
            selected: current == Some(code.as_str()),
            code,
            label,
        })
        .collect()
}

pub async fn list_cases(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let StaffPage { t, lang, nav } = StaffPage::new(&req, &user, &state);
    let surface = Surface::Page(lang);
    let filter = query.filter();
    let CaseList {
        rows,
        counts,
        total,
        ..
    } = cases::list_cases(
        &state.db,
        &viewer(&user),
        &filter,
        query.page.unwrap_or(1),
        PER_PAGE,
        &state.deadlines,
        state.today(),
    )
    .await
    .map_err(|e| AppError::internal(e, surface))?;
    let rows = rows
        .into_iter()
        .map(|r| ShownRow {
            id: r.id,
            category: t.label("category", r.category.code()).to_string(),
            village: village_name(&state, lang, r.village.as_deref()),
            channel: t.label("channel", &r.channel).to_string(),
            status: t.label("status", r.status.code()).to_string(),
            received_on: r.received_on.to_string(),
            case_number: r.case_number,
            anonymous: r.anonymous,
            assignee: r.assignee.unwrap_or_default(),
            unread_replies: r.unread_replies,
            due: due_text(t, r.due),
            overdue: r.overdue,
        })
        .collect();
    let page = CasesPage {
        t,
        lang,
        nav,
        inspector: user.has(Role::Inspector),
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
        statuses: choices(
            Status::ALL.iter().map(|s| {
                (
                    s.code().to_string(),
                    t.label("status", s.code()).to_string(),
                )
            }),
            query.status.as_deref(),
        ),
        categories: choices(
            Category::ALL.iter().map(|c| {
                (
                    c.code().to_string(),
                    t.label("category", c.code()).to_string(),
                )
            }),
            query.category.as_deref(),
        ),
        villages: choices(
            state
                .villages
                .all()
                .iter()
                .map(|v| (v.id.clone(), village_name(&state, lang, Some(&v.id)))),
            query.village.as_deref(),
        ),
        channels: choices(
            ["web", "api", "hotline", "letter", "walk_in"]
                .iter()
                .map(|c| (c.to_string(), t.label("channel", c).to_string())),
            query.channel.as_deref(),
        ),
        sites: choices(
            crate::services::sites::list_sites(&state.db)
                .await
                .map_err(|e| AppError::internal(e, surface))?
                .into_iter()
                .map(|site| (site.id.to_string(), site_label(t, &state, lang, &site))),
            query.site.as_deref(),
        ),
        mine: filter.assigned_to_me,
        overdue: filter.overdue,
        oldest: filter.order == Order::OldestFirst,
    };
    render(&page, StatusCode::OK, surface)
}

fn due_text(
    t: &Catalog,
    due: Option<(crate::services::deadlines::Stage, chrono::NaiveDate)>,
) -> String {
    due.map(|(stage, date)| {
        t.t("staff.due")
            .replace("{stage}", t.label("staff.stage", stage.code()))
            .replace("{date}", &date.to_string())
    })
    .unwrap_or_default()
}

/// A posting site as the filter lists it: a household notice is one site per village, so it
/// reads as the village, never as a household.
fn site_label(
    t: &Catalog,
    state: &AppState,
    lang: Lang,
    site: &crate::services::sites::Site,
) -> String {
    let kind = t.label("site_kind", site.kind.code());
    match site.kind {
        crate::domain::SiteKind::Household => {
            format!(
                "{kind}（{}）",
                village_name(state, lang, site.village.as_deref())
            )
        }
        _ => format!("{kind}：{}", site.name),
    }
}

pub struct ShownEvent {
    pub at: String,
    pub actor: String,
    pub what: String,
    pub detail: String,
}

/// A group the case went to, for the routing record.
pub struct ShownRoute {
    pub group: String,
    pub reason: String,
    pub escalated: bool,
    pub actor: String,
    pub at: String,
}

pub struct ShownMessage {
    pub at: String,
    pub from_inspector: bool,
    pub author: String,
    pub text: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "staff/case.html")]
struct CasePage {
    t: &'static Catalog,
    lang: Lang,
    nav: Nav,
    id: Uuid,
    case: CaseView,
    category: String,
    village: String,
    channel: String,
    status: String,
    subject_role: String,
    outcome: String,
    due: String,
    events: Vec<ShownEvent>,
    notes: Vec<(String, String, String)>,
    messages: Vec<ShownMessage>,
    reads: Vec<(String, String)>,
    inspectors: Vec<Choice>,
    moves: Vec<(&'static str, String)>,
    outcomes: Vec<Choice>,
    routes: Vec<ShownRoute>,
    /// The groups the case has not gone to yet.
    escalate_to: Vec<Choice>,
    problem: Option<String>,
    attachments: Vec<ShownAttachment>,
}

/// An evidence file as the case page lists it.
pub struct ShownAttachment {
    pub seq: i32,
    pub name: String,
    pub kind: String,
    pub size: String,
    pub stripped: bool,
    pub image: bool,
}

/// The status changes offered on a case page: only legal ones are shown.
fn moves(t: &Catalog, status: Status) -> Vec<(&'static str, String)> {
    [
        ("accept", Status::Accepted),
        ("not_accept", Status::NotAccepted),
        ("start_verifying", Status::Verifying),
        ("conclude", Status::Concluded),
        ("close", Status::Closed),
        ("merge", Status::Merged),
    ]
    .into_iter()
    .filter(|(_, to)| cases::is_legal(status, *to))
    .map(|(code, to)| (code, t.label("status", to.code()).to_string()))
    .collect()
}

async fn case_page(
    req: &HttpRequest,
    state: &AppState,
    user: &SessionUser,
    id: Uuid,
    problem: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let StaffPage { t, lang, nav } = StaffPage::new(req, user, state);
    let surface = Surface::Page(lang);
    let internal = |e| AppError::internal(e, surface);
    let Some(case) = cases::open_case(
        &state.db,
        &state.keyring,
        &viewer(user),
        id,
        &state.deadlines,
        state.now(),
    )
    .await
    .map_err(internal)?
    else {
        return Err(AppError::new(ErrorKind::NotFound, surface));
    };
    let names: HashMap<Uuid, String> = staff::list_users(&state.db)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let reads = audit::reads_of_case(&state.db, id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|r| {
            let who = r
                .actor
                .and_then(|a| names.get(&a).cloned())
                .unwrap_or_default();
            (who, local(r.at))
        })
        .collect();
    let recused_ids = recusal::recused_users(&state.db, id)
        .await
        .map_err(internal)?;
    let inspectors = staff::inspectors(&state.db)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|(uid, _)| !recused_ids.contains(uid))
        .map(|(uid, name)| Choice {
            selected: case.assignee_id == Some(uid),
            code: uid.to_string(),
            label: name,
        })
        .collect();
    let record = routing::routes_of_case(&state.db, &state.routing, id)
        .await
        .map_err(internal)?;
    let escalate_to = state
        .routing
        .groups()
        .filter(|(group, _)| !record.iter().any(|r| r.group == *group))
        .map(|(group, name)| Choice {
            code: group.to_string(),
            label: name.to_string(),
            selected: false,
        })
        .collect();
    let routes = record
        .into_iter()
        .map(|r| {
            let escalated = r.reason == routing::BY_ESCALATION;
            ShownRoute {
                reason: t.label("staff.route", &r.reason).to_string(),
                actor: r
                    .actor
                    .and_then(|a| names.get(&a).cloned())
                    .unwrap_or_default(),
                // An anonymous report's routing keeps its day only.
                at: if case.anonymous && !escalated {
                    r.at.with_timezone(&Shanghai).date_naive().to_string()
                } else {
                    local(r.at)
                },
                group: r.group_name,
                escalated,
            }
        })
        .collect();
    let events = case
        .events
        .iter()
        .map(|e| ShownEvent {
            at: local(e.at),
            actor: e.actor.clone().unwrap_or_default(),
            what: match (e.from, e.to) {
                (Some(from), Some(to)) => format!(
                    "{} → {}",
                    t.label("status", from.code()),
                    t.label("status", to.code())
                ),
                _ => t.label("staff.event", &e.kind).to_string(),
            },
            detail: e.detail.as_ref().map(|d| d.to_string()).unwrap_or_default(),
        })
        .collect();
    let notes = case
        .notes
        .iter()
        .map(|n| {
            (
                local(n.at),
                n.author.clone().unwrap_or_default(),
                n.text.to_string(),
            )
        })
        .collect();
    let messages = case
        .messages
        .iter()
        .map(|m| ShownMessage {
            at: if m.day_only {
                m.at.with_timezone(&Shanghai).date_naive().to_string()
            } else {
                local(m.at)
            },
            from_inspector: m.from_inspector,
            author: m.author.clone().unwrap_or_default(),
            text: m.text.to_string(),
            unread: m.unread,
        })
        .collect();
    let attachments = case
        .attachments
        .iter()
        .map(|a| ShownAttachment {
            seq: a.seq,
            name: a.name.to_string(),
            kind: t.label("attach.kind", a.kind.code()).to_string(),
            size: crate::web::upload::size_text(a.size),
            stripped: a.stripped,
            image: a.kind.is_image(),
        })
        .collect();
    let page = CasePage {
        t,
        lang,
        nav,
        id,
        attachments,
        category: t.label("category", case.category.code()).to_string(),
        village: village_name(state, lang, case.village.as_deref()),
        channel: t.label("channel", &case.channel).to_string(),
        status: t.label("status", case.status.code()).to_string(),
        subject_role: case
            .subject_role
            .map(|r| t.label("role", r.code()).to_string())
            .unwrap_or_default(),
        outcome: case
            .outcome
            .map(|o| t.label("staff.outcome", o.code()).to_string())
            .unwrap_or_default(),
        moves: moves(t, case.status),
        due: due_text(t, case.due),
        outcomes: Outcome::ALL
            .iter()
            .map(|o| Choice {
                code: o.code().to_string(),
                label: t.label("staff.outcome", o.code()).to_string(),
                selected: false,
            })
            .collect(),
        case,
        events,
        notes,
        messages,
        reads,
        inspectors,
        routes,
        escalate_to,
        problem,
    };
    render(&page, status, surface)
}

fn case_id(raw: &str, surface: Surface) -> Result<Uuid, AppError> {
    Uuid::parse_str(raw).map_err(|_| AppError::new(ErrorKind::NotFound, surface))
}

pub async fn show_case(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = case_id(&id, crate::web::page(&req))?;
    case_page(&req, &state, &user, id, None, StatusCode::OK).await
}

/// After an action: back to the case page (POST-redirect-GET), or the page again with the
/// refusal's reason.
async fn after(
    req: &HttpRequest,
    state: &AppState,
    user: &SessionUser,
    id: Uuid,
    result: Result<(), ServiceError>,
) -> Result<HttpResponse, AppError> {
    let lang = crate::web::lang_of(req);
    let t = lang.catalog();
    let surface = Surface::Page(lang);
    let problem = match result {
        Ok(()) => {
            return Ok(HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!("/staff/cases/{id}?lang={}", lang.code()),
                ))
                .finish());
        }
        Err(ServiceError::IllegalTransition { from, to }) => t
            .t("staff.case.illegal")
            .replace("{from}", t.label("status", from.code()))
            .replace("{to}", t.label("status", to.code())),
        Err(ServiceError::Invalid(key)) => t.t(key).to_string(),
        Err(e) => return Err(AppError::from(e).on(surface)),
    };
    case_page(
        req,
        state,
        user,
        id,
        Some(problem),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    transition: Option<String>,
    text: Option<String>,
    outcome: Option<String>,
    into: Option<String>,
}

pub async fn change_status(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    id: web::Path<String>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let id = case_id(&id, crate::web::page(&req))?;
    let form = form.into_inner();
    let text = form.text.unwrap_or_default();
    let transition = match form.transition.as_deref() {
        Some("accept") => Ok(Transition::Accept),
        Some("not_accept") => Ok(Transition::NotAccept { reason: text }),
        Some("start_verifying") => Ok(Transition::StartVerifying),
        Some("conclude") => match form.outcome.as_deref().and_then(Outcome::parse) {
            Some(outcome) => Ok(Transition::Conclude {
                outcome,
                finding: text,
            }),
            None => Err(ServiceError::Invalid("staff.case.choose_outcome")),
        },
        Some("close") => Ok(Transition::Close { feedback: text }),
        Some("merge") => Ok(Transition::Merge {
            into_case_number: form.into.unwrap_or_default().trim().to_string(),
        }),
        _ => Err(ServiceError::Invalid("staff.case.choose_move")),
    };
    let result = match transition {
        Ok(transition) => {
            cases::change_status(
                &state.db,
                &state.keyring,
                &viewer(&user),
                id,
                transition,
                state.now(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    after(&req, &state, &user, id, result).await
}

#[derive(Debug, Deserialize)]
pub struct AssignForm {
    assignee: Option<String>,
}

pub async fn assign_case(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    id: web::Path<String>,
    form: web::Form<AssignForm>,
) -> Result<HttpResponse, AppError> {
    let id = case_id(&id, crate::web::page(&req))?;
    let assignee = form
        .into_inner()
        .assignee
        .and_then(|a| Uuid::parse_str(&a).ok());
    let result = cases::assign(
        &state.db,
        &state.keyring,
        &viewer(&user),
        id,
        assignee,
        state.now(),
    )
    .await;
    after(&req, &state, &user, id, result).await
}

#[derive(Debug, Deserialize)]
pub struct TextForm {
    text: Option<String>,
}

pub async fn add_note(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    id: web::Path<String>,
    form: web::Form<TextForm>,
) -> Result<HttpResponse, AppError> {
    let id = case_id(&id, crate::web::page(&req))?;
    let text = form.into_inner().text.unwrap_or_default();
    let result = cases::add_note(
        &state.db,
        &state.keyring,
        &viewer(&user),
        id,
        &text,
        state.now(),
    )
    .await
    .map(|_| ());
    after(&req, &state, &user, id, result).await
}

pub async fn ask_reporter(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    id: web::Path<String>,
    form: web::Form<TextForm>,
) -> Result<HttpResponse, AppError> {
    let id = case_id(&id, crate::web::page(&req))?;
    let text = form.into_inner().text.unwrap_or_default();
    let result = cases::ask_reporter(
        &state.db,
        &state.keyring,
        &viewer(&user),
        id,
        &text,
        state.now(),
    )
    .await
    .map(|_| ());
    after(&req, &state, &user, id, result).await
}

#[derive(Debug, Deserialize)]
pub struct EventForm {
    event: Option<String>,
    text: Option<String>,
}

pub async fn record_event(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    id: web::Path<String>,
    form: web::Form<EventForm>,
) -> Result<HttpResponse, AppError> {
    let id = case_id(&id, crate::web::page(&req))?;
    let form = form.into_inner();
    let event = match form.event.as_deref() {
        Some("transferred_discipline") => Some(CaseEvent::TransferredToDisciplinePost),
        Some("reported_bureau") => Some(CaseEvent::ReportedToDistrictBureau),
        _ => None,
    };
    let result = match event {
        Some(event) => {
            let note = form.text.filter(|t| !t.trim().is_empty());
            cases::record_event(
                &state.db,
                &state.keyring,
                &viewer(&user),
                id,
                event,
                note,
                state.now(),
            )
            .await
        }
        None => Err(ServiceError::Invalid("staff.case.choose_event")),
    };
    after(&req, &state, &user, id, result).await
}

#[derive(Debug, Deserialize)]
pub struct RecuseForm {
    user: Option<String>,
    reason: Option<String>,
}

/// An inspector recuses a colleague, or themselves, by hand and says why.
pub async fn recuse(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    id: web::Path<String>,
    form: web::Form<RecuseForm>,
) -> Result<HttpResponse, AppError> {
    let surface = crate::web::page(&req);
    let id = case_id(&id, surface)?;
    let internal = |e| AppError::internal(e, surface);
    // Only someone who may see the case may act on it.
    if recusal::is_recused(&state.db, id, user.user_id)
        .await
        .map_err(internal)?
        || !cases::case_exists(&state.db, id).await.map_err(internal)?
    {
        return Err(AppError::new(ErrorKind::NotFound, surface));
    }
    let form = form.into_inner();
    let Some(target) = form.user.as_deref().and_then(|u| Uuid::parse_str(u).ok()) else {
        return after(
            &req,
            &state,
            &user,
            id,
            Err(ServiceError::Invalid("staff.case.choose_person")),
        )
        .await;
    };
    let result = recusal::recuse_manually(
        &state.db,
        &state.keyring,
        id,
        target,
        user.user_id,
        form.reason.as_deref().unwrap_or(""),
        state.now(),
    )
    .await;
    let result = result.map(|_| ());
    if result.is_ok() && target == user.user_id {
        // Having stepped aside, the inspector no longer sees the case.
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/staff/cases"))
            .finish());
    }
    after(&req, &state, &user, id, result).await
}

#[derive(Debug, Deserialize)]
pub struct EscalateForm {
    group: Option<String>,
}

/// An inspector sends the case on to another group; a refusal re-shows the page with why.
pub async fn escalate_case(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    id: web::Path<String>,
    form: web::Form<EscalateForm>,
) -> Result<HttpResponse, AppError> {
    let id = case_id(&id, crate::web::page(&req))?;
    let group = form.into_inner().group.unwrap_or_default();
    let result = cases::escalate(
        &state.db,
        &state.keyring,
        &state.routing,
        &state.deadlines,
        &viewer(&user),
        id,
        group.trim(),
        state.now(),
    )
    .await;
    after(&req, &state, &user, id, result).await
}
