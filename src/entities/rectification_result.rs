//! What a rectification measure came to: support stopped or granted, an amount corrected,
//! money recovered, people dealt with — each on the day it happened.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "rectification_results")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub measure_id: Uuid,
    /// The case, whose DEK seals `detail`.
    pub report_id: Uuid,
    /// A `ResultKind` code.
    pub kind: String,
    /// The day it happened (not the day it was recorded).
    pub happened_on: Date,
    /// Households (support) or people (dealt with).
    pub count: i32,
    /// For an amount corrected or recovered, in fen.
    pub amount_fen: Option<i64>,
    /// Sealed: who was dealt with and how, or any other particulars.
    pub detail: Option<Vec<u8>>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTimeUtc,
}

super::standalone_table!();
