//! The staff side: one table of routes with the roles each allows, and the guard that
//! enforces sign-in, roles and CSRF for every one of them.

mod admin;
mod attachments;
mod auth;
mod campaign;
mod cases;
pub(crate) mod confirm;
mod desk;
mod enrol;
mod intake;
mod ledger;
mod quarantine;
mod register;
mod relatives;
mod sheet;
mod sites;
mod statistics;
mod summary;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpMessage, web};
use futures_util::StreamExt;

use super::{AppState, lang_of};
use crate::domain::Role;
use crate::error::{AppError, ErrorKind, Surface};
use crate::services::staff::{SessionLimits, SessionUser};

pub use auth::LoginThrottle;
use desk::{Desk, Refused, StaffPage, path_id, refusal, staff_template};

pub const SESSION_COOKIE: &str = "tipoff_staff";

/// A staff route and the roles allowed on it (empty: any signed-in account).
#[derive(Debug, Clone, Copy)]
pub struct StaffRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub roles: &'static [Role],
}

/// Declares every guarded staff route once: the same list registers the handlers and is
/// what the route/role tests walk, so a new route cannot escape them.
macro_rules! staff_routes {
    ($( $method:ident $path:literal [$($role:ident),*] => $handler:path ;)*) => {
        pub const STAFF_ROUTES: &[StaffRoute] = &[
            $( StaffRoute {
                method: stringify!($method),
                path: $path,
                roles: &[$(Role::$role),*],
            }, )*
        ];

        pub fn register(cfg: &mut web::ServiceConfig) {
            // Before a session exists: signing in, and the one-time enrolment link.
            cfg.route("/staff/login", web::get().to(auth::login_form))
                .route("/staff/login", web::post().to(auth::login))
                .route("/staff/enrol/{token}", web::get().to(enrol::enrol_form))
                .route("/staff/enrol/{token}", web::post().to(enrol::enrol));
            $(
                cfg.route(
                    $path,
                    web::$method().to($handler).wrap(from_fn(
                        |req: ServiceRequest, next: Next<actix_web::body::BoxBody>| {
                            guard(&[$(Role::$role),*], req, next)
                        },
                    )),
                );
            )*
        }
    };
}

