//! Posting sites for admins (list, add, disable, QR downloads, the printable notice) and the
//! report counts that admins and inspectors see.

use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::{Desk, Refused, StaffPage, path_id, refusal, staff_template};
use crate::domain::{Category, SiteKind};
use crate::error::{AppError, ErrorKind};
use crate::i18n::{Catalog, Lang};
use crate::qr::{self, QrError};
use crate::services::sites::{self, CountRow, CountRules, NewSite, Shown, Site};
use crate::web::AppState;
use crate::web::pages::{Choice, village_choices, village_name};

staff_template!(SitesPage, CountsPage);

/// A village's name in the page's language, or its id if the configuration no longer has it.
fn village_label(state: &AppState, lang: Lang, id: Option<&str>) -> String {
    id.map(|id| village_name(&state.villages, lang, id).unwrap_or(id))
        .unwrap_or_default()
        .to_string()
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
    frame: StaffPage,
    sites: Vec<SiteLine>,
    kinds: Vec<Choice>,
    villages: Vec<Choice>,
    name: String,
    notice: Option<String>,
    problem: Option<&'static str>,
}

/// What the add form had, so a refused one comes back as typed.
#[derive(Debug, Default, Deserialize)]
pub struct NewSiteForm {
    kind: Option<String>,
    name: Option<String>,
    village: Option<String>,
}

/// The sites page: the list, and the add form as `typed` with the notice or problem of what
/// was just done.
async fn sites_page(
    desk: &Desk,
    typed: NewSiteForm,
    notice: Option<String>,
    refused: Option<Refused>,
) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let state = &desk.state;
    let base_url = &state.settings.server.base_url;
    let sites = sites::list_sites(&state.db)
        .await?
        .into_iter()
        .map(|site| SiteLine {
            id: site.id,
            kind: t.label("site_kind", site.kind.code()),
            village: village_label(state, desk.lang, site.village.as_deref()),
            url: site.url(base_url),
            name: site.name,
            enabled: site.enabled,
        })
        .collect();
    let kinds = SiteKind::ALL.iter().map(|k| k.code());
    let kinds = Choice::labelled(t, "site_kind", kinds, typed.kind.as_deref());
    let villages = village_choices(&state.villages, desk.lang, typed.village.as_deref());
    let page = SitesPage {
        frame: desk.page(),
        sites,
        kinds,
        villages,
        name: typed.name.unwrap_or_default(),
        notice,
        problem: refused.map(|r| t.t(r.reason)),
    };
    desk.render_form(&page, refused)
}

/// The sites page after a change, with what was done.
async fn sites_done(desk: &Desk, notice: String) -> Result<HttpResponse, AppError> {
    let blank = NewSiteForm::default();
    sites_page(desk, blank, Some(notice), None).await
}

/// The sites page with the add form as typed and why it was refused.
async fn sites_refused(
    desk: &Desk,
    typed: NewSiteForm,
    key: &'static str,
) -> Result<HttpResponse, AppError> {
    sites_page(desk, typed, None, Some(Refused::invalid(key))).await
}

pub async fn list_sites(desk: Desk) -> Result<HttpResponse, AppError> {
    sites_page(&desk, NewSiteForm::default(), None, None).await
}

pub async fn create_site(
    desk: Desk,
    form: web::Form<NewSiteForm>,
) -> Result<HttpResponse, AppError> {
    let typed = form.into_inner();
    let Some(kind) = typed.kind.as_deref().and_then(SiteKind::parse) else {
        return sites_refused(&desk, typed, "staff.sites.bad_kind").await;
    };
    let new = NewSite {
        kind,
        name: typed.name.clone().unwrap_or_default(),
        village: typed.village.clone(),
    };
    let state = &desk.state;
    let by = Some(desk.user.user_id);
    match sites::create_site(
        &state.db,
        &state.keyring,
        &state.villages,
        new,
        by,
        state.now(),
    )
    .await
    {
        Ok(site) => {
            let notice = desk
                .t()
                .t("staff.sites.created")
                .replace("{name}", &site.name);
            sites_done(&desk, notice).await
        }
        Err(e) => sites_refused(&desk, typed, refusal(e)?).await,
    }
}

pub async fn disable_site(desk: Desk, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = path_id(&id)?;
    let state = &desk.state;
    let by = Some(desk.user.user_id);
    let site = sites::disable_site(&state.db, &state.keyring, id, by, state.now()).await?;
    let notice = desk
        .t()
        .t("staff.sites.disabled_notice")
        .replace("{name}", &site.name);
    sites_done(&desk, notice).await
}

async fn site_or_404(state: &AppState, id: &str) -> Result<Site, AppError> {
    sites::find_site(&state.db, path_id(id)?)
        .await?
        .ok_or_else(|| AppError::bare(ErrorKind::NotFound))
}

fn qr_failed(e: QrError) -> AppError {
    AppError::bare(ErrorKind::Internal(e.to_string()))
}

/// A site's QR code as a file to download, named as `tipoff site qr` names it.
fn download(site: &Site, body: Vec<u8>, content_type: &'static str, ext: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.{ext}\"", site.file_stem()),
        ))
        .body(body)
}

