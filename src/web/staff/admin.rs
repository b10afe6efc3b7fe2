//! Admin pages: accounts and failed mail (close-relative filings are in `relatives`). Admins
//! see no report content.

use std::collections::HashMap;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web;
use askama::Template;
use serde::Deserialize;
use uuid::Uuid;

use super::confirm::{self, Ask, Confirmation};
use super::{Desk, Refused, StaffPage, path_id, refusal, staff_template};
use crate::domain::Role;
use crate::error::AppError;
use crate::services::enrolment::{self, Invitation};
use crate::services::staff::{self, AccountEdit, NewUser, UserSummary};
use crate::services::{ServiceError, outbox};
use crate::web::pages::{local_time, see_other};

staff_template!(UsersPage, AccountPage, MailPage);

#[derive(Template)]
#[template(path = "staff/users.html")]
struct UsersPage {
    frame: StaffPage,
    users: Vec<UserSummary>,
    notice: Option<String>,
    /// A link just issued, shown this once.
    link: Option<ShownLink>,
    problem: Option<String>,
    /// The new-account form's role checkboxes.
    roles: Vec<RoleBox>,
}

pub struct ShownLink {
    pub username: String,
    pub url: String,
    pub expires: String,
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

/// What the accounts page says above the list: a notice with the link just issued, or why
/// the last request was refused.
enum Said {
    Nothing,
    Done(String),
    Issued { notice: String, link: Invitation },
    Refused(String),
}

async fn users_page(desk: &Desk, said: Said, status: StatusCode) -> Result<HttpResponse, AppError> {
    let frame = desk.page();
    let users = staff::list_users(&desk.state.db).await?;
    let (notice, link, problem) = match said {
        Said::Nothing => (None, None, None),
        Said::Done(notice) => (Some(notice), None, None),
        Said::Issued { notice, link } => {
            let shown = ShownLink {
                url: super::enrol::link_url(&desk.state, &link.path()),
                expires: local_time(link.expires_at),
                username: link.username,
            };
            (Some(notice), Some(shown), None)
        }
        Said::Refused(problem) => (None, None, Some(problem)),
    };
    let page = UsersPage {
        roles: role_boxes(frame.t, &[]),
        frame,
        users,
        notice,
        link,
        problem,
    };
    desk.render(&page, status)
}

pub async fn list_users(desk: Desk) -> Result<HttpResponse, AppError> {
    users_page(&desk, Said::Nothing, StatusCode::OK).await
}

fn link_lifetime(desk: &Desk) -> chrono::Duration {
    chrono::Duration::hours(i64::from(desk.state.settings.staff.enrolment_link_hours))
}

/// The accounts page after issuing a link, or with the reason it was refused.
async fn after_issuing(
    desk: &Desk,
    issued: Result<Invitation, ServiceError>,
    notice_key: &str,
) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    match issued {
        Ok(link) => {
            let notice = t.t(notice_key).replace("{username}", &link.username);
            users_page(desk, Said::Issued { notice, link }, StatusCode::OK).await
        }
        Err(e) => {
            let problem = t.t(refusal(e)?).to_string();
            users_page(
                desk,
                Said::Refused(problem),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct NewUserForm {
    username: Option<String>,
    display_name: Option<String>,
    aliases: Option<String>,
    email: Option<String>,
    /// The role checkboxes (one per role, named by its code) and the CSRF field.
    #[serde(flatten)]
    ticked: HashMap<String, String>,
}

/// The roles ticked on a form: one checkbox per role in `Role::ALL`, named by its code, so a
/// new role shows up on the forms without changing them.
fn ticked_roles(form: &HashMap<String, String>) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|role| form.get(role.code()).is_some_and(|v| !v.is_empty()))
        .collect()
}

/// A checkbox per role, ticked as given.
pub struct RoleBox {
    pub code: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

fn role_boxes(t: &'static crate::i18n::Catalog, ticked: &[Role]) -> Vec<RoleBox> {
    Role::ALL
        .into_iter()
        .map(|role| RoleBox {
            code: role.code(),
            label: t.label("staff.role", role.code()),
            checked: ticked.contains(&role),
        })
        .collect()
}

/// Creates an account without a password and shows the one-time link its owner sets their
/// own password and two-factor code with.
pub async fn create_user(
    desk: Desk,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let roles = ticked_roles(&form.ticked);
    let new = NewUser {
        username: form.username.unwrap_or_default().trim().to_string(),
        display_name: form.display_name.unwrap_or_default(),
        roles,
        aliases: form
            .aliases
            .unwrap_or_default()
            .split([',', '，', '、', ';', '；'])
            .map(str::to_string)
            .collect(),
        email: form.email,
    };
    let state = &desk.state;
    let (by, lifetime) = (desk.user.user_id, link_lifetime(&desk));
    let issued =
        enrolment::invite_user(&state.db, &state.keyring, new, by, lifetime, state.now()).await;
    after_issuing(&desk, issued, "staff.users.created").await
}

/// A new link for an account whose owner has not enrolled yet.
pub async fn reissue_link(
    desk: Desk,
    username: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let state = &desk.state;
    let (by, lifetime) = (desk.user.user_id, link_lifetime(&desk));
    let issued = enrolment::reissue(
        &state.db,
        &state.keyring,
        &username,
        by,
        lifetime,
        state.now(),
    )
    .await;
    after_issuing(&desk, issued, "staff.enrol.reissued").await
}

/// Disables an account, after a confirmation page: its sessions end at once. The last
/// enabled admin is refused with the reason.
pub async fn disable_user(
    desk: Desk,
    username: web::Path<String>,
    form: web::Form<Confirmation>,
) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let lang = desk.lang.code();
    if !form.given() {
        return confirm::ask(
            &desk,
            Ask {
                question: t
                    .t("staff.users.disable_ask")
                    .replace("{username}", &username),
                consequence: t.t("staff.users.disable_consequence").to_string(),
                action: format!("/staff/admin/users/{username}/disable?lang={lang}"),
                fields: Vec::new(),
                button: t.t("staff.users.disable").to_string(),
                back: format!("/staff/admin/users?lang={lang}"),
            },
        );
    }
    let state = &desk.state;
    let by = Some(desk.user.user_id);
    let done = staff::disable_user(&state.db, &state.keyring, &username, by, state.now()).await;
    after_change(&desk, done, "staff.users.disabled_done", &username).await
}

/// Enables a disabled account again.
pub async fn enable_user(
    desk: Desk,
    username: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let state = &desk.state;
    let by = Some(desk.user.user_id);
    let done = staff::enable_user(&state.db, &state.keyring, &username, by, state.now()).await;
    after_change(&desk, done, "staff.users.enabled_done", &username).await
}

/// The accounts page after a change to one of them: what was done, or why it was refused.
async fn after_change(
    desk: &Desk,
    done: Result<(), ServiceError>,
    notice: &str,
    username: &str,
) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    match done {
        Ok(()) => {
            let notice = t.t(notice).replace("{username}", username);
            users_page(desk, Said::Done(notice), StatusCode::OK).await
        }
        Err(e) => {
            let problem = t.t(refusal(e)?).to_string();
            users_page(desk, Said::Refused(problem), StatusCode::CONFLICT).await
        }
    }
}

/// Which of an account page's forms a refusal belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditForm {
    Name,
    Alias,
    Roles,
}