staff_routes! {
    get "/staff" [] => auth::home;
    post "/staff/logout" [] => auth::logout;
    get "/staff/totp" [] => auth::totp_form;
    post "/staff/totp" [] => auth::totp_confirm;
    get "/staff/intake" [Operator] => intake::intake_form;
    post "/staff/intake" [Operator] => intake::submit_intake;
    get "/staff/cases" [Inspector, Operator, Bureau, Verifier] => cases::list_cases;
    get "/staff/cases/ledger.xlsx" [Inspector] => ledger::ledger_xlsx;
    get "/staff/cases/ledger.csv" [Inspector] => ledger::ledger_csv;
    get "/staff/cases/{id}" [Inspector, Bureau, Verifier] => cases::show_case;
    post "/staff/cases/{id}/status" [Inspector] => cases::act::<cases::ChangeStatus>;
    post "/staff/cases/{id}/assign" [Inspector] => cases::act::<cases::AssignCase>;
    post "/staff/cases/{id}/notes" [Inspector, Bureau, Verifier] => cases::act::<cases::AddNote>;
    post "/staff/cases/{id}/instructions" [Bureau, Verifier] => cases::act::<cases::Instruct>;
    post "/staff/cases/{id}/messages" [Inspector] => cases::act::<cases::AskReporter>;
    post "/staff/cases/{id}/events" [Inspector] => cases::act::<cases::RecordEvent>;
    post "/staff/cases/{id}/recusals" [Inspector] => cases::act::<cases::Recuse>;
    post "/staff/cases/{id}/escalate" [Inspector] => cases::act::<cases::EscalateCase>;
    post "/staff/cases/{id}/rectification" [Inspector] => cases::act::<cases::AddMeasure>;
    post "/staff/cases/{id}/rectification/results" [Inspector] => cases::act::<cases::RecordResult>;
    post "/staff/cases/{id}/rectification/done" [Inspector] => cases::act::<cases::CompleteMeasure>;
    get "/staff/quarantine" [Inspector] => quarantine::review;
    post "/staff/quarantine" [Inspector] => quarantine::decide;
    get "/staff/cases/{id}/attachments/{n}" [Inspector] => attachments::download_attachment;
    get "/staff/cases/{id}/attachments/{n}/preview" [Inspector] => attachments::preview_attachment;
    get "/staff/admin/users" [Admin] => admin::list_users;
    post "/staff/admin/users" [Admin] => admin::create_user;
    post "/staff/admin/users/{username}/disable" [Admin] => admin::disable_user;
    post "/staff/admin/users/{username}/enable" [Admin] => admin::enable_user;
    post "/staff/admin/users/{username}/enrolment" [Admin] => admin::reissue_link;
    get "/staff/admin/users/{username}" [Admin] => admin::show_account;
    post "/staff/admin/users/{username}/name" [Admin] => admin::rename_user;
    post "/staff/admin/users/{username}/roles" [Admin] => admin::set_roles;
    post "/staff/admin/users/{username}/aliases" [Admin] => admin::add_alias;
    post "/staff/admin/users/{username}/aliases/remove" [Admin] => admin::remove_alias;
    get "/staff/admin/relatives" [Admin] => relatives::list_relatives;
    post "/staff/admin/relatives" [Admin] => relatives::file_relative;
    post "/staff/admin/relatives/{id}/remove" [Admin] => relatives::remove_relative;
    get "/staff/relatives" [Inspector] => register::show_register;
    post "/staff/relatives/{id}/visits" [Inspector] => register::record_visit;
    get "/staff/relatives/unvisited.xlsx" [Inspector] => register::unvisited_xlsx;
    get "/staff/relatives/unvisited.csv" [Inspector] => register::unvisited_csv;
    get "/staff/admin/mail" [Admin] => admin::list_failed_mail;
    post "/staff/admin/mail/{id}/retry" [Admin] => admin::retry_mail;
    get "/staff/sites" [Admin] => sites::list_sites;
    post "/staff/sites" [Admin] => sites::create_site;
    post "/staff/sites/{id}/disable" [Admin] => sites::disable_site;
    get "/staff/sites/{id}/qr.svg" [Admin] => sites::site_qr_svg;
    get "/staff/sites/{id}/qr.png" [Admin] => sites::site_qr_png;
    get "/staff/sites/{id}/notice" [Admin] => sites::site_notice;
    get "/staff/counts" [Admin, Inspector] => sites::show_counts;
    get "/staff/statistics" [Inspector] => statistics::show_statistics;
    get "/staff/campaign" [Inspector] => campaign::show_campaign;
    post "/staff/campaign" [Inspector] => campaign::move_milestone;
    get "/staff/summary" [Inspector] => summary::show_summary;
    post "/staff/summary" [Inspector] => summary::save_summary;
    get "/staff/summary.xlsx" [Inspector] => summary::summary_xlsx;
}

/// How many notifications have failed, counted by the guard for the staff who see the banner.
#[derive(Debug, Clone, Copy)]
struct FailedMail(u64);

/// Who is told on every page that mail failed: the admins who can send it again, and the
/// inspectors who would otherwise wait for a notice that never comes.
fn sees_mail_alarm(user: &SessionUser) -> bool {
    user.has(Role::Admin) || user.has(Role::Inspector)
}

fn session_limits(state: &AppState) -> SessionLimits {
    SessionLimits {
        idle: chrono::Duration::minutes(state.settings.staff.session_idle_minutes),
        absolute: chrono::Duration::hours(state.settings.staff.session_absolute_hours),
    }
}