pub async fn site_qr_svg(desk: Desk, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let site = site_or_404(&desk.state, &id).await?;
    let svg = qr::svg(&site.url(&desk.state.settings.server.base_url)).map_err(qr_failed)?;
    Ok(download(&site, svg.into_bytes(), "image/svg+xml", "svg"))
}

pub async fn site_qr_png(desk: Desk, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let site = site_or_404(&desk.state, &id).await?;
    let png = qr::png(&site.url(&desk.state.settings.server.base_url)).map_err(qr_failed)?;
    Ok(download(&site, png, "image/png", "png"))
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
    period: String,
    report_box: &'a str,
}

/// The A4 notice for one site: the campaign's text, the categories in plain words, the site's
/// QR code and address, the hotline and the promise that anonymous reports are protected.
pub async fn site_notice(desk: Desk, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (state, lang, t) = (&desk.state, desk.lang, desk.t());
    let site = site_or_404(state, &id).await?;
    let campaign = &state.settings.campaign;
    let (title, office, notice) = match lang {
        Lang::Zh => (&campaign.title_zh, &campaign.office_zh, &campaign.notice_zh),
        Lang::En => (&campaign.title_en, &campaign.office_en, &campaign.notice_en),
    };
    let site_url = site.url(&state.settings.server.base_url);
    let qr_svg = qr::svg_inline(&site_url).map_err(qr_failed)?;
    // The notice carries the day it was issued, not the day it was printed.
    let day = |on: chrono::NaiveDate| {
        let mut text = String::new();
        if write!(text, "{}", on.format(t.t("notice.date_format"))).is_err() {
            text = on.to_string();
        }
        text
    };
    let date = day(campaign.issued_on);
    let period = t
        .t("notice.period")
        .replace("{start}", &day(campaign.start))
        .replace("{end}", &day(campaign.end));
    let report_box = match lang {
        Lang::Zh => &campaign.report_box_zh,
        Lang::En => &campaign.report_box_en,
    };
    let village = village_label(state, lang, site.village.as_deref());
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
        period,
        report_box,
    };
    desk.render(&page, StatusCode::OK)
}

/// A row of the counts tables, ready to show.
struct CountLine {
    label: String,
    detail: String,
    cells: Vec<String>,
}

/// One line per row, labelled (and detailed) by `label`.
fn count_lines<K>(
    rows: &[CountRow<K>],
    line: impl Fn((String, String), &[Shown; 3]) -> CountLine,
    label: impl Fn(&K) -> (String, String),
) -> Vec<CountLine> {
    rows.iter()
        .map(|row| line(label(&row.key), &row.counts))
        .collect()
}

struct PeriodHead {
    label: &'static str,
    range: String,
}

#[derive(Template)]
#[template(path = "staff/counts.html")]
struct CountsPage {
    frame: StaffPage,
    min_shown: u32,
    periods: Vec<PeriodHead>,
    sections: Vec<CountSection>,
}

struct CountSection {
    id: &'static str,
    caption: &'static str,
    /// What the rows' own headers name (the column above them, for screen readers).
    rows_head: &'static str,
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

pub async fn show_counts(desk: Desk) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let state = &desk.state;
    let rules = CountRules {
        min_shown: state.settings.counts.min_shown,
        campaign_start: state.settings.campaign.start,
        campaign_end: state.settings.campaign.end,
    };
    let counts = sites::counts(&state.db, &rules, state.now()).await?;
    let line = |(label, detail): (String, String), row: &[Shown; 3]| CountLine {
        label,
        detail,
        cells: row.iter().map(|s| shown_text(t, *s)).collect(),
    };
    let periods = counts
        .periods
        .iter()
        .map(|span| PeriodHead {
            label: t.label("counts.period", span.period.code()),
            range: format!("{} – {}", span.first, span.last),
        })
        .collect();
    let kinds = count_lines(&counts.kinds, line, |kind| {
        (t.label("site_kind", kind.code()).to_string(), String::new())
    });
    let villages = count_lines(&counts.villages, line, |village| {
        (
            village_label(state, desk.lang, Some(village.as_str())),
            String::new(),
        )
    });
    let sites = count_lines(&counts.sites, line, |site| {
        let mut detail = t.label("site_kind", site.kind.code()).to_string();
        let village = village_label(state, desk.lang, site.village.as_deref());
        if !village.is_empty() {
            detail.push_str(" · ");
            detail.push_str(&village);
        }
        if !site.enabled {
            detail.push_str(" · ");
            detail.push_str(t.t("staff.sites.disabled"));
        }
        (site.name.clone(), detail)
    });
    let unattributed = line(
        (t.t("counts.unattributed").to_string(), String::new()),
        &counts.unattributed,
    );
    let section = |id, caption, rows_head, rows| CountSection {
        id,
        caption,
        rows_head,
        rows,
    };
    desk.render(
        &CountsPage {
            frame: desk.page(),
            min_shown: counts.min_shown,
            periods,
            sections: vec![
                section("kinds", "counts.by_kind", "counts.rows.kinds", kinds),
                section(
                    "villages",
                    "counts.by_village",
                    "counts.rows.villages",
                    villages,
                ),
                section("sites", "counts.by_site", "counts.rows.sites", sites),
                section(
                    "unattributed",
                    "counts.unattributed_title",
                    "counts.rows.unattributed",
                    vec![unattributed],
                ),
            ],
        },
        StatusCode::OK,
    )
}
