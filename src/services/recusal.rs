//! Recusal (回避): staff named in a report, or whose filed close relatives are, never see it.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::ServiceError;
use crate::crypto::Keyring;
use crate::domain::ReportDraft;

/// Indexes the people a new report names and recuses matching staff, inside the intake
/// transaction and before anything is sealed. Returns the recused accounts.
pub async fn recuse_at_intake<C: ConnectionTrait>(
    txn: &C,
    keyring: &Keyring,
    report_id: Uuid,
    draft: &ReportDraft,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, ServiceError> {
    // Stub until recusal lands.
    let _ = (txn, keyring, report_id, draft, now);
    Ok(Vec::new())
}

/// Rebuilds the blind indexes of a staff member's display name and aliases, then recuses
/// them from every existing report that names them. Call after any change to the account's
/// names (and after a close-relative filing changes).
pub async fn rematch_user<C: ConnectionTrait>(
    txn: &C,
    keyring: &Keyring,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, ServiceError> {
    // Stub until recusal lands.
    let _ = (txn, keyring, user_id, now);
    Ok(Vec::new())
}
