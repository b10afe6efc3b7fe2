//! Signing in and out, the staff home, and TOTP enrolment.

use std::net::IpAddr;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Desk, Refused, SESSION_COOKIE, StaffPage, staff_template};
use crate::domain::Role;
use crate::error::{AppError, ErrorKind, Surface};
use crate::i18n::{Catalog, Lang};
use crate::services::staff::{self, LoginOutcome};
use crate::web::middleware::backoff::{Backoff, client_key};
use crate::web::middleware::rate_limit::RouteClass;
use crate::web::pages::{render, see_other};
use crate::web::{AppState, Visit};

staff_template!(TotpPage);

/// Slows sign-in per (client, account) after repeated failures; never locks an account.
pub struct LoginThrottle(Backoff<(IpAddr, String)>);

impl Default for LoginThrottle {
    fn default() -> LoginThrottle {
        // Three free tries, then 4 s, doubling up to five minutes.
        LoginThrottle(Backoff::new(3, 4, 300))
    }
}

impl LoginThrottle {
    fn key(client: Option<IpAddr>, username: &str) -> (IpAddr, String) {
        (client_key(client), username.trim().to_lowercase())
    }

    pub fn wait(&self, client: Option<IpAddr>, username: &str, now: DateTime<Utc>) -> i64 {
        self.0.wait(&Self::key(client, username), now)
    }

    pub fn failed(&self, client: Option<IpAddr>, username: &str, now: DateTime<Utc>) {
        self.0.failed(Self::key(client, username), now);
    }

    pub fn succeeded(&self, client: Option<IpAddr>, username: &str) {
        self.0.succeeded(&Self::key(client, username));
    }

    /// Forgets the clients (staff addresses) whose failures can no longer slow them.
    pub fn forget_idle(&self, now: DateTime<Utc>) {
        self.0.forget_idle(now);
    }

    /// How many (client, account) pairs are remembered.
    pub fn remembered(&self) -> usize {
        self.0.len()
    }
}

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginPage {
    t: &'static Catalog,
    lang: Lang,
    form_token: String,
    username: String,
    problem: Option<String>,
}

fn login_page(
    state: &AppState,
    lang: Lang,
    username: String,
    problem: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let page = LoginPage {
        t: lang.catalog(),
        lang,
        form_token: state.keyring.issue_form_token(state.now().timestamp()),
        username,
        problem,
    };
    let mut response = render(&page, status, Surface::Page(lang))?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

pub async fn login_form(visit: Visit) -> Result<HttpResponse, AppError> {
    login_page(
        &visit.state,
        visit.lang,
        String::new(),
        None,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: Option<String>,
    password: Option<String>,
    totp: Option<String>,
    form_token: Option<String>,
}

pub async fn login(visit: Visit, form: web::Form<LoginForm>) -> Result<HttpResponse, AppError> {
    let (lang, t, surface, state) = (visit.lang, visit.t(), visit.page(), &visit.state);
    let form = form.into_inner();
    let username = form.username.unwrap_or_default().trim().to_string();
    let now = state.now();
    let client = visit.client();

    let token_ok = form.form_token.as_deref().is_some_and(|token| {
        state
            .keyring
            .verify_form_token(
                token,
                now.timestamp(),
                state.settings.limits.form_token_max_age,
            )
            .is_ok()
    });
    if !token_ok {
        let problem = Some(t.t("page.csrf").to_string());
        return login_page(state, lang, username, problem, StatusCode::FORBIDDEN);
    }
    if let Err(wait) = state.limiters.check(RouteClass::Login, client) {
        return Err(AppError::new(ErrorKind::RateLimited(wait), surface));
    }
    let wait = state.login_throttle.wait(client, &username, now);
    if wait > 0 {
        let problem = t
            .t("staff.login_wait")
            .replace("{seconds}", &wait.to_string());
        let mut response = login_page(
            state,
            lang,
            username,
            Some(problem),
            StatusCode::TOO_MANY_REQUESTS,
        )?;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
        return Ok(response);
    }

    let outcome = staff::login(
        &state.db,
        &state.keyring,
        &username,
        form.password.as_deref().unwrap_or(""),
        form.totp.as_deref().filter(|c| !c.trim().is_empty()),
        now,
    )
    .await?;
    match outcome {
        LoginOutcome::Refused => {
            state.login_throttle.failed(client, &username, now);
            let problem = Some(t.t("staff.login_refused").to_string());
            login_page(state, lang, username, problem, StatusCode::UNAUTHORIZED)
        }
        LoginOutcome::SignedIn { session_id, .. } => {
            state.login_throttle.succeeded(client, &username);
            let cookie = Cookie::build(SESSION_COOKIE, session_id)
                .path("/staff")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(state.settings.staff.secure_cookie)
                .finish();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/staff?lang={}", lang.code())))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .cookie(cookie)
                .finish())
        }
    }
}

pub async fn logout(desk: Desk) -> Result<HttpResponse, AppError> {
    let state = &desk.state;
    staff::logout(&state.db, &state.keyring, &desk.user, state.now()).await?;
    let mut gone = Cookie::build(SESSION_COOKIE, "").path("/staff").finish();
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/staff/login?lang={}", desk.lang.code()),
        ))
        .cookie(gone)
        .finish())
}

