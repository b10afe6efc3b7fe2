//! A report: routing metadata in clear, everything a person wrote sealed with the report's DEK.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `YYYY-NNNN`, numbered per year in arrival order.
    pub case_number: String,
    /// How it arrived: web, hotline, letter, API… (clear: routing needs it).
    pub channel: String,
    /// The kind of favoritism reported (clear: routing and the ledger count it).
    pub category: String,
    /// The village it concerns, by configured id (clear: routing).
    pub village: Option<String>,
    /// The reported person's role, e.g. civil-affairs staff (clear: routing and recusal).
    pub subject_role: Option<String>,
    /// Whether the reporter left no name.
    pub anonymous: bool,
    /// Workflow status code.
    pub status: String,
    /// The day only, for every report: no report keeps a time of day.
    pub received_on: Date,
    /// When an inspector last moved it (a staff action, so an exact time).
    pub status_changed_at: Option<DateTimeUtc>,
    /// The report's own data key, wrapped by the KEK `dek_kek_id`, the wrap bound to the report id.
    pub dek_id: Uuid,
    pub dek_kek_id: String,
    pub dek_wrapped: Vec<u8>,
    /// The tracking code as an HMAC under key `tracking_key_id`: never the code itself.
    pub tracking_key_id: String,
    pub tracking_hash: Vec<u8>,
    /// Sealed (AES-256-GCM under the DEK, AAD naming table, row and field) from here on.
    pub description: Vec<u8>,
    pub subject: Option<Vec<u8>>,
    pub occurred: Option<Vec<u8>>,
    pub reporter_name: Option<Vec<u8>>,
    pub reporter_phone: Option<Vec<u8>>,
    /// The operator who typed it in, for hotline and letter reports.
    pub operator_id: Option<Uuid>,
    /// The inspector handling it.
    pub assignee_id: Option<Uuid>,
    /// The case this one was merged into.
    pub merged_into: Option<Uuid>,
    /// The finding once concluded.
    pub outcome: Option<String>,
    /// Arrived during a flood: kept, but waiting for an inspector's review.
    pub quarantined: bool,
    /// The posting site whose QR code the report came through, if any.
    pub site_id: Option<Uuid>,
    /// The day its content was destroyed under the retention rule; only metadata is left.
    pub purged_on: Option<Date>,
}

super::standalone_table!();