/// What an account page shows besides the account: what was just done, or which form was
/// refused and why, with what was typed into it.
#[derive(Default)]
struct Edit {
    notice: Option<String>,
    refused: Option<(EditForm, String)>,
    name: Option<String>,
    alias: String,
    roles: Option<Vec<Role>>,
}

impl Edit {
    fn done(notice: String) -> Edit {
        Edit {
            notice: Some(notice),
            ..Edit::default()
        }
    }
}

#[derive(Template)]
#[template(path = "staff/account.html")]
struct AccountPage {
    frame: StaffPage,
    account: UserSummary,
    /// The name in its field: as typed when that form was refused, else the account's.
    name: String,
    alias: String,
    roles: Vec<RoleBox>,
    notice: Option<String>,
    refused: Option<(EditForm, String)>,
}

impl AccountPage {
    /// Why `form` was refused, if it was.
    fn reason(&self, form: EditForm) -> Option<&str> {
        self.refused
            .as_ref()
            .filter(|(refused, _)| *refused == form)
            .map(|(_, reason)| reason.as_str())
    }
}

async fn account_page(
    desk: &Desk,
    username: &str,
    edit: Edit,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let frame = desk.page();
    let account = staff::account(&desk.state.db, username).await?;
    let ticked = edit.roles.unwrap_or_else(|| account.roles.clone());
    let page = AccountPage {
        roles: role_boxes(frame.t, &ticked),
        name: edit.name.unwrap_or_else(|| account.display_name.clone()),
        alias: edit.alias,
        notice: edit.notice,
        refused: edit.refused,
        account,
        frame,
    };
    desk.render(&page, status)
}

/// One account's page: its name, aliases and roles, each corrected with a form of its own.
pub async fn show_account(
    desk: Desk,
    username: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    account_page(&desk, &username, Edit::default(), StatusCode::OK).await
}