/// Where a signed-in account starts: the case list for inspectors and the bureau, entry for
/// operators.
pub async fn home(desk: Desk) -> HttpResponse {
    let user = &desk.user;
    let lang = desk.lang.code();
    let target = if user.has(Role::Inspector) || user.has(Role::Bureau) || user.has(Role::Verifier)
    {
        format!("/staff/cases?lang={lang}")
    } else if user.has(Role::Operator) {
        format!("/staff/intake?lang={lang}")
    } else if user.has(Role::Admin) {
        format!("/staff/admin/users?lang={lang}")
    } else {
        format!("/staff/totp?lang={lang}")
    };
    see_other(&target)
}

#[derive(Template)]
#[template(path = "staff/totp.html")]
struct TotpPage {
    frame: StaffPage,
    enrolled: bool,
    qr_svg: String,
    url: String,
    problem: Option<&'static str>,
}

async fn totp_page(desk: &Desk, refused: Option<Refused>) -> Result<HttpResponse, AppError> {
    let frame = desk.page();
    let state = &desk.state;
    let issuer = &state.settings.staff.totp_issuer;
    let url = staff::begin_totp(&state.db, &state.keyring, desk.user.user_id, issuer).await?;
    let (qr_svg, url) = match url {
        Some(url) => (totp_qr(&url, desk.surface())?, url.to_string()),
        None => (String::new(), String::new()),
    };
    let page = TotpPage {
        frame,
        enrolled: url.is_empty(),
        qr_svg,
        url,
        problem: refused.map(|r| r.reason),
    };
    desk.render_form(&page, refused)
}

/// The otpauth:// URL as a QR code for an authenticator app to scan.
pub(super) fn totp_qr(url: &str, surface: Surface) -> Result<String, AppError> {
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::internal(e, surface))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build())
}

pub async fn totp_form(desk: Desk) -> Result<HttpResponse, AppError> {
    totp_page(&desk, None).await
}

#[derive(Deserialize)]
pub struct TotpForm {
    code: Option<String>,
}

pub async fn totp_confirm(desk: Desk, form: web::Form<TotpForm>) -> Result<HttpResponse, AppError> {
    let code = form.into_inner().code.unwrap_or_default();
    let state = &desk.state;
    let me = desk.user.user_id;
    if staff::confirm_totp(&state.db, &state.keyring, me, &code, state.now()).await? {
        Ok(see_other("/staff"))
    } else {
        let wrong = Refused::invalid("staff.totp_wrong");
        totp_page(&desk, Some(wrong)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_wait_is_per_client_and_account_however_typed() {
        let throttle = LoginThrottle::default();
        let client = Some(IpAddr::from([192, 0, 2, 1]));
        let t0 = chrono::Utc::now();
        for _ in 0..3 {
            throttle.failed(client, "insp", t0);
        }
        assert_eq!(throttle.wait(client, "INSP ", t0), 4);
        assert_eq!(
            throttle.wait(Some(IpAddr::from([192, 0, 2, 2])), "insp", t0),
            0
        );
        assert_eq!(throttle.wait(client, "other", t0), 0);
    }
}
