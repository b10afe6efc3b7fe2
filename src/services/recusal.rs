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

/// Reports `user_id` is not recused from, as a condition on `reports`: every list, count and
/// lookup a staff member makes goes through it, so a recused case is simply absent.
pub fn not_recused_condition(user_id: Uuid) -> sea_orm::Condition {
    use sea_orm::sea_query::Query;
    use sea_orm::{ColumnTrait, Condition};

    use crate::entities::{recusal, report};

    Condition::all().add(
        report::Column::Id.not_in_subquery(
            Query::select()
                .column(recusal::Column::ReportId)
                .from(recusal::Entity)
                .and_where(recusal::Column::UserId.eq(user_id))
                .to_owned(),
        ),
    )
}

/// Whether `user_id` is recused from the report.
pub async fn is_recused<C: ConnectionTrait>(
    db: &C,
    report_id: Uuid,
    user_id: Uuid,
) -> Result<bool, ServiceError> {
    use sea_orm::EntityTrait;

    use crate::entities::recusal;

    Ok(recusal::Entity::find_by_id((report_id, user_id))
        .one(db)
        .await?
        .is_some())
}

/// Every account recused from the report.
pub async fn recused_users<C: ConnectionTrait>(
    db: &C,
    report_id: Uuid,
) -> Result<Vec<Uuid>, ServiceError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    use crate::entities::recusal;

    Ok(recusal::Entity::find()
        .filter(recusal::Column::ReportId.eq(report_id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.user_id)
        .collect())
}
