//! One entry of the append-only, HMAC-chained audit log.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub at: DateTimeUtc,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub report_id: Option<Uuid>,
    pub detail: String,
    pub key_id: String,
    pub mac: Vec<u8>,
}

super::standalone_table!();
