//! Signing in and staying signed in: passwords, sessions, and TOTP two-factor codes.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter,
};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::{Dek, Keyring, WrappedDek};
use crate::domain::Role;
use crate::entities::{session, user};
use crate::services::ServiceError;
use crate::services::access::{Sealer, new_row_key, row_key};
use crate::services::audit::{self, AuditAction, AuditRecord};
use crate::services::passwords::verify_password;

use super::roles_of;

/// The signed-in staff member behind a session cookie.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// The raw session id, kept only in memory for deriving the CSRF token.
    pub session_id: String,
    pub totp_enrolled: bool,
}

impl SessionUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

pub enum LoginOutcome {
    /// Signed in: the new session's id goes into the cookie.
    SignedIn { session_id: String, user_id: Uuid },
    /// Wrong name, password or code, or a disabled account: one answer for all.
    Refused,
}

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    pub idle: chrono::Duration,
    pub absolute: chrono::Duration,
}

/// An account's TOTP secret is sealed under a key of the account's own.
fn totp_sealer(dek: &Dek, user_id: Uuid) -> Sealer<'_> {
    Sealer::new(dek, "users", user_id)
}

pub(in crate::services) fn open_totp_secret(
    keyring: &Keyring,
    account: &user::Model,
) -> Result<Option<Zeroizing<Vec<u8>>>, ServiceError> {
    let (Some(sealed), Some(dek_id), Some(kek_id), Some(wrapped)) = (
        account.totp_secret.as_ref(),
        account.totp_dek_id,
        account.totp_kek_id.clone(),
        account.totp_dek_wrapped.clone(),
    ) else {
        return Ok(None);
    };
    let dek = row_key(
        keyring,
        &WrappedDek {
            dek_id,
            kek_id,
            bytes: wrapped,
        },
        account.id,
    )?;
    Ok(Some(
        totp_sealer(&dek, account.id).open_bytes("totp_secret", sealed)?,
    ))
}

