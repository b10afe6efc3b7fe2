//! A public form token already spent: each form submits once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "used_form_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub nonce: Vec<u8>,
    pub expires_at: DateTimeUtc,
}

super::standalone_table!();
