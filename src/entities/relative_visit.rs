//! A home visit (入户核实) to a filed close relative: the day it happened and the finding in
//! clear, who went and the follow-up sealed under the filing's key.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "relative_visits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The filing, whose DEK seals `visitor` and `follow_up`.
    pub filing_id: Uuid,
    /// The day the visit happened (not the day it was recorded).
    pub visited_on: Date,
    pub visitor: Vec<u8>,
    /// A `VisitFinding` code.
    pub finding: String,
    pub follow_up: Option<Vec<u8>>,
    pub recorded_by: Uuid,
    pub created_at: DateTimeUtc,
}

super::standalone_table!();
