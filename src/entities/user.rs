//! A staff account. The TOTP secret is sealed under a DEK of its own.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    pub password_hash: String,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_dek_id: Option<Uuid>,
    pub totp_kek_id: Option<String>,
    pub totp_dek_wrapped: Option<Vec<u8>>,
    pub totp_last_step: Option<i64>,
    pub created_at: DateTimeUtc,
    /// Where the daily digest of this account's due cases goes; none, no digest.
    pub email: Option<String>,
}

super::standalone_table!();
