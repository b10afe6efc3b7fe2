//! What every HTML page shares: rendering a template, the no-store header, and the choices
//! of a select list.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use askama::Template;

use crate::error::{AppError, Surface};

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
}
