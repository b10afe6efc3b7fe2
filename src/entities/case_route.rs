//! A recipient group a case was sent to, and why: a routing rule or an inspector's escalation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "case_routes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub report_id: Uuid,
    pub group_id: String,
    /// `rule` or `escalation`.
    pub reason: String,
    pub actor_id: Option<Uuid>,
    pub at: DateTimeUtc,
}

super::standalone_table!();
