//! A campaign milestone moved by the office from its configured day.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign_milestones")]
pub struct Model {
    /// The milestone's configured id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub due_on: Date,
    pub changed_by: Uuid,
    pub changed_at: DateTimeUtc,
}

super::standalone_table!();
