//! Checking a report's progress with its tracking code.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::error::{AppError, Surface};
use crate::i18n::{Catalog, Lang};
use crate::services::tracking::{Lookup, Replied};
use crate::web::lookup::{TrackAnswer, look_up, reply};
use crate::web::middleware::{Counted, counted};
use crate::web::pages::{no_store, render};
use crate::web::{Visit, lang_of};

#[derive(Debug, Deserialize)]
pub struct TrackForm {
    tracking_code: Option<String>,
}

#[derive(Template)]
#[template(path = "public/track.html")]
struct TrackPage {
    t: &'static Catalog,
    lang: Lang,
    progress: Option<TrackAnswer>,
    problem: Option<&'static str>,
    notice: Option<&'static str>,
    typed: String,
    /// The code again, as a hidden field of the reply form (only where a reply is possible).
    reply_code: String,
    reply_text: String,
}

pub async fn track_form(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let lang = lang_of(&req);
    let page = TrackPage {
        t: lang.catalog(),
        lang,
        progress: None,
        problem: None,
        notice: None,
        typed: String::new(),
        reply_code: String::new(),
        reply_text: String::new(),
    };
    let surface = Surface::Page(lang);
    render(&page, StatusCode::OK, surface).map(|r| no_store(r, surface))
}

pub async fn track_report(
    visit: Visit,
    form: web::Form<TrackForm>,
) -> Result<HttpResponse, AppError> {
    let (lang, t, surface) = (visit.lang, visit.t(), visit.page());
    let typed = form.into_inner().tracking_code.unwrap_or_default();
    let (status, progress, problem) = match look_up(&visit, &typed).await? {
        Lookup::Found(p) => (StatusCode::OK, Some(TrackAnswer::new(p, t)), None),
        Lookup::NotFound => (StatusCode::NOT_FOUND, None, Some(t.t("track.not_found"))),
        Lookup::CheckDigit => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(t.t("track.check_code")),
        ),
    };
    let reply_code = reply_code(&progress, &typed);
    let page = TrackPage {
        t,
        lang,
        progress,
        problem,
        notice: None,
        typed: if status == StatusCode::OK {
            String::new()
        } else {
            typed.chars().take(40).collect()
        },
        reply_code,
        reply_text: String::new(),
    };
    render(&page, status, surface).map(|r| no_store(r, surface))
}

#[derive(Debug, Deserialize)]
pub struct ReplyForm {
    tracking_code: Option<String>,
    text: Option<String>,
}

/// A reporter answers the inspectors' question from the status page.
pub async fn reply_report(
    visit: Visit,
    form: web::Form<ReplyForm>,
) -> Result<HttpResponse, AppError> {
    let (lang, t, surface) = (visit.lang, visit.t(), visit.page());
    let form = form.into_inner();
    let typed = form.tracking_code.unwrap_or_default();
    let text = form.text.unwrap_or_default();
    let (status, progress, problem, notice, kept) = match reply(&visit, &typed, &text).await? {
        Replied::Stored(p) => (StatusCode::OK, Some(p), None, Some("track.reply_sent"), ""),
        Replied::NotFound => (
            StatusCode::NOT_FOUND,
            None,
            Some("track.not_found"),
            None,
            "",
        ),
        Replied::CheckDigit => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("track.check_code"),
            None,
            "",
        ),
        Replied::NotAllowed(p) => (
            StatusCode::CONFLICT,
            Some(p),
            Some("track.reply_not_allowed"),
            None,
            text.as_str(),
        ),
        Replied::Invalid(key, p) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(p),
            Some(key),
            None,
            text.as_str(),
        ),
    };
    let progress = progress.map(|p| TrackAnswer::new(p, t));
    let reply_code = reply_code(&progress, &typed);
    let page = TrackPage {
        t,
        lang,
        progress,
        problem: problem.map(|key| t.t(key)),
        notice: notice.map(|key| t.t(key)),
        typed: String::new(),
        reply_code,
        reply_text: kept.to_string(),
    };
    // Only a stored answer is answered with 200.
    render(&page, status, surface).map(|r| match status {
        StatusCode::OK => counted(no_store(r, surface), Counted::Reply),
        _ => no_store(r, surface),
    })
}

/// The code again, as a hidden field of the reply form, only where a reply is possible.
fn reply_code(progress: &Option<TrackAnswer>, typed: &str) -> String {
    match progress {
        Some(p) if p.can_reply => typed.chars().filter(char::is_ascii_digit).collect(),
        _ => String::new(),
    }
}
