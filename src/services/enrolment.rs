//! Enrolment links: an account made on the admin pages has no password until its owner opens
//! the one-time link the admin hands over and sets their own password and two-factor code.
//! The admin never knows a password that works, so cannot sign in as the account.

use chrono::{DateTime, Duration, Utc};
use sea_orm::QueryFilter;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::ServiceError;
use super::audit::{self, AuditAction, AuditRecord};
use super::passwords::{NO_PASSWORD, hash_password};
use super::staff::{self, NewUser, awaits_enrolment, code_step, spend_step};
use crate::crypto::Keyring;
use crate::entities::{enrolment, session, user};

/// A link just issued: its token is shown to the admin once and stored only as a hash.
pub struct Invitation {
    pub username: String,
    pub token: Zeroizing<String>,
    pub expires_at: DateTime<Utc>,
}

impl Invitation {
    /// The link's path on this service.
    pub fn path(&self) -> String {
        format!("/staff/enrol/{}", self.token.as_str())
    }
}

/// What the owner of a live link is shown: whose account it is and the TOTP secret to scan.
pub struct OpenLink {
    pub username: String,
    pub display_name: String,
    pub totp_url: Zeroizing<String>,
}

/// Why completing an enrolment did not happen.
pub enum Completion {
    Enrolled,
    /// Unknown, expired or used already (or the account was disabled): one answer for all.
    DeadLink,
}

fn token_hash(token: &str) -> Vec<u8> {
    crate::crypto::session_id_hash(token)
}

/// Creates the account without a password and issues its first link; the audit entry names
/// the admin who issued it.
pub async fn invite_user(
    db: &DatabaseConnection,
    keyring: &Keyring,
    new: NewUser,
    issuer: Uuid,
    lifetime: Duration,
    now: DateTime<Utc>,
) -> Result<Invitation, ServiceError> {
    staff::check_new_user(&new)?;
    let issuer_name = username_of(db, issuer).await?;
    let username = new.username.clone();
    let detail = format!("created account {username}; enrolment link issued by {issuer_name}");
    let record = AuditRecord::new(Some(issuer), AuditAction::UserChange, None, &detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    let user_id = staff::insert_user(&txn, keyring, new, NO_PASSWORD.to_string(), now).await?;
    let invitation = issue(&txn, user_id, username, issuer, lifetime, now).await?;
    txn.commit().await?;
    Ok(invitation)
}

/// A new link for an account that has not enrolled yet (the first one expired or was lost);
/// every earlier link of the account stops working.
pub async fn reissue(
    db: &DatabaseConnection,
    keyring: &Keyring,
    username: &str,
    issuer: Uuid,
    lifetime: Duration,
    now: DateTime<Utc>,
) -> Result<Invitation, ServiceError> {
    let account = user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !awaits_enrolment(&account) || account.disabled {
        return Err(ServiceError::Invalid("staff.enrol.not_pending"));
    }
    let issuer_name = username_of(db, issuer).await?;
    let detail = format!("enrolment link for {username} issued by {issuer_name}");
    let record = AuditRecord::new(Some(issuer), AuditAction::UserChange, None, &detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    enrolment::Entity::delete_many()
        .filter(enrolment::Column::UserId.eq(account.id))
        .exec(&txn)
        .await?;
    let invitation = issue(&txn, account.id, account.username, issuer, lifetime, now).await?;
    txn.commit().await?;
    Ok(invitation)
}

async fn username_of(db: &DatabaseConnection, id: Uuid) -> Result<String, ServiceError> {
    Ok(user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::Forbidden)?
        .username)
}

async fn issue(
    txn: &impl sea_orm::ConnectionTrait,
    user_id: Uuid,
    username: String,
    issuer: Uuid,
    lifetime: Duration,
    now: DateTime<Utc>,
) -> Result<Invitation, ServiceError> {
    let token = Zeroizing::new(crate::crypto::random_token());
    let expires_at = now + lifetime;
    enrolment::ActiveModel {
        token_hash: Set(token_hash(&token)),
        user_id: Set(user_id),
        issued_by: Set(issuer),
        created_at: Set(now),
        expires_at: Set(expires_at),
    }
    .insert(txn)
    .await?;
    Ok(Invitation {
        username,
        token,
        expires_at,
    })
}

/// The account behind a live link, if there is one.
async fn live_link(
    db: &impl sea_orm::ConnectionTrait,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<user::Model>, ServiceError> {
    let Some(link) = enrolment::Entity::find_by_id(token_hash(token))
        .filter(enrolment::Column::ExpiresAt.gt(now))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(user::Entity::find_by_id(link.user_id)
        .one(db)
        .await?
        .filter(|a| awaits_enrolment(a) && !a.disabled))
}

/// The page behind a link: the account, and its TOTP secret (made on first opening, the same
/// on every reload until the enrolment is completed).
pub async fn open_link(
    db: &DatabaseConnection,
    keyring: &Keyring,
    token: &str,
    totp_issuer: &str,
    now: DateTime<Utc>,
) -> Result<Option<OpenLink>, ServiceError> {
    let Some(account) = live_link(db, token, now).await? else {
        return Ok(None);
    };
    let Some(totp_url) = staff::begin_totp(db, keyring, account.id, totp_issuer).await? else {
        return Ok(None);
    };
    Ok(Some(OpenLink {
        username: account.username,
        display_name: account.display_name,
        totp_url,
    }))
}

/// Sets the account's own password and turns two-factor on with a valid code, and spends the
/// link, all in one transaction: a link works once, even when two tries race.
pub async fn complete(
    db: &DatabaseConnection,
    keyring: &Keyring,
    token: &str,
    password: &str,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Completion, ServiceError> {
    let Some(account) = live_link(db, token, now).await? else {
        return Ok(Completion::DeadLink);
    };
    let password_hash = hash_password(password).await?;
    let Some(step) = code_step(keyring, &account, Some(code), now)? else {
        return Err(ServiceError::Invalid("staff.totp_wrong"));
    };
    let detail = format!(
        "enrolled with their own password and two-factor: {}",
        account.username
    );
    let record = AuditRecord::new(Some(account.id), AuditAction::UserChange, None, &detail);
    let txn = audit::begin(db, keyring, record, now).await?;
    let spent = enrolment::Entity::delete_many()
        .filter(enrolment::Column::TokenHash.eq(token_hash(token)))
        .filter(enrolment::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    let first = spent.rows_affected == 1
        && spend_step(&txn, account.id, step, user::Column::TotpLastStep.is_null()).await?;
    if !first {
        txn.rollback().await?;
        return Ok(Completion::DeadLink);
    }
    user::Entity::update_many()
        .col_expr(
            user::Column::PasswordHash,
            sea_orm::sea_query::Expr::value(password_hash),
        )
        .filter(user::Column::Id.eq(account.id))
        .exec(&txn)
        .await?;
    // The account's other links die with this one, and it has no sessions to end.
    enrolment::Entity::delete_many()
        .filter(enrolment::Column::UserId.eq(account.id))
        .exec(&txn)
        .await?;
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(account.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(Completion::Enrolled)
}

/// Forgets links that have expired.
pub async fn forget_expired(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<u64, ServiceError> {
    let gone = enrolment::Entity::delete_many()
        .filter(enrolment::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(gone.rows_affected)
}
