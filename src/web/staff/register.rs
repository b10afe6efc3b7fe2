//! The close-relative register (近亲属备案台账) for inspectors: every filing with its home visits
//! (入户核实), a small form per filing to record one, the filings not yet visited and their
//! export as XLSX and CSV (audited by the service, naming the filings it held).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;

use super::sheet::{Cell, FileKind, Sheet};
use super::{Desk, StaffPage, path_id, refusal, staff_template};
use crate::domain::{SupportKind, VisitFinding};
use crate::error::AppError;
use crate::i18n::{Catalog, Lang};
use crate::services::register::{self, Entry, NewVisit, Reading, Which};
use crate::services::staff::{self, UserSummary};
use crate::web::AppState;
use crate::web::pages::{Choice, see_other, village_name};

staff_template!(RegisterPage);

/// A filing as the admin page and the register show it.
pub struct ShownFiling {
    pub id: Uuid,
    /// The staff member's display name, or the cadre's name for one without an account.
    pub cadre: String,
    /// Post and village of a cadre without an account; empty for a staff account.
    pub cadre_detail: String,
    /// Whether the filing is tied to an account (and so recuses it).
    pub account: bool,
    /// Whether it is the viewer's own relative (who then cannot verify it).
    pub own: bool,
    pub relative: String,
    pub relation: String,
    pub village: String,
    pub support: String,
    pub filed_on: NaiveDate,
    pub visits: Vec<ShownVisit>,
}

pub struct ShownVisit {
    pub on: NaiveDate,
    pub visitor: String,
    pub finding: String,
    /// `conform`, `not_conform` or `rectify`, for the finding's style.
    pub finding_code: &'static str,
    pub follow_up: String,
}

/// The register as the service opens it (and audits the reading), shown to the desk's
/// account in its language.
pub(super) async fn read_register(
    desk: &Desk,
    which: Which,
    reading: Reading,
) -> Result<Vec<ShownFiling>, AppError> {
    let state = &desk.state;
    let entries = register::register(desk.caller(), which, reading).await?;
    let accounts = staff::list_users(&state.db).await?;
    Ok(shown_filings(
        state,
        desk.lang,
        &accounts,
        desk.user.user_id,
        entries,
    ))
}

/// The register's entries as shown to `viewer` in `lang`.
fn shown_filings(
    state: &AppState,
    lang: Lang,
    accounts: &[UserSummary],
    viewer: Uuid,
    entries: Vec<Entry>,
) -> Vec<ShownFiling> {
    let t = lang.catalog();
    let village = |id: Option<&str>| {
        id.and_then(|id| village_name(&state.villages, lang, id))
            .unwrap_or_default()
            .to_string()
    };
    entries
        .into_iter()
        .map(|Entry { filing, visits }| {
            let (cadre, cadre_detail) = match filing.user_id {
                Some(user_id) => (
                    accounts
                        .iter()
                        .find(|a| a.id == user_id)
                        .map_or_else(|| user_id.to_string(), |a| a.display_name.clone()),
                    String::new(),
                ),
                None => {
                    let post = filing.cadre_post.as_deref().map_or("", |p| p.as_str());
                    let place = village(filing.cadre_village.as_deref());
                    let detail = [post, place.as_str()]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join("，");
                    let name = filing.cadre_name.as_deref().map_or("", |n| n.as_str());
                    (name.to_string(), detail)
                }
            };
            ShownFiling {
                id: filing.id,
                cadre,
                cadre_detail,
                account: filing.user_id.is_some(),
                own: filing.user_id == Some(viewer),
                relative: filing.relative.to_string(),
                relation: filing.relation.map(|r| r.to_string()).unwrap_or_default(),
                village: village(filing.village.as_deref()),
                support: support_name(t, filing.support),
                filed_on: crate::domain::local_day(filing.created_at),
                visits: visits
                    .into_iter()
                    .map(|v| ShownVisit {
                        on: v.visited_on,
                        visitor: v.visitor.to_string(),
                        finding: t.label("visit_finding", v.finding.code()).to_string(),
                        finding_code: v.finding.code(),
                        follow_up: v.follow_up.map(|f| f.to_string()).unwrap_or_default(),
                    })
                    .collect(),
            }
        })
        .collect()
}

fn support_name(t: &Catalog, support: Option<SupportKind>) -> String {
    support.map_or_else(String::new, |s| t.label("support", s.code()).to_string())
}

/// `?which=unvisited` shows only the filings not yet visited.
#[derive(Debug, Default, Deserialize)]
pub struct RegisterQuery {
    which: Option<String>,
}

impl RegisterQuery {
    fn which(&self) -> Which {
        match self.which.as_deref() {
            Some("unvisited") => Which::Unvisited,
            _ => Which::All,
        }
    }
}

/// What was typed into one filing's visit form, shown again when refused.
#[derive(Debug, Default, Deserialize)]
pub struct VisitForm {
    on: Option<String>,
    visitor: Option<String>,
    finding: Option<String>,
    follow_up: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/register.html")]
struct RegisterPage {
    frame: StaffPage,
    filings: Vec<ShownFiling>,
    unvisited_only: bool,
    /// The query that keeps the filter (`&which=unvisited` or empty).
    which_query: &'static str,
    today: NaiveDate,
    findings: Vec<Choice>,
    /// The filing whose form was refused, what was typed in it and why.
    refused: Option<(Uuid, VisitForm, String)>,
}

impl RegisterPage {
    /// The value typed into `field` of the form for `filing`, when that form was refused.
    fn typed(&self, filing: &Uuid, field: &str) -> &str {
        let Some((id, form, _)) = &self.refused else {
            return "";
        };
        if id != filing {
            return "";
        }
        match field {
            "on" => form.on.as_deref(),
            "visitor" => form.visitor.as_deref(),
            "finding" => form.finding.as_deref(),
            _ => form.follow_up.as_deref(),
        }
        .unwrap_or("")
    }

