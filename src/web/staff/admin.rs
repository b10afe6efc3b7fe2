//! Admin pages: accounts, close-relative filings and failed mail. Admins see no report content.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{Nav, StaffPage};
use crate::domain::Role;
use crate::error::{AppError, ErrorKind, Surface};
use crate::i18n::{Catalog, Lang};
use crate::services::access::Viewer;
use crate::services::staff::{self, NewUser, SessionUser, UserSummary};
use crate::services::{ServiceError, outbox, recusal};
use crate::web::AppState;
use crate::web::pages::render;
use uuid::Uuid;

#[derive(Template)]
#[template(path = "staff/users.html")]
struct UsersPage {
    t: &'static Catalog,
    lang: Lang,
    nav: Nav,
    users: Vec<UserSummary>,
    notice: Option<String>,
    problem: Option<String>,
}

impl UsersPage {
    fn roles_of(&self, user: &UserSummary) -> String {
        user.roles
            .iter()
            .map(|r| self.t.label("staff.role", r.code()))
            .collect::<Vec<_>>()
            .join("、")
    }
}

async fn users_page(
    req: &HttpRequest,
    state: &AppState,
    user: &SessionUser,
    notice: Option<String>,
    problem: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let StaffPage { t, lang, nav } = StaffPage::new(req, user, state);
    let surface = Surface::Page(lang);
    let users = staff::list_users(&state.db)
        .await
        .map_err(|e| AppError::internal(e, surface))?;
    render(
        &UsersPage {
            t,
            lang,
            nav,
            users,
            notice,
            problem,
        },
        status,
        surface,
    )
}