/// Checks name, password and (once enrolled) a TOTP code that has not been used before,
/// then opens a session. Every outcome is audited; nothing says which part was wrong.
pub async fn login(
    db: &DatabaseConnection,
    keyring: &Keyring,
    username: &str,
    password: &str,
    totp: Option<&str>,
    now: DateTime<Utc>,
) -> Result<LoginOutcome, ServiceError> {
    let account = user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await?;
    let password_ok =
        verify_password(password, account.as_ref().map(|a| a.password_hash.as_str())).await;
    let Some(account) = account else {
        return refuse_login(db, keyring, "failed sign-in for an unknown account", now).await;
    };
    if !password_ok || account.disabled {
        let detail = format!("failed sign-in for {}", account.username);
        return refuse_login(db, keyring, &detail, now).await;
    }
    let code_refused = format!("failed sign-in (code) for {}", account.username);
    let mut new_step = None;
    if let Some(last_step) = account.totp_last_step {
        match code_step(keyring, &account, totp, now)? {
            Some(step) if step > last_step => new_step = Some(step),
            _ => return refuse_login(db, keyring, &code_refused, now).await,
        }
    }
    let detail = format!("signed in: {}", account.username);
    let record = AuditRecord::new(Some(account.id), AuditAction::Login, None, &detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    // Checked and spent in one statement: of two sign-ins racing with one code, the
    // second finds the step already used and is refused.
    if let Some(step) = new_step
        && !spend_step(&txn, account.id, step, user::Column::TotpLastStep.lt(step)).await?
    {
        txn.rollback().await?;
        return refuse_login(db, keyring, &code_refused, now).await;
    }
    let session_id = crate::crypto::random_token();
    session::ActiveModel {
        id_hash: Set(crate::crypto::session_id_hash(&session_id)),
        user_id: Set(account.id),
        created_at: Set(now),
        last_seen_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(LoginOutcome::SignedIn {
        session_id,
        user_id: account.id,
    })
}

async fn refuse_login(
    db: &DatabaseConnection,
    keyring: &Keyring,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<LoginOutcome, ServiceError> {
    let record = AuditRecord::new(None, AuditAction::LoginFailed, None, detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    txn.commit().await?;
    Ok(LoginOutcome::Refused)
}

/// The staff member behind a session id, if the session is live; expired sessions are
/// deleted on sight.
pub async fn session_user(
    db: &DatabaseConnection,
    session_id: &str,
    limits: SessionLimits,
    now: DateTime<Utc>,
) -> Result<Option<SessionUser>, ServiceError> {
    let hash = crate::crypto::session_id_hash(session_id);
    let Some(found) = session::Entity::find_by_id(hash.clone()).one(db).await? else {
        return Ok(None);
    };
    let expired =
        now - found.last_seen_at > limits.idle || now - found.created_at > limits.absolute;
    let account = user::Entity::find_by_id(found.user_id).one(db).await?;
    let Some(account) = account.filter(|a| !a.disabled && !expired) else {
        session::Entity::delete_by_id(hash).exec(db).await?;
        return Ok(None);
    };
    // Touch at most once a minute: a write per request would serialize SQLite for nothing.
    if now - found.last_seen_at > chrono::Duration::seconds(60) {
        let mut active: session::ActiveModel = found.into();
        active.last_seen_at = Set(now);
        active.update(db).await?;
    }
    Ok(Some(SessionUser {
        user_id: account.id,
        roles: roles_of(db, account.id).await?,
        username: account.username,
        display_name: account.display_name,
        session_id: session_id.to_string(),
        totp_enrolled: account.totp_last_step.is_some(),
    }))
}

pub async fn logout(
    db: &DatabaseConnection,
    keyring: &Keyring,
    user: &SessionUser,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let detail = format!("signed out: {}", user.username);
    let record = AuditRecord::new(Some(user.user_id), AuditAction::Logout, None, &detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    session::Entity::delete_by_id(crate::crypto::session_id_hash(&user.session_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Enrolment step one: a secret that is stored (sealed) but not yet required. Reloading
/// the page shows the same secret until it is confirmed. Returns the otpauth:// URL.
pub async fn begin_totp(
    db: &DatabaseConnection,
    keyring: &Keyring,
    user_id: Uuid,
    issuer: &str,
) -> Result<Option<Zeroizing<String>>, ServiceError> {
    let Some(account) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(None);
    };
    if account.totp_last_step.is_some() {
        return Ok(None);
    }
    let secret = match open_totp_secret(keyring, &account)? {
        Some(secret) => secret,
        None => {
            let secret = crate::crypto::new_totp_secret();
            let (dek, wrapped) = new_row_key(keyring, account.id)?;
            let sealed = totp_sealer(&dek, account.id).seal_bytes("totp_secret", &secret)?;
            let mut active: user::ActiveModel = account.clone().into();
            active.totp_secret = Set(Some(sealed));
            active.totp_dek_id = Set(Some(wrapped.dek_id));
            active.totp_kek_id = Set(Some(wrapped.kek_id));
            active.totp_dek_wrapped = Set(Some(wrapped.bytes));
            active.update(db).await?;
            secret
        }
    };
    Ok(Some(Zeroizing::new(crate::crypto::totp_url(
        &secret,
        issuer,
        &account.username,
    )?)))
}

/// Enrolment step two: a valid code turns TOTP on; that code's step is then used up. An
/// account that is enrolled already is refused: confirming again could move its used step
/// back and let a spent code work a second time.
pub async fn confirm_totp(
    db: &DatabaseConnection,
    keyring: &Keyring,
    user_id: Uuid,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let Some(account) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(false);
    };
    if account.totp_last_step.is_some() {
        return Ok(false);
    }
    let Some(step) = code_step(keyring, &account, Some(code), now)? else {
        return Ok(false);
    };
    let detail = format!("two-factor enrolled: {}", account.username);
    let record = AuditRecord::new(Some(account.id), AuditAction::UserChange, None, &detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    if !spend_step(&txn, account.id, step, user::Column::TotpLastStep.is_null()).await? {
        txn.rollback().await?;
        return Ok(false);
    }
    txn.commit().await?;
    Ok(true)
}

/// The time step of `code` for the account's TOTP secret, if it is valid now.
pub(in crate::services) fn code_step(
    keyring: &Keyring,
    account: &user::Model,
    code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, ServiceError> {
    let (Some(secret), Some(code)) = (open_totp_secret(keyring, account)?, code) else {
        return Ok(None);
    };
    let step = crate::crypto::totp_step(&secret, code, now.timestamp().max(0) as u64);
    Ok(step.map(|s| s as i64))
}

/// Records `step` as the account's last used one if `unused` (a condition on the stored
/// step) still holds, in one statement; false when it did not.
pub(in crate::services) async fn spend_step(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    step: i64,
    unused: sea_orm::sea_query::SimpleExpr,
) -> Result<bool, ServiceError> {
    let spent = user::Entity::update_many()
        .col_expr(user::Column::TotpLastStep, Expr::value(step))
        .filter(user::Column::Id.eq(user_id))
        .filter(unused)
        .exec(db)
        .await?;
    Ok(spent.rows_affected == 1)
}