    /// Why the form for `filing` was refused, if it was.
    fn problem(&self, filing: &Uuid) -> Option<&str> {
        self.refused
            .as_ref()
            .filter(|(id, ..)| id == filing)
            .map(|(_, _, why)| why.as_str())
    }
}

async fn register_page(
    desk: &Desk,
    which: Which,
    refused: Option<(Uuid, VisitForm, &'static str)>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let state = &desk.state;
    let filings = read_register(desk, which, Reading::Page).await?;
    let page = RegisterPage {
        frame: desk.page(),
        filings,
        unvisited_only: which == Which::Unvisited,
        which_query: match which {
            Which::All => "",
            Which::Unvisited => "&which=unvisited",
        },
        today: state.today(),
        findings: Choice::labelled(
            t,
            "visit_finding",
            VisitFinding::ALL.iter().map(|f| f.code()),
            None,
        ),
        refused: refused.map(|(id, form, key)| (id, form, t.t(key).to_string())),
    };
    desk.render(&page, status)
}

/// `GET /staff/relatives`: the register, all filings or those not yet visited.
pub async fn show_register(
    desk: Desk,
    query: web::Query<RegisterQuery>,
) -> Result<HttpResponse, AppError> {
    register_page(&desk, query.which(), None, StatusCode::OK).await
}

/// `POST /staff/relatives/{id}/visits`: records a home visit on the day it happened.
pub async fn record_visit(
    desk: Desk,
    id: web::Path<String>,
    query: web::Query<RegisterQuery>,
    form: web::Form<VisitForm>,
) -> Result<HttpResponse, AppError> {
    let id = path_id(&id)?;
    let form = form.into_inner();
    let which = query.which();
    let refused = StatusCode::UNPROCESSABLE_ENTITY;
    let on = form.on.as_deref().map(str::trim).unwrap_or("");
    let Ok(visited_on) = NaiveDate::parse_from_str(on, "%Y-%m-%d") else {
        return register_page(&desk, which, Some((id, form, "error.date")), refused).await;
    };
    let Some(finding) = form.finding.as_deref().and_then(VisitFinding::parse) else {
        let why = "staff.register.finding_required";
        return register_page(&desk, which, Some((id, form, why)), refused).await;
    };
    let visit = NewVisit {
        visited_on,
        visitor: form.visitor.as_deref().unwrap_or(""),
        finding,
        follow_up: form.follow_up.as_deref(),
    };
    let done = register::record_visit(desk.caller(), id, &visit).await;
    match done {
        Ok(_) => {
            let lang = desk.lang.code();
            let back = match which {
                Which::All => format!("/staff/relatives?lang={lang}#filing-{id}"),
                Which::Unvisited => format!("/staff/relatives?lang={lang}&which=unvisited"),
            };
            Ok(see_other(&back))
        }
        Err(e) => {
            let why = refusal(e)?;
            register_page(&desk, which, Some((id, form, why)), refused).await
        }
    }
}

/// The unvisited list's columns: header catalog key and width in Excel.
const COLUMNS: [(&str, f64); 9] = [
    ("staff.ledger.seq", 6.0),
    ("staff.register.cadre", 14.0),
    ("staff.register.cadre_post", 16.0),
    ("staff.register.account", 10.0),
    ("staff.relatives.name", 12.0),
    ("staff.relatives.relation", 10.0),
    ("staff.relatives.village", 14.0),
    ("staff.relatives.support", 12.0),
    ("staff.register.filed_on", 12.0),
];

/// `GET /staff/relatives/unvisited.xlsx`
pub async fn unvisited_xlsx(desk: Desk) -> Result<HttpResponse, AppError> {
    export_unvisited(desk, FileKind::Xlsx).await
}

/// `GET /staff/relatives/unvisited.csv`
pub async fn unvisited_csv(desk: Desk) -> Result<HttpResponse, AppError> {
    export_unvisited(desk, FileKind::Csv).await
}

/// The filings not yet visited, as the verification report lists them; the service audits
/// the export with the filings it held before anything is opened.
async fn export_unvisited(desk: Desk, format: FileKind) -> Result<HttpResponse, AppError> {
    let state = &desk.state;
    let filings = read_register(&desk, Which::Unvisited, Reading::Export).await?;
    let t = desk.t();
    let no = t.t("staff.register.no");
    let rows = filings
        .into_iter()
        .enumerate()
        .map(|(n, f)| {
            vec![
                Cell::Text((n + 1).to_string()),
                Cell::Text(f.cadre),
                Cell::Text(f.cadre_detail),
                Cell::Text(if f.account {
                    t.t("staff.ledger.yes").to_string()
                } else {
                    no.to_string()
                }),
                Cell::Text(f.relative),
                Cell::Text(f.relation),
                Cell::Text(f.village),
                Cell::Text(f.support),
                Cell::Date(f.filed_on),
            ]
        })
        .collect();
    let sheet = Sheet {
        name: "近亲属备案",
        title: t
            .t("staff.register.export_title")
            .replace("{office}", super::sheet::office(&desk))
            .replace("{today}", &state.today().to_string()),
        headers: COLUMNS.iter().map(|(key, w)| (t.t(key), *w)).collect(),
        rows,
    };
    let name = format!(
        "relatives-unvisited-{}.{}",
        state.today(),
        format.extension()
    );
    sheet.download(&desk, format, &name)
}
