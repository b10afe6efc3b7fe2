//! Admin pages: accounts and close-relative filings. Admins see no report content.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{Nav, StaffPage};
use crate::domain::Role;
use crate::error::{AppError, ErrorKind, Surface};
use crate::i18n::{Catalog, Lang};
use crate::services::staff::{self, NewUser, SessionUser, StaffError, UserSummary};
use crate::web::AppState;
use crate::web::public::render;

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
        Err(StaffError::Service(e)) => Err(AppError::internal(
            e,
            Surface::Page(crate::web::lang_of(&req)),
        )),
        Err(refusal) => {
            let key = match refusal {
                StaffError::UsernameTaken(_) => "staff.users.taken",
                StaffError::WeakPassword => "staff.users.weak_password",
                StaffError::NoRole => "staff.users.no_role",
                _ => "staff.users.bad_username",
            };
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
        Err(StaffError::NoSuchUser(_)) => Err(AppError::new(ErrorKind::NotFound, surface)),
        Err(e) => Err(AppError::internal(e, surface)),
    }
}

pub async fn list_relatives(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorKind::NotFound, crate::web::page(&req)))
}
pub async fn file_relative(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorKind::NotFound, crate::web::page(&req)))
}
pub async fn remove_relative(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::new(ErrorKind::NotFound, crate::web::page(&req)))
}
