//! A day (Asia/Shanghai) whose daily digests have been written to the outbox.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "digests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    pub enqueued_at: DateTimeUtc,
}

super::standalone_table!();
