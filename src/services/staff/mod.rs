//! Staff accounts: who they are (names, aliases, roles, mail), their creation, changes and
//! disabling; signing in, sessions and TOTP are in `sessions`.

mod sessions;

pub use sessions::*;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait,
    DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::ServiceError;
use super::access::someone_else_holds;
use super::audit::{self, AuditAction, AuditRecord};
use super::passwords::{NO_PASSWORD, hash_password};
use crate::crypto::Keyring;
use crate::domain::Role;
use crate::entities::{report, session, user, user_alias, user_role};

/// A new account as an admin (or the CLI) describes it. Its password is the person's own:
/// typed at the server's terminal (`tipoff user add`), or set through an enrolment link.
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub aliases: Vec<String>,
    /// The account's own mailbox, for the daily digest of its due cases; optional.
    pub email: Option<String>,
}

/// A staff mail address as lettre will send to it, or `None` when left empty.
fn parse_email(email: Option<&str>) -> Result<Option<String>, ServiceError> {
    let Some(email) = email.map(str::trim).filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    if email.len() > EMAIL_MAX {
        return Err(ServiceError::Invalid("staff.users.bad_email"));
    }
    email
        .parse::<lettre::Address>()
        .map(|address| Some(address.to_string()))
        .map_err(|_| ServiceError::Invalid("staff.users.bad_email"))
}

/// The column's width, and the longest address SMTP allows.
const EMAIL_MAX: usize = 254;

fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Creates an account with its roles, aliases and password (typed by its owner at the
/// server's terminal), indexes its names for recusal (which may recuse it from existing
/// reports at once) and records it in the audit log.
pub async fn create_user(
    db: &DatabaseConnection,
    keyring: &Keyring,
    new: NewUser,
    password: &str,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Uuid, ServiceError> {
    check_new_user(&new)?;
    let password_hash = hash_password(password).await?;
    let detail = format!("created account {}", new.username);
    let record = AuditRecord::new(actor, AuditAction::UserChange, None, &detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    let id = insert_user(&txn, keyring, new, password_hash, now).await?;
    txn.commit().await?;
    Ok(id)
}

/// The checks a new account passes before anything is hashed or written.
pub(super) fn check_new_user(new: &NewUser) -> Result<(), ServiceError> {
    if !valid_username(&new.username) {
        return Err(ServiceError::Invalid("staff.users.bad_username"));
    }
    parse_display_name(&new.display_name)?;
    if new.roles.is_empty() {
        return Err(ServiceError::Invalid("staff.users.no_role"));
    }
    parse_email(new.email.as_deref()).map(|_| ())
}

/// Writes a checked new account (roles, aliases, recusals) in the caller's transaction.
pub(super) async fn insert_user(
    txn: &DatabaseTransaction,
    keyring: &Keyring,
    new: NewUser,
    password_hash: String,
    now: DateTime<Utc>,
) -> Result<Uuid, ServiceError> {
    let email = parse_email(new.email.as_deref())?;
    if user::Entity::find()
        .filter(user::Column::Username.eq(&new.username))
        .one(txn)
        .await?
        .is_some()
    {
        return Err(ServiceError::Invalid("staff.users.taken"));
    }
    let id = Uuid::new_v4();
    user::ActiveModel {
        id: Set(id),
        username: Set(new.username.clone()),
        display_name: Set(new.display_name.trim().to_string()),
        disabled: Set(false),
        password_hash: Set(password_hash),
        totp_secret: Set(None),
        totp_dek_id: Set(None),
        totp_kek_id: Set(None),
        totp_dek_wrapped: Set(None),
        totp_last_step: Set(None),
        created_at: Set(now),
        email: Set(email),
    }
    .insert(txn)
    .await?;
    for role in &new.roles {
        user_role::ActiveModel {
            user_id: Set(id),
            role: Set(role.code().to_string()),
        }
        .insert(txn)
        .await?;
    }
    for alias in new
        .aliases
        .iter()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
    {
        user_alias::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(id),
            alias: Set(alias.to_string()),
        }
        .insert(txn)
        .await?;
    }
    super::recusal::rematch_user(txn, keyring, id, now).await?;
    Ok(id)
}

/// The column's width for a display name, in characters.
const DISPLAY_NAME_MAX: usize = 100;

/// A display name as typed: trimmed, not empty, no longer than the column.
fn parse_display_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::Invalid("staff.users.name_required"));
    }
    if name.chars().count() > DISPLAY_NAME_MAX {
        return Err(ServiceError::Invalid("staff.users.name_long"));
    }
    Ok(name.to_string())
}

/// Whether the account has never set a password of its own (it waits for its enrolment).
pub(super) fn awaits_enrolment(account: &user::Model) -> bool {
    account.password_hash == NO_PASSWORD
}

