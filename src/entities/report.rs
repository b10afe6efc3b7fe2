//! A report: routing metadata in clear, everything a person wrote sealed with the report's DEK.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub case_number: String,
    pub channel: String,
    pub category: String,
    pub village: Option<String>,
    pub subject_role: Option<String>,
    pub anonymous: bool,
    pub status: String,
    /// The day only, for every report: no report keeps a time of day.
    pub received_on: Date,
    pub status_changed_at: Option<DateTimeUtc>,
    pub dek_id: Uuid,
    pub dek_kek_id: String,
    pub dek_wrapped: Vec<u8>,
    pub tracking_key_id: String,
    pub tracking_hash: Vec<u8>,
    pub description: Vec<u8>,
    pub subject: Option<Vec<u8>>,
    pub occurred: Option<Vec<u8>>,
    pub reporter_name: Option<Vec<u8>>,
    pub reporter_phone: Option<Vec<u8>>,
    pub operator_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub merged_into: Option<Uuid>,
    pub outcome: Option<String>,
    /// Arrived during a flood: kept, but waiting for an inspector's review.
    pub quarantined: bool,
    /// The posting site whose QR code the report came through, if any.
    pub site_id: Option<Uuid>,
    /// The day its content was destroyed under the retention rule; only metadata is left.
    pub purged_on: Option<Date>,
}

super::standalone_table!();
