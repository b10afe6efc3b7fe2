//! Staff accounts: passwords, roles, aliases, TOTP and sessions.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, password_hash::rand_core::OsRng};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::ServiceError;
use super::audit::{self, AuditAction, AuditRecord};
use crate::crypto::Keyring;
use crate::domain::Role;
use crate::entities::{user, user_alias, user_role};

/// A new account as an admin (or the CLI) describes it.
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub aliases: Vec<String>,
    pub password: Zeroizing<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("username '{0}' is taken")]
    UsernameTaken(String),
    #[error("no such user '{0}'")]
    NoSuchUser(String),
    #[error("the password must be at least 12 characters")]
    WeakPassword,
    #[error("an account needs at least one role")]
    NoRole,
    #[error("username: 1–64 letters, digits, '.', '-' or '_'")]
    BadUsername,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<sea_orm::DbErr> for StaffError {
    fn from(e: sea_orm::DbErr) -> StaffError {
        StaffError::Service(ServiceError::Db(e))
    }
}

pub const MIN_PASSWORD: usize = 12;

pub fn hash_password(password: &str) -> Result<String, StaffError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| StaffError::WeakPassword)
}

/// Constant work whether or not the hash parses, so a missing account costs the same time.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Creates an account with its roles and aliases, indexes its names for recusal (which may
/// recuse it from existing reports at once) and records it in the audit log.
pub async fn create_user(
    db: &DatabaseConnection,
    keyring: &Keyring,
    new: NewUser,
    actor: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Uuid, StaffError> {
    if !valid_username(&new.username) {
        return Err(StaffError::BadUsername);
    }
    if new.roles.is_empty() {
        return Err(StaffError::NoRole);
    }
    if new.password.chars().count() < MIN_PASSWORD {
        return Err(StaffError::WeakPassword);
    }
    let password_hash = hash_password(&new.password)?;
    let txn = db.begin().await?;
    let detail = format!("created account {}", new.username);
    audit::append(
        &txn,
        keyring,
        AuditRecord {
            actor,
            action: AuditAction::UserChange,
            report: None,
            detail: &detail,
        },
        now,
    )
    .await?;
    if user::Entity::find()
        .filter(user::Column::Username.eq(&new.username))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(StaffError::UsernameTaken(new.username));
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
    }
    .insert(&txn)
    .await?;
    for role in &new.roles {
        user_role::ActiveModel {
            user_id: Set(id),
            role: Set(role.code().to_string()),
        }
        .insert(&txn)
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
        .insert(&txn)
        .await?;
    }
    super::recusal::rematch_user(&txn, keyring, id, now).await?;
    txn.commit().await?;
    Ok(id)
}

/// The roles an account holds.
pub async fn roles_of(db: &DatabaseConnection, user_id: Uuid) -> Result<Vec<Role>, ServiceError> {
    Ok(user_role::Entity::find()
        .filter(user_role::Column::UserId.eq(user_id))
        .all(db)
        .await?
        .iter()
        .filter_map(|r| Role::parse(&r.role))
        .collect())
}