/// Longest alias an admin may add, in characters (as for a filed relative's name).
const ALIAS_MAX: usize = 50;

/// A change an admin makes to an account from its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEdit {
    /// Corrects the name the account is shown by (on case pages, lists and the header from
    /// its next request on).
    Rename(String),
    /// Adds a name the account is known by ("王书记"). A single character or a bare title is
    /// refused: it would never be matched, and the admin should know.
    AddAlias(String),
    /// Removes a name the account was known by. Its blind index goes with it, so later
    /// reports naming it no longer recuse the account; recusals it already caused stay,
    /// because a report that named this person when it came in still does.
    RemoveAlias(String),
    /// Gives the account exactly these roles, from its next request on (a session reads its
    /// roles on each one). At least one is required; the last enabled admin keeps the admin
    /// role and the last enabled inspector the inspector role.
    SetRoles(Vec<Role>),
}

impl AccountEdit {
    /// The edit as it will be made (names trimmed, roles in their order) and its audit
    /// detail; refused for input that does not do.
    fn checked(&self, username: &str) -> Result<(AccountEdit, String), ServiceError> {
        Ok(match self {
            AccountEdit::Rename(name) => (
                AccountEdit::Rename(parse_display_name(name)?),
                format!("changed the display name of account {username}"),
            ),
            AccountEdit::AddAlias(alias) => {
                let alias = alias.trim();
                if alias.is_empty() {
                    return Err(ServiceError::Invalid("staff.users.alias_required"));
                }
                if !super::recusal::matchable(&crate::domain::normalize_name(alias)) {
                    return Err(ServiceError::Invalid("staff.users.alias_useless"));
                }
                if alias.chars().count() > ALIAS_MAX {
                    return Err(ServiceError::Invalid("staff.users.alias_long"));
                }
                (
                    AccountEdit::AddAlias(alias.to_string()),
                    format!("added an alias for account {username}"),
                )
            }
            AccountEdit::RemoveAlias(alias) => (
                AccountEdit::RemoveAlias(alias.trim().to_string()),
                format!("removed an alias of account {username}"),
            ),
            AccountEdit::SetRoles(roles) => {
                let wanted: Vec<Role> = Role::ALL
                    .into_iter()
                    .filter(|r| roles.contains(r))
                    .collect();
                if wanted.is_empty() {
                    return Err(ServiceError::Invalid("staff.users.no_role"));
                }
                let codes: Vec<&str> = wanted.iter().map(|r| r.code()).collect();
                let detail = format!("set the roles of account {username}: {}", codes.join(", "));
                (AccountEdit::SetRoles(wanted), detail)
            }
        })
    }
}

/// Makes an admin's change to the account `username`, in one transaction whose first
/// statement is its audit entry (which takes the write lock, so two admins dropping each
/// other's admin role at once cannot both pass the check). A change of the account's names
/// re-matches them with every report in the same transaction (see `recusal::rematch_user`),
/// so its next request cannot reach a report that names it. Returns false when the account
/// was already so: nothing is then recorded.
pub async fn edit_account(
    db: &DatabaseConnection,
    keyring: &Keyring,
    username: &str,
    edit: &AccountEdit,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let (edit, detail) = edit.checked(username)?;
    let (txn, account) = begin_account_change(db, keyring, username, &detail, actor, now).await?;
    let changed = match &edit {
        AccountEdit::Rename(name) => rename(&txn, account.clone(), name).await?,
        AccountEdit::AddAlias(alias) => add_alias(&txn, account.id, alias).await?,
        AccountEdit::RemoveAlias(alias) => remove_alias(&txn, account.id, alias).await?,
        AccountEdit::SetRoles(wanted) => set_roles(&txn, &account, wanted).await?,
    };
    if !changed {
        // The transaction and its audit entry roll back as it is dropped.
        return Ok(false);
    }
    if !matches!(edit, AccountEdit::SetRoles(_)) {
        // Removing an alias takes the same path: it rebuilds the account's index rows from
        // what is left.
        super::recusal::rematch_user(&txn, keyring, account.id, now).await?;
    }
    txn.commit().await?;
    Ok(true)
}

async fn rename(
    txn: &DatabaseTransaction,
    account: user::Model,
    name: &str,
) -> Result<bool, ServiceError> {
    if account.display_name == name {
        return Ok(false);
    }
    let mut active: user::ActiveModel = account.into();
    active.display_name = Set(name.to_string());
    active.update(txn).await?;
    Ok(true)
}

