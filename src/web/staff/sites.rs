//! Posting sites for admins (list, add, disable, QR downloads, the printable notice) and the
//! report counts that admins and inspectors see.

use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono_tz::Asia::Shanghai;
use serde::Deserialize;
use uuid::Uuid;

use super::{Nav, StaffPage};
use crate::domain::{Category, SiteKind};
use crate::error::{AppError, ErrorKind, Surface};
use crate::i18n::{Catalog, Lang};
use crate::qr::{self, QrError};
use crate::services::ServiceError;
use crate::services::sites::{self, CountRules, NewSite, Shown, Site};
use crate::services::staff::SessionUser;
use crate::web::pages::{Choice, render};
use crate::web::{AppState, lang_of, page};

/// A village's name in the page's language, or its id if the configuration no longer has it.
fn village_label(state: &AppState, lang: Lang, id: Option<&str>) -> String {
    let Some(id) = id else {
        return String::new();
    };
    match state.villages.get(id) {
        Some(v) => match lang {
            Lang::Zh => v.zh.clone(),
            Lang::En => v.en.clone(),
        },
        None => id.to_string(),
    }
}

/// One row of the sites table, ready to show.
struct SiteLine {
    id: Uuid,
    kind: &'static str,
    name: String,
    village: String,
    url: String,
    enabled: bool,
}

#[derive(Template)]
#[template(path = "staff/sites.html")]
struct SitesPage {
    t: &'static Catalog,
    lang: Lang,
    nav: Nav,
    sites: Vec<SiteLine>,
    kinds: Vec<Choice>,
    villages: Vec<Choice>,
    name: String,
    notice: Option<String>,
    problem: Option<String>,
}

/// What the add form had, so a refused one comes back as typed.
#[derive(Debug, Default, Deserialize)]
pub struct NewSiteForm {
    kind: Option<String>,
    name: Option<String>,
    village: Option<String>,
}

async fn sites_page(
    req: &HttpRequest,
    state: &AppState,
    user: &SessionUser,
    typed: NewSiteForm,
    notice: Option<String>,
    problem: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let StaffPage { t, lang, nav } = StaffPage::new(req, user, state);
    let surface = Surface::Page(lang);
    let base_url = &state.settings.server.base_url;
    let sites = sites::list_sites(&state.db)
        .await
        .map_err(|e| AppError::internal(e, surface))?
        .into_iter()
        .map(|site| SiteLine {
            id: site.id,
            kind: t.label("site_kind", site.kind.code()),
            village: village_label(state, lang, site.village.as_deref()),
            url: site.url(base_url),
            name: site.name,
            enabled: site.enabled,
        })
        .collect();
    let kinds = SiteKind::ALL
        .iter()
        .map(|k| Choice {
            code: k.code().to_string(),
            label: t.label("site_kind", k.code()).to_string(),
            selected: typed.kind.as_deref() == Some(k.code()),
        })
        .collect();
    let villages = state
        .villages
        .all()
        .iter()
        .map(|v| Choice {
            code: v.id.clone(),
            label: village_label(state, lang, Some(&v.id)),
            selected: typed.village.as_deref() == Some(v.id.as_str()),
        })
        .collect();
    render(
        &SitesPage {
            t,
            lang,
            nav,
            sites,
            kinds,
            villages,
            name: typed.name.unwrap_or_default(),
            notice,
            problem,
        },
        status,
        surface,
    )
}

