//! The resident's pages: the notice, the report form, the receipt and progress tracking.

mod report;
mod results;
mod track;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::pages::render;
use super::{AppState, lang_of};
use crate::domain::Category;
use crate::error::{AppError, Surface};
use crate::i18n::{Catalog, Lang};

pub use report::{
    ReportForm, form_error, report_form, report_form_for_site, submit_report,
    submit_report_with_files,
};
pub use results::show_results;
pub use track::{reply_report, track_form, track_report};

#[derive(Template)]
#[template(path = "public/home.html")]
struct HomePage<'a> {
    t: &'static Catalog,
    lang: Lang,
    title: &'a str,
    office: &'a str,
    notice: &'a str,
    hotline: &'a str,
    categories: Vec<&'static str>,
}

pub async fn home(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req);
    let t = lang.catalog();
    let campaign = &state.settings.campaign;
    let (title, office, notice) = match lang {
        Lang::Zh => (&campaign.title_zh, &campaign.office_zh, &campaign.notice_zh),
        Lang::En => (&campaign.title_en, &campaign.office_en, &campaign.notice_en),
    };
    let page = HomePage {
        t,
        lang,
        title,
        office,
        notice,
        hotline: &campaign.hotline,
        categories: Category::ALL
            .iter()
            .map(|c| t.label("category", c.code()))
            .collect(),
    };
    render(&page, actix_web::http::StatusCode::OK, Surface::Page(lang))
}

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let surface = if req.path().starts_with("/api/") {
        super::api(&req)
    } else {
        super::page(&req)
    };
    Err(AppError::new(crate::error::ErrorKind::NotFound, surface))
}

/// The stylesheets (site and printable notice) and the optional print script, compiled in.
pub async fn static_file(path: web::Path<String>) -> HttpResponse {
    let (body, content_type) = match path.as_str() {
        "style.css" => (
            include_str!("../../../public/style.css"),
            "text/css; charset=utf-8",
        ),
        "notice.css" => (
            include_str!("../../../public/notice.css"),
            "text/css; charset=utf-8",
        ),
        "print.js" => (
            include_str!("../../../public/print.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(body)
}