async fn add_alias(
    txn: &DatabaseTransaction,
    account: Uuid,
    alias: &str,
) -> Result<bool, ServiceError> {
    let known = user_alias::Entity::find()
        .filter(alias_row(account, alias))
        .one(txn)
        .await?;
    if known.is_some() {
        return Ok(false);
    }
    user_alias::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(account),
        alias: Set(alias.to_string()),
    }
    .insert(txn)
    .await?;
    Ok(true)
}

async fn remove_alias(
    txn: &DatabaseTransaction,
    account: Uuid,
    alias: &str,
) -> Result<bool, ServiceError> {
    let removed = user_alias::Entity::delete_many()
        .filter(alias_row(account, alias))
        .exec(txn)
        .await?;
    Ok(removed.rows_affected > 0)
}

/// The account's alias with this text.
fn alias_row(account: Uuid, alias: &str) -> Condition {
    Condition::all()
        .add(user_alias::Column::UserId.eq(account))
        .add(user_alias::Column::Alias.eq(alias))
}

async fn set_roles(
    txn: &DatabaseTransaction,
    account: &user::Model,
    wanted: &[Role],
) -> Result<bool, ServiceError> {
    let held = roles_of(txn, account.id).await?;
    if held.len() == wanted.len() && held.iter().all(|r| wanted.contains(r)) {
        return Ok(false);
    }
    let drops_admin = held.contains(&Role::Admin) && !wanted.contains(&Role::Admin);
    if drops_admin
        && !account.disabled
        && !someone_else_holds(txn, Role::Admin, vec![account.id]).await?
    {
        return Err(ServiceError::Invalid("error.last_admin_role"));
    }
    let drops_inspector = held.contains(&Role::Inspector) && !wanted.contains(&Role::Inspector);
    if drops_inspector {
        // Cases must stay in someone's sight: never the last inspector; and the cases they
        // were given go back to the desk rather than to someone who can no longer open them.
        if !account.disabled && !someone_else_holds(txn, Role::Inspector, vec![account.id]).await? {
            return Err(ServiceError::Invalid("error.last_inspector_role"));
        }
        report::Entity::update_many()
            .col_expr(
                report::Column::AssigneeId,
                Expr::value(Option::<Uuid>::None),
            )
            .filter(report::Column::AssigneeId.eq(account.id))
            .exec(txn)
            .await?;
    }
    let dropped: Vec<&str> = held
        .iter()
        .filter(|r| !wanted.contains(r))
        .map(|r| r.code())
        .collect();
    if !dropped.is_empty() {
        user_role::Entity::delete_many()
            .filter(user_role::Column::UserId.eq(account.id))
            .filter(user_role::Column::Role.is_in(dropped))
            .exec(txn)
            .await?;
    }
    for role in wanted.iter().filter(|r| !held.contains(r)) {
        user_role::ActiveModel {
            user_id: Set(account.id),
            role: Set(role.code().to_string()),
        }
        .insert(txn)
        .await?;
    }
    Ok(true)
}

/// The roles an account holds.
pub async fn roles_of<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
) -> Result<Vec<Role>, ServiceError> {
    Ok(user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .iter()
        .filter_map(|r| Role::parse(&r.role))
        .collect())
}

/// An account as the admin page lists it.
#[derive(Debug, Clone)]
pub struct UserSummary {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub aliases: Vec<String>,
    pub disabled: bool,
    pub totp_enrolled: bool,
    /// Made on the admin pages and its owner has not yet used the enrolment link.
    pub awaiting_enrolment: bool,
    pub email: Option<String>,
}

pub async fn list_users(db: &DatabaseConnection) -> Result<Vec<UserSummary>, ServiceError> {
    let accounts = user::Entity::find()
        .order_by_asc(user::Column::Username)
        .all(db)
        .await?;
    summaries(db, accounts).await
}

/// One account as the admin page shows it, by its username.
pub async fn account(db: &DatabaseConnection, username: &str) -> Result<UserSummary, ServiceError> {
    let found = find_by_username(db, username).await?;
    let mut one = summaries(db, vec![found]).await?;
    one.pop().ok_or(ServiceError::NotFound)
}

/// The accounts as the admin page shows them, in their order, with their roles and aliases
/// read in one query each.
async fn summaries(
    db: &DatabaseConnection,
    accounts: Vec<user::Model>,
) -> Result<Vec<UserSummary>, ServiceError> {
    let ids: Vec<Uuid> = accounts.iter().map(|a| a.id).collect();
    let roles = user_role::Entity::find()
        .filter(user_role::Column::UserId.is_in(ids.clone()))
        .all(db)
        .await?;
    let aliases = user_alias::Entity::find()
        .filter(user_alias::Column::UserId.is_in(ids))
        .all(db)
        .await?;
    Ok(accounts
        .into_iter()
        .map(|a| summary(a, &roles, &aliases))
        .collect())
}

