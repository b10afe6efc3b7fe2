//! What every HTML page shares: rendering a template, the no-store header, the redirect after
//! a form, times as the office reads them, village names, and the choices of a select list.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use askama::Template;
use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;

use crate::domain::{Village, Villages};
use crate::error::{AppError, Surface};
use crate::i18n::{Catalog, Lang};

/// Renders a page, or a generic 500 page if the template fails.
pub fn render(
    template: &impl Template,
    status: StatusCode,
    surface: Surface,
) -> Result<HttpResponse, AppError> {
    let html = template
        .render()
        .map_err(|e| AppError::internal(e, surface))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// What shows a tracking code or a case's progress is never cached: pages say so to shared
/// caches too (`private`), API answers as the public contract names it.
pub fn no_store(mut response: HttpResponse, surface: Surface) -> HttpResponse {
    let value = match surface {
        Surface::Page(_) => "no-store, private",
        Surface::Api(_) => "no-store",
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    response
}

/// 303 See Other: where a form that changed something sends the browser (POST-redirect-GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A time as staff in the office read it: Asia/Shanghai, to the minute.
pub fn local_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Shanghai)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The time of day alone, Asia/Shanghai, to the minute: for a second time on a day already
/// shown.
pub fn clock_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Shanghai).format("%H:%M").to_string()
}

/// A time shown as its day alone when that is all that may be known of it (what an anonymous
/// reporter did), otherwise to the minute.
pub fn shown_time(at: DateTime<Utc>, day_only: bool) -> String {
    if day_only {
        crate::domain::local_day(at).to_string()
    } else {
        local_time(at)
    }
}

fn name_in(village: &Village, lang: Lang) -> &str {
    match lang {
        Lang::Zh => &village.zh,
        Lang::En => &village.en,
    }
}

/// A configured village's name in `lang`.
pub fn village_name<'a>(villages: &'a Villages, lang: Lang, id: &str) -> Option<&'a str> {
    villages.get(id).map(|v| name_in(v, lang))
}

/// Every configured village as a choice, named in `lang`.
pub fn village_choices(villages: &Villages, lang: Lang, current: Option<&str>) -> Vec<Choice> {
    villages
        .all()
        .iter()
        .map(|v| Choice::new(&v.id, name_in(v, lang), current))
        .collect()
}

/// One option of a select list.
pub struct Choice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn new(code: &str, label: &str, current: Option<&str>) -> Choice {
        Choice {
            code: code.to_string(),
            label: label.to_string(),
            selected: current == Some(code),
        }
    }

    /// One choice per code, each labelled by the catalog entry `{group}.{code}`.
    pub fn labelled<'a>(
        t: &Catalog,
        group: &str,
        codes: impl IntoIterator<Item = &'a str>,
        current: Option<&str>,
    ) -> Vec<Choice> {
        codes
            .into_iter()
            .map(|code| Choice::new(code, t.label(group, code), current))
            .collect()
    }
}
