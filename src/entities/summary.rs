//! The campaign summary's written sections: a draft until finalised, then frozen.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "summaries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Effective practices (有效做法).
    pub practices: String,
    /// Problems found and difficulties (存在的问题和困难).
    pub problems: String,
    /// Next steps and suggestions (下一步工作和建议).
    pub next_steps: String,
    pub updated_by: Uuid,
    pub updated_at: DateTimeUtc,
    pub finalised_by: Option<Uuid>,
    pub finalised_at: Option<DateTimeUtc>,
}

super::standalone_table!();