fn summary(
    a: user::Model,
    roles: &[user_role::Model],
    aliases: &[user_alias::Model],
) -> UserSummary {
    UserSummary {
        roles: roles
            .iter()
            .filter(|r| r.user_id == a.id)
            .filter_map(|r| Role::parse(&r.role))
            .collect(),
        aliases: aliases
            .iter()
            .filter(|x| x.user_id == a.id)
            .map(|x| x.alias.clone())
            .collect(),
        awaiting_enrolment: awaits_enrolment(&a),
        id: a.id,
        username: a.username,
        display_name: a.display_name,
        disabled: a.disabled,
        totp_enrolled: a.totp_last_step.is_some(),
        email: a.email,
    }
}

async fn find_by_username(
    db: &impl sea_orm::ConnectionTrait,
    username: &str,
) -> Result<user::Model, ServiceError> {
    user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Starts an audited change of an account: the audit entry is the transaction's first
/// statement (it takes the write lock, so what is checked next sees every earlier change),
/// then the account is read inside it.
async fn begin_account_change(
    db: &DatabaseConnection,
    keyring: &Keyring,
    username: &str,
    detail: &str,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(DatabaseTransaction, user::Model), ServiceError> {
    let record = AuditRecord::new(actor, AuditAction::UserChange, None, detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    let account = find_by_username(&txn, username).await?;
    Ok((txn, account))
}

/// Disables an account and ends its sessions; the account and its history stay. The last
/// enabled admin cannot be disabled: nobody could then manage accounts.
pub async fn disable_user(
    db: &DatabaseConnection,
    keyring: &Keyring,
    username: &str,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let detail = format!("disabled account {username}");
    let (txn, account) = begin_account_change(db, keyring, username, &detail, actor, now).await?;
    let admin = !account.disabled && holds(&txn, account.id, Role::Admin).await?;
    if admin && !someone_else_holds(&txn, Role::Admin, vec![account.id]).await? {
        return Err(ServiceError::Invalid("error.last_admin"));
    }
    end_sessions_and_change(&txn, account, |active| active.disabled = Set(true)).await?;
    Ok(txn.commit().await?)
}

/// Enables a disabled account again. It signs in as before; recusals made while it was
/// disabled stand (they were made for disabled accounts too).
pub async fn enable_user(
    db: &DatabaseConnection,
    keyring: &Keyring,
    username: &str,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let detail = format!("enabled account {username}");
    let (txn, account) = begin_account_change(db, keyring, username, &detail, actor, now).await?;
    end_sessions_and_change(&txn, account, |active| active.disabled = Set(false)).await?;
    Ok(txn.commit().await?)
}

/// Whether an account holds a role.
async fn holds<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    role: Role,
) -> Result<bool, ServiceError> {
    Ok(
        user_role::Entity::find_by_id((user_id, role.code().to_string()))
            .one(db)
            .await?
            .is_some(),
    )
}

/// Sets a new password and ends the account's sessions.
pub async fn reset_password(
    db: &DatabaseConnection,
    keyring: &Keyring,
    username: &str,
    password: &str,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let hash = hash_password(password).await?;
    let detail = format!("reset the password of {username}");
    let (txn, account) = begin_account_change(db, keyring, username, &detail, actor, now).await?;
    end_sessions_and_change(&txn, account, |active| active.password_hash = Set(hash)).await?;
    Ok(txn.commit().await?)
}

/// Ends an account's sessions and applies `change` to it, inside the caller's transaction.
async fn end_sessions_and_change(
    txn: &DatabaseTransaction,
    account: user::Model,
    change: impl FnOnce(&mut user::ActiveModel),
) -> Result<(), ServiceError> {
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(account.id))
        .exec(txn)
        .await?;
    let mut active: user::ActiveModel = account.into();
    change(&mut active);
    active.update(txn).await?;
    Ok(())
}

/// Display names by account id, in one query.
pub async fn display_names<C: ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, String>, ServiceError> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::DisplayName)
        .filter(user::Column::Id.is_in(ids))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staff_mail_address_is_optional_but_must_parse() {
        assert_eq!(parse_email(None).unwrap(), None);
        assert_eq!(parse_email(Some("  ")).unwrap(), None);
        assert_eq!(
            parse_email(Some(" li.jc@example.org ")).unwrap().as_deref(),
            Some("li.jc@example.org")
        );
        for bad in [
            "li.jc",
            "li jc@example.org",
            "<li@example.org>",
            "@example.org",
        ] {
            assert!(
                matches!(
                    parse_email(Some(bad)),
                    Err(ServiceError::Invalid("staff.users.bad_email"))
                ),
                "{bad}"
            );
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert!(matches!(
            parse_email(Some(&long)),
            Err(ServiceError::Invalid("staff.users.bad_email"))
        ));
    }
}
