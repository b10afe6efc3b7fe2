//! A rectification measure on a substantiated case: what is to be put right, by whom, by when.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "rectification_measures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The case, whose DEK seals `measure` and `responsible`.
    pub report_id: Uuid,
    /// 1, 2, … within the case.
    pub seq: i32,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    /// Sealed: what is to be put right. `None` once the case is purged.
    pub measure: Option<Vec<u8>>,
    /// Sealed: the unit or person responsible. `None` once the case is purged.
    pub responsible: Option<Vec<u8>>,
    pub due_on: Date,
    /// The day it was done, as the inspector gives it.
    pub done_on: Option<Date>,
}

super::standalone_table!();