pub async fn list_users(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
) -> Result<HttpResponse, AppError> {
    users_page(&req, &state, &user, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct NewUserForm {
    username: Option<String>,
    display_name: Option<String>,
    aliases: Option<String>,
    password: Option<String>,
    email: Option<String>,
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    inspector: Option<String>,
    #[serde(default)]
    admin: Option<String>,
}

pub async fn create_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, AppError> {
    let t = crate::web::lang_of(&req).catalog();
    let form = form.into_inner();
    let roles = [
        (form.operator.is_some(), Role::Operator),
        (form.inspector.is_some(), Role::Inspector),
        (form.admin.is_some(), Role::Admin),
    ]
    .into_iter()
    .filter_map(|(on, role)| on.then_some(role))
    .collect();
    let username = form.username.unwrap_or_default().trim().to_string();
    let new = NewUser {
        username: username.clone(),
        display_name: form.display_name.unwrap_or_default(),
        roles,
        aliases: form
            .aliases
            .unwrap_or_default()
            .split([',', '，', '、', ';', '；'])
            .map(str::to_string)
            .collect(),
        password: Zeroizing::new(form.password.unwrap_or_default()),
        email: form.email,
    };
    match staff::create_user(
        &state.db,
        &state.keyring,
        new,
        Some(user.user_id),
        state.now(),
    )
    .await
    {
        Ok(_) => {
            let notice = t.t("staff.users.created").replace("{username}", &username);
            users_page(&req, &state, &user, Some(notice), None, StatusCode::OK).await
        }
        Err(ServiceError::Invalid(key)) => {
            let problem = Some(t.t(key).to_string());
            users_page(
                &req,
                &state,
                &user,
                None,
                problem,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn disable_user(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    username: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let surface = Surface::Page(crate::web::lang_of(&req));
    match staff::disable_user(
        &state.db,
        &state.keyring,
        &username,
        Some(user.user_id),
        state.now(),
    )
    .await
    {
        Ok(()) => users_page(&req, &state, &user, None, None, StatusCode::OK).await,
        Err(e) => Err(AppError::from(e).on(surface)),
    }
}

pub struct ShownFiling {
    pub id: Uuid,
    pub staff: String,
    pub name: String,
    pub relation: String,
}

#[derive(Template)]
#[template(path = "staff/relatives.html")]
struct RelativesPage {
    t: &'static Catalog,
    lang: Lang,
    nav: Nav,
    filings: Vec<ShownFiling>,
    staff: Vec<(Uuid, String)>,
    problem: Option<&'static str>,
}

async fn relatives_page(
    req: &HttpRequest,
    state: &AppState,
    user: &SessionUser,
    problem: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let StaffPage { t, lang, nav } = StaffPage::new(req, user, state);
    let surface = Surface::Page(lang);
    let internal = |e| AppError::internal(e, surface);
    let accounts = staff::list_users(&state.db).await.map_err(internal)?;
    let mut filings = Vec::new();
    for account in &accounts {
        for (id, name, relation) in recusal::list_relatives(&state.db, &state.keyring, account.id)
            .await
            .map_err(internal)?
        {
            filings.push(ShownFiling {
                id,
                staff: account.display_name.clone(),
                name: name.to_string(),
                relation: relation.map(|r| r.to_string()).unwrap_or_default(),
            });
        }
    }
    let page = RelativesPage {
        t,
        lang,
        nav,
        filings,
        staff: accounts
            .into_iter()
            .filter(|a| !a.disabled)
            .map(|a| (a.id, a.display_name))
            .collect(),
        problem: problem.map(|key| t.t(key)),
    };
    render(&page, status, surface)
}

/// Close-relative filings (近亲属备案): who among the staff has relatives receiving support.
pub async fn list_relatives(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
) -> Result<HttpResponse, AppError> {
    relatives_page(&req, &state, &user, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct FilingForm {
    staff: Option<String>,
    name: Option<String>,
    relation: Option<String>,
}

pub async fn file_relative(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    form: web::Form<FilingForm>,
) -> Result<HttpResponse, AppError> {
    let surface = Surface::Page(crate::web::lang_of(&req));
    let form = form.into_inner();
    let Some(staff_id) = form.staff.as_deref().and_then(|s| Uuid::parse_str(s).ok()) else {
        return relatives_page(
            &req,
            &state,
            &user,
            Some("error.required"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let relation = form.relation.filter(|r| !r.trim().is_empty());
    match recusal::file_relative(
        &state.db,
        &state.keyring,
        staff_id,
        form.name.as_deref().unwrap_or(""),
        relation.as_deref(),
        user.user_id,
        state.now(),
    )
    .await
    {
        Ok(_) => relatives_page(&req, &state, &user, None, StatusCode::OK).await,
        Err(ServiceError::Invalid(key)) => {
            relatives_page(
                &req,
                &state,
                &user,
                Some(key),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(AppError::internal(e, surface)),
    }
}

pub async fn remove_relative(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let surface = Surface::Page(crate::web::lang_of(&req));
    let id = Uuid::parse_str(&id).map_err(|_| AppError::new(ErrorKind::NotFound, surface))?;
    let removed =
        recusal::remove_relative(&state.db, &state.keyring, id, user.user_id, state.now())
            .await
            .map_err(|e| AppError::internal(e, surface))?;
    if !removed {
        return Err(AppError::new(ErrorKind::NotFound, surface));
    }
    relatives_page(&req, &state, &user, None, StatusCode::OK).await
}

/// A failed notification as the admin page lists it: where it was going and why it failed,
/// never its body.
pub struct ShownMail {
    pub id: Uuid,
    pub created: String,
    pub kind: String,
    pub group: String,
    pub recipient: String,
    pub subject: String,
    pub attempts: i32,
    pub error: String,
}

#[derive(Template)]
#[template(path = "staff/mail.html")]
struct MailPage {
    t: &'static Catalog,
    lang: Lang,
    nav: Nav,
    rows: Vec<ShownMail>,
    failed: u64,
    pending: u64,
    problem: Option<&'static str>,
}

async fn mail_page(
    req: &HttpRequest,
    state: &AppState,
    user: &SessionUser,
    problem: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let StaffPage { t, lang, nav } = StaffPage::new(req, user, state);
    let surface = Surface::Page(lang);
    let internal = |e| AppError::internal(e, surface);
    let rows = outbox::failed_rows(&state.db).await.map_err(internal)?;
    let pending = outbox::pending_count(&state.db).await.map_err(internal)?;
    let group_name = |id: &str| {
        state.routing.group(id).map_or_else(
            || t.label("staff.mail.group", id).to_string(),
            |g| g.name.clone(),
        )
    };
    let page = MailPage {
        t,
        lang,
        nav,
        failed: rows.len() as u64,
        pending,
        rows: rows
            .into_iter()
            .map(|r| ShownMail {
                id: r.id,
                created: r
                    .created_at
                    .with_timezone(&chrono_tz::Asia::Shanghai)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                kind: t.label("staff.mail.kind", &r.kind).to_string(),
                group: group_name(&r.recipient_group),
                recipient: r.recipient,
                subject: r.subject,
                attempts: r.attempts,
                error: r.last_error.unwrap_or_default(),
            })
            .collect(),
        problem: problem.map(|key| t.t(key)),
    };
    render(&page, status, surface)
}

/// Notifications that gave up after their last attempt, each with a button to send it again.
pub async fn list_failed_mail(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
) -> Result<HttpResponse, AppError> {
    mail_page(&req, &state, &user, None, StatusCode::OK).await
}

/// Sends a failed notification again with the next batch (audited by the service).
pub async fn retry_mail(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: web::ReqData<SessionUser>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let lang = crate::web::lang_of(&req);
    let surface = Surface::Page(lang);
    let id = Uuid::parse_str(&id).map_err(|_| AppError::new(ErrorKind::NotFound, surface))?;
    let viewer = Viewer {
        user_id: user.user_id,
        roles: user.roles.clone(),
    };
    match outbox::retry(&state.db, &state.keyring, &viewer, id, state.now()).await {
        Ok(()) => Ok(HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/staff/admin/mail?lang={}", lang.code()),
            ))
            .finish()),
        // Sent again already (a second click), or no such row: the list as it is now.
        Err(ServiceError::NotFound) => {
            mail_page(
                &req,
                &state,
                &user,
                Some("staff.mail.not_failed"),
                StatusCode::NOT_FOUND,
            )
            .await
        }
        Err(e) => Err(AppError::from(e).on(surface)),
    }
}