/// The most of a multipart body read to find its leading CSRF field.
const CSRF_PREFIX_MAX: usize = 8 * 1024;

/// The CSRF field at the start of a multipart body. The bytes read to find it are put back in
/// front of the rest, so the handler streams the whole body as sent.
async fn leading_csrf(req: &mut ServiceRequest) -> Result<Option<String>, actix_web::Error> {
    use crate::web::multipart::{Leading, leading_field};
    let boundary = req
        .mime_type()
        .ok()
        .flatten()
        .and_then(|m| m.get_param("boundary").map(|b| b.as_str().to_string()));
    let mut payload = req.take_payload();
    let mut prefix = web::BytesMut::new();
    let mut found = None;
    if let Some(boundary) = boundary {
        while prefix.len() <= CSRF_PREFIX_MAX {
            match leading_field(&prefix, &boundary, "csrf") {
                Leading::Value(token) => {
                    found = Some(token);
                    break;
                }
                Leading::Absent => break,
                Leading::NeedMore => match payload.next().await {
                    Some(chunk) => prefix.extend_from_slice(&chunk?),
                    None => break,
                },
            }
        }
    }
    let head = futures_util::stream::once(std::future::ready(Ok(prefix.freeze())));
    let body: actix_http::BoxedPayloadStream = Box::pin(head.chain(payload));
    req.set_payload(actix_web::dev::Payload::from(body));
    Ok(found)
}

/// Sign-in, then enrolment where required, then roles, then CSRF on anything that changes
/// state. Staff responses are never cached.
async fn guard(
    roles: &'static [Role],
    mut req: ServiceRequest,
    next: Next<actix_web::body::BoxBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let surface = Surface::Page(lang_of(req.request()));
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("application state missing", surface))?;
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Err(AppError::new(ErrorKind::SignIn, surface).into());
    };
    let user = crate::services::staff::session_user(
        &state.db,
        cookie.value(),
        session_limits(&state),
        state.now(),
    )
    .await
    .map_err(|e| AppError::internal(e, surface))?
    .ok_or_else(|| AppError::new(ErrorKind::SignIn, surface))?;

    let path = req.match_pattern().unwrap_or_default();
    let must_enrol = state.settings.staff.require_totp
        && !user.totp_enrolled
        && (user.has(Role::Inspector) || user.has(Role::Admin))
        && path != "/staff/totp"
        && path != "/staff/logout";
    if must_enrol {
        let response = actix_web::HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/staff/totp"))
            .finish();
        return Ok(req.into_response(response).map_into_boxed_body());
    }
    if !roles.is_empty() && !roles.iter().any(|role| user.has(*role)) {
        return Err(AppError::new(ErrorKind::Forbidden, surface).into());
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let presented = if crate::web::multipart::is_multipart(req.headers()) {
            // A form with files is never buffered whole: its CSRF field (first in every staff
            // form) is read from the first bytes and the body handed on untouched.
            leading_csrf(&mut req).await?
        } else {
            let limit = state.settings.server.body_limit;
            let mut payload = req.take_payload();
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk?;
                if body.len() + chunk.len() > limit {
                    return Err(AppError::new(ErrorKind::TooLarge, surface).into());
                }
                body.extend_from_slice(&chunk);
            }
            let body = body.freeze();
            let from_body = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
            req.set_payload(actix_web::dev::Payload::from(body));
            from_body
        };
        let presented = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or(presented);
        if !presented.is_some_and(|token| state.keyring.csrf_matches(&user.session_id, &token)) {
            return Err(AppError::new(ErrorKind::CsrfRejected, surface).into());
        }
    }
    if sees_mail_alarm(&user) {
        let failed = crate::services::outbox::failed_count(&state.db)
            .await
            .map_err(|e| AppError::internal(e, surface))?;
        req.extensions_mut().insert(FailedMail(failed));
    }
    req.extensions_mut().insert(user);
    let mut response = next.call(req).await?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response.map_into_boxed_body())
}