/// Makes the change one of the account page's forms asks for, then shows the page: the
/// notice on success, or the form again with what was typed and why it was refused (409
/// when the last admin would lose the role, 422 for input that does not do).
async fn edit_account(
    desk: &Desk,
    username: &str,
    edit: AccountEdit,
) -> Result<HttpResponse, AppError> {
    let state = &desk.state;
    let by = Some(desk.user.user_id);
    let done =
        staff::edit_account(&state.db, &state.keyring, username, &edit, by, state.now()).await;
    // What was typed, for the form shown again if it was refused.
    let mut typed = Edit::default();
    let (notice, form) = match edit {
        AccountEdit::Rename(name) => {
            typed.name = Some(name);
            ("staff.users.renamed", EditForm::Name)
        }
        AccountEdit::AddAlias(alias) => {
            typed.alias = alias;
            ("staff.users.alias_added", EditForm::Alias)
        }
        AccountEdit::RemoveAlias(_) => ("staff.users.alias_removed", EditForm::Alias),
        AccountEdit::SetRoles(roles) => {
            typed.roles = Some(roles);
            ("staff.users.roles_set", EditForm::Roles)
        }
    };
    let t = desk.t();
    match done {
        Ok(_) => {
            let notice = t.t(notice).replace("{username}", username);
            account_page(desk, username, Edit::done(notice), StatusCode::OK).await
        }
        Err(e) => {
            let key = refusal(e)?;
            let status = if key == "error.last_admin_role" || key == "error.last_inspector_role" {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            typed.refused = Some((form, t.t(key).to_string()));
            account_page(desk, username, typed, status).await
        }
    }
}

#[derive(Deserialize)]
pub struct NameForm {
    display_name: Option<String>,
}

/// Corrects the name an account is shown by; reports naming the new name recuse it at once.
pub async fn rename_user(
    desk: Desk,
    username: web::Path<String>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, AppError> {
    let name = form.into_inner().display_name.unwrap_or_default();
    edit_account(&desk, &username, AccountEdit::Rename(name)).await
}

#[derive(Deserialize)]
pub struct AliasForm {
    alias: Option<String>,
}

/// Adds a name an account is known by; recusals from reports already naming it follow at
/// once (see `staff::AccountEdit::AddAlias`).
pub async fn add_alias(
    desk: Desk,
    username: web::Path<String>,
    form: web::Form<AliasForm>,
) -> Result<HttpResponse, AppError> {
    let alias = form.into_inner().alias.unwrap_or_default();
    edit_account(&desk, &username, AccountEdit::AddAlias(alias)).await
}

/// Removes a name an account was known by. No confirmation: it is undone by adding the
/// alias again, and recusals it caused stay (see `staff::AccountEdit::RemoveAlias`).
pub async fn remove_alias(
    desk: Desk,
    username: web::Path<String>,
    form: web::Form<AliasForm>,
) -> Result<HttpResponse, AppError> {
    let alias = form.into_inner().alias.unwrap_or_default();
    edit_account(&desk, &username, AccountEdit::RemoveAlias(alias)).await
}

/// Gives an account the roles ticked, from its next request on. The last enabled admin
/// keeps the admin role.
pub async fn set_roles(
    desk: Desk,
    username: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let roles = ticked_roles(&form);
    edit_account(&desk, &username, AccountEdit::SetRoles(roles)).await
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
    frame: StaffPage,
    rows: Vec<ShownMail>,
    failed: u64,
    pending: u64,
    problem: Option<&'static str>,
}

async fn mail_page(desk: &Desk, refused: Option<Refused>) -> Result<HttpResponse, AppError> {
    let t = desk.t();
    let state = &desk.state;
    let rows = outbox::failed_rows(&state.db).await?;
    let pending = outbox::pending_count(&state.db).await?;
    let group_name = |id: &str| {
        state.routing.group(id).map_or_else(
            || t.label("staff.mail.group", id).to_string(),
            |g| g.name.clone(),
        )
    };
    let page = MailPage {
        frame: desk.page(),
        failed: rows.len() as u64,
        pending,
        rows: rows
            .into_iter()
            .map(|r| ShownMail {
                id: r.id,
                created: local_time(r.created_at),
                kind: t.label("staff.mail.kind", &r.kind).to_string(),
                group: group_name(&r.recipient_group),
                recipient: r.recipient,
                subject: r.subject,
                attempts: r.attempts,
                error: r.last_error.unwrap_or_default(),
            })
            .collect(),
        problem: refused.map(|r| t.t(r.reason)),
    };
    desk.render_form(&page, refused)
}

/// Notifications that gave up after their last attempt, each with a button to send it again.
pub async fn list_failed_mail(desk: Desk) -> Result<HttpResponse, AppError> {
    mail_page(&desk, None).await
}

/// Sends a failed notification again with the next batch (audited by the service).
pub async fn retry_mail(desk: Desk, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = path_id(&id)?;
    match outbox::retry(desk.caller(), id).await {
        Ok(()) => Ok(see_other(&format!(
            "/staff/admin/mail?lang={}",
            desk.lang.code()
        ))),
        // Sent again already (a second click), or no such row: the list as it is now.
        Err(ServiceError::NotFound) => {
            let refused = Refused {
                reason: "staff.mail.not_failed",
                status: StatusCode::NOT_FOUND,
            };
            mail_page(&desk, Some(refused)).await
        }
        Err(e) => Err(e.into()),
    }
}
