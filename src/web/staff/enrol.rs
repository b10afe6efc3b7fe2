//! The one-time enrolment link: the owner of a new account sets their own password and turns
//! two-factor on. Reached without a session; the link's token is the only credential.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::auth::totp_qr;
use crate::error::{AppError, ErrorKind, Surface};
use crate::i18n::{Catalog, Lang};
use crate::services::enrolment::{self, Completion, OpenLink};
use crate::web::middleware::rate_limit::RouteClass;
use crate::web::pages::{no_store, render, see_other};
use crate::web::{AppState, Visit};

#[derive(Template)]
#[template(path = "staff/enrol.html")]
struct EnrolPage {
    t: &'static Catalog,
    lang: Lang,
    /// `None`: the link is unknown, expired or used.
    link: Option<OpenLink>,
    qr_svg: String,
    problem: Option<&'static str>,
}

async fn enrol_page(
    state: &AppState,
    lang: Lang,
    token: &str,
    problem: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let surface = Surface::Page(lang);
    let issuer = &state.settings.staff.totp_issuer;
    let link = enrolment::open_link(&state.db, &state.keyring, token, issuer, state.now()).await?;
    let qr_svg = match &link {
        Some(link) => totp_qr(&link.totp_url, surface)?,
        None => String::new(),
    };
    let status = if link.is_some() {
        status
    } else {
        StatusCode::NOT_FOUND
    };
    let page = EnrolPage {
        t: lang.catalog(),
        lang,
        link,
        qr_svg,
        problem,
    };
    Ok(no_store(render(&page, status, surface)?, surface))
}

pub async fn enrol_form(visit: Visit, token: web::Path<String>) -> Result<HttpResponse, AppError> {
    enrol_page(&visit.state, visit.lang, &token, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct EnrolForm {
    password: Option<String>,
    password_again: Option<String>,
    code: Option<String>,
}

pub async fn enrol(
    visit: Visit,
    token: web::Path<String>,
    form: web::Form<EnrolForm>,
) -> Result<HttpResponse, AppError> {
    let (lang, state) = (visit.lang, &visit.state);
    if let Err(wait) = state.limiters.check(RouteClass::Login, visit.client()) {
        return Err(AppError::new(ErrorKind::RateLimited(wait), visit.page()));
    }
    let form = form.into_inner();
    let password = zeroize::Zeroizing::new(form.password.unwrap_or_default());
    let refused = StatusCode::UNPROCESSABLE_ENTITY;
    if form.password_again.as_deref() != Some(password.as_str()) {
        return enrol_page(state, lang, &token, Some("staff.enrol.mismatch"), refused).await;
    }
    let code = form.code.unwrap_or_default();
    let done = enrolment::complete(
        &state.db,
        &state.keyring,
        &token,
        &password,
        &code,
        state.now(),
    )
    .await;
    match done {
        Ok(Completion::Enrolled) => Ok(see_other(&format!("/staff/login?lang={}", lang.code()))),
        // The page finds the link dead too and answers 404.
        Ok(Completion::DeadLink) => enrol_page(state, lang, &token, None, refused).await,
        Err(crate::services::ServiceError::Invalid(key)) => {
            enrol_page(state, lang, &token, Some(key), refused).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The path the admin hands over, as a full address when the service knows its own.
pub(super) fn link_url(state: &AppState, path: &str) -> String {
    format!(
        "{}{path}",
        state.settings.server.base_url.trim_end_matches('/')
    )
}