pub async fn list_sites(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
) -> Result<HttpResponse, AppError> {
    sites_page(
        &req,
        &state,
        &user,
        NewSiteForm::default(),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn create_site(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    form: web::Form<NewSiteForm>,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req);
    let t = lang.catalog();
    let typed = form.into_inner();
    let Some(kind) = typed.kind.as_deref().and_then(SiteKind::parse) else {
        let problem = Some(t.t("staff.sites.bad_kind").to_string());
        return sites_page(
            &req,
            &state,
            &user,
            typed,
            None,
            problem,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let new = NewSite {
        kind,
        name: typed.name.clone().unwrap_or_default(),
        village: typed.village.clone(),
    };
    match sites::create_site(
        &state.db,
        &state.keyring,
        &state.villages,
        new,
        Some(user.user_id),
        state.now(),
    )
    .await
    {
        Ok(site) => {
            let notice = t.t("staff.sites.created").replace("{name}", &site.name);
            sites_page(
                &req,
                &state,
                &user,
                NewSiteForm::default(),
                Some(notice),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(ServiceError::Invalid(key)) => {
            let problem = Some(t.t(key).to_string());
            sites_page(
                &req,
                &state,
                &user,
                typed,
                None,
                problem,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(AppError::from(e).on(Surface::Page(lang))),
    }
}

fn site_id(req: &HttpRequest, id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::new(ErrorKind::NotFound, page(req)))
}

pub async fn disable_site(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let surface = page(&req);
    let id = site_id(&req, &id)?;
    match sites::disable_site(
        &state.db,
        &state.keyring,
        id,
        Some(user.user_id),
        state.now(),
    )
    .await
    {
        Ok(site) => {
            let notice = lang_of(&req)
                .catalog()
                .t("staff.sites.disabled_notice")
                .replace("{name}", &site.name);
            sites_page(
                &req,
                &state,
                &user,
                NewSiteForm::default(),
                Some(notice),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(e) => Err(AppError::from(e).on(surface)),
    }
}

async fn site_or_404(req: &HttpRequest, state: &AppState, id: &str) -> Result<Site, AppError> {
    let surface = page(req);
    sites::find_site(&state.db, site_id(req, id)?)
        .await
        .map_err(|e| AppError::internal(e, surface))?
        .ok_or_else(|| AppError::new(ErrorKind::NotFound, surface))
}

fn qr_failed(e: QrError, surface: Surface) -> AppError {
    AppError::internal(e, surface)
}

/// A QR code file to download, named as `tipoff site qr` names it.
fn download(body: Vec<u8>, content_type: &'static str, file_name: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .body(body)
}

pub async fn site_qr_svg(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let site = site_or_404(&req, &state, &id).await?;
    let svg = qr::svg(&site.url(&state.settings.server.base_url))
        .map_err(|e| qr_failed(e, page(&req)))?;
    Ok(download(
        svg.into_bytes(),
        "image/svg+xml",
        format!("{}.svg", site.file_stem()),
    ))
}

pub async fn site_qr_png(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let site = site_or_404(&req, &state, &id).await?;
    let png = qr::png(&site.url(&state.settings.server.base_url))
        .map_err(|e| qr_failed(e, page(&req)))?;
    Ok(download(
        png,
        "image/png",
        format!("{}.png", site.file_stem()),
    ))
}

#[derive(Template)]
#[template(path = "staff/notice.html")]
struct NoticePage<'a> {
    t: &'static Catalog,
    title: &'a str,
    notice: &'a str,
    office: &'a str,
    hotline: &'a str,
    categories: Vec<&'static str>,
    qr_svg: String,
    home_url: &'a str,
    site_url: String,
    site_label: String,
    date: String,
}

/// The A4 notice for one site: the campaign's text, the categories in plain words, the site's
/// QR code and address, the hotline and the promise that anonymous reports are protected.
pub async fn site_notice(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req);
    let t = lang.catalog();
    let surface = Surface::Page(lang);
    let site = site_or_404(&req, &state, &id).await?;
    let campaign = &state.settings.campaign;
    let (title, office, notice) = match lang {
        Lang::Zh => (&campaign.title_zh, &campaign.office_zh, &campaign.notice_zh),
        Lang::En => (&campaign.title_en, &campaign.office_en, &campaign.notice_en),
    };
    let site_url = site.url(&state.settings.server.base_url);
    let qr_svg = qr::svg_inline(&site_url).map_err(|e| qr_failed(e, surface))?;
    let today = state.now().with_timezone(&Shanghai).date_naive();
    let mut date = String::new();
    if write!(date, "{}", today.format(t.t("notice.date_format"))).is_err() {
        date = today.to_string();
    }
    let village = village_label(&state, lang, site.village.as_deref());
    let site_label = [village.as_str(), site.name.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    let page = NoticePage {
        t,
        title,
        notice,
        office,
        hotline: &campaign.hotline,
        categories: Category::ALL
            .iter()
            .map(|c| t.label("category", c.code()))
            .collect(),
        qr_svg,
        home_url: state.settings.server.base_url.trim_end_matches('/'),
        site_url,
        site_label,
        date,
    };
    render(&page, StatusCode::OK, surface)
}

/// A row of the counts tables, ready to show.
struct CountLine {
    label: String,
    detail: String,
    cells: Vec<String>,
}

struct PeriodHead {
    label: &'static str,
    range: String,
}

#[derive(Template)]
#[template(path = "staff/counts.html")]
struct CountsPage {
    t: &'static Catalog,
    lang: Lang,
    nav: Nav,
    min_shown: u32,
    periods: Vec<PeriodHead>,
    sections: Vec<CountSection>,
}

struct CountSection {
    id: &'static str,
    caption: &'static str,
    rows: Vec<CountLine>,
}

impl CountsPage {
    fn threshold_note(&self) -> String {
        self.t
            .t("counts.threshold_note")
            .replace("{n}", &self.min_shown.to_string())
    }
}

/// How a count reads on the page: a number, or one of the masked forms.
fn shown_text(t: &Catalog, shown: Shown) -> String {
    match shown {
        Shown::Exact(n) => n.to_string(),
        Shown::FewerThan(n) => t.t("counts.fewer_than").replace("{n}", &n.to_string()),
        Shown::Partly {
            exact: 0,
            masked,
            below,
        } => t
            .t("counts.masked_sites")
            .replace("{sites}", &masked.to_string())
            .replace("{n}", &below.to_string()),
        Shown::Partly {
            exact,
            masked,
            below,
        } => t
            .t("counts.partly")
            .replace("{exact}", &exact.to_string())
            .replace("{sites}", &masked.to_string())
            .replace("{n}", &below.to_string()),
    }
}

pub async fn show_counts(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
) -> Result<HttpResponse, AppError> {
    let StaffPage { t, lang, nav } = StaffPage::new(&req, &user, &state);
    let surface = Surface::Page(lang);
    let rules = CountRules {
        min_shown: state.settings.counts.min_shown,
        campaign_start: state.settings.campaign.start,
        campaign_end: state.settings.campaign.end,
    };
    let counts = sites::counts(&state.db, &rules, state.now())
        .await
        .map_err(|e| AppError::internal(e, surface))?;
    let cells = |row: &[Shown; 3]| row.iter().map(|s| shown_text(t, *s)).collect();
    let periods = counts
        .periods
        .iter()
        .map(|span| PeriodHead {
            label: t.label("counts.period", span.period.code()),
            range: format!("{} – {}", span.first, span.last),
        })
        .collect();
    let kinds = counts
        .kinds
        .iter()
        .map(|row| CountLine {
            label: t.label("site_kind", row.key.code()).to_string(),
            detail: String::new(),
            cells: cells(&row.counts),
        })
        .collect();
    let villages = counts
        .villages
        .iter()
        .map(|row| CountLine {
            label: village_label(&state, lang, Some(&row.key)),
            detail: String::new(),
            cells: cells(&row.counts),
        })
        .collect();
    let sites = counts
        .sites
        .iter()
        .map(|row| {
            let site = &row.key;
            let mut detail = t.label("site_kind", site.kind.code()).to_string();
            let village = village_label(&state, lang, site.village.as_deref());
            if !village.is_empty() {
                detail.push_str(" · ");
                detail.push_str(&village);
            }
            if !site.enabled {
                detail.push_str(" · ");
                detail.push_str(t.t("staff.sites.disabled"));
            }
            CountLine {
                label: site.name.clone(),
                detail,
                cells: cells(&row.counts),
            }
        })
        .collect();
    render(
        &CountsPage {
            t,
            lang,
            nav,
            min_shown: counts.min_shown,
            periods,
            sections: vec![
                CountSection {
                    id: "kinds",
                    caption: "counts.by_kind",
                    rows: kinds,
                },
                CountSection {
                    id: "villages",
                    caption: "counts.by_village",
                    rows: villages,
                },
                CountSection {
                    id: "sites",
                    caption: "counts.by_site",
                    rows: sites,
                },
                CountSection {
                    id: "unattributed",
                    caption: "counts.unattributed_title",
                    rows: vec![CountLine {
                        label: t.t("counts.unattributed").to_string(),
                        detail: String::new(),
                        cells: cells(&counts.unattributed),
                    }],
                },
            ],
        },
        StatusCode::OK,
        surface,
    )
}
