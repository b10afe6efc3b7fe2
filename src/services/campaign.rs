//! The campaign clock: the plan's milestones (configured, and moved by the office), and for
//! each what is still due and whether it is late, from clear metadata only.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};

use super::ServiceError;
use super::access::{Caller, Viewer};
use super::audit::AuditAction;
use crate::config::MilestoneSettings;
use crate::domain::{CaseEvent, Outcome, Status};
use crate::entities::{campaign_milestone, relative_filing, report, report_event, site, upsert};

/// A milestone as it stands: its configured names, its day (the office's, if moved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    pub id: String,
    pub zh: String,
    pub en: String,
    pub due_on: NaiveDate,
    /// Moved from the configured day.
    pub moved: bool,
}

/// What a milestone still needs, as a catalog key and a count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub key: &'static str,
    pub count: u64,
    /// Whether this count must come down to zero for the milestone to be met.
    pub outstanding: bool,
}

/// A milestone on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneState {
    pub milestone: Milestone,
    pub due: Vec<Due>,
    /// Nothing outstanding.
    pub met: bool,
    /// Days from today to the milestone's day (negative once it has passed).
    pub days_left: i64,
}

impl MilestoneState {
    /// Past its day with something still outstanding.
    pub fn late(&self) -> bool {
        !self.met && self.days_left < 0
    }
}

/// The milestones in their configured order, each on the day the office set, if it did.
pub async fn milestones<C: ConnectionTrait>(
    db: &C,
    configured: &[MilestoneSettings],
) -> Result<Vec<Milestone>, ServiceError> {
    let moved: HashMap<String, NaiveDate> = campaign_milestone::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m.due_on))
        .collect();
    Ok(configured
        .iter()
        .map(|m| {
            let set = moved.get(&m.id).copied();
            Milestone {
                id: m.id.clone(),
                zh: m.zh.clone(),
                en: m.en.clone(),
                due_on: set.unwrap_or(m.due),
                moved: set.is_some_and(|d| d != m.due),
            }
        })
        .collect())
}

/// Moves a milestone to another day (inspectors only), audited.
pub async fn move_milestone(
    caller: Caller<'_>,
    configured: &[MilestoneSettings],
    id: &str,
    due_on: NaiveDate,
) -> Result<(), ServiceError> {
    if !caller.viewer.is_inspector() {
        return Err(ServiceError::Forbidden);
    }
    let Some(milestone) = configured.iter().find(|m| m.id == id) else {
        return Err(ServiceError::Invalid("campaign.choose_milestone"));
    };
    let detail = format!("campaign milestone {} moved to {due_on}", milestone.id);
    let txn = caller
        .begin(AuditAction::CampaignChange, None, &detail)
        .await?;
    upsert(
        &txn,
        campaign_milestone::ActiveModel {
            id: Set(milestone.id.clone()),
            due_on: Set(due_on),
            changed_by: Set(caller.viewer.user_id),
            changed_at: Set(caller.now),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Every milestone with what is due for it on `today`, over the cases the viewer may see.
pub async fn dashboard<C: ConnectionTrait>(
    db: &C,
    viewer: &Viewer,
    configured: &[MilestoneSettings],
    today: NaiveDate,
) -> Result<Vec<MilestoneState>, ServiceError> {
    if !viewer.is_inspector() {
        return Err(ServiceError::Forbidden);
    }
    let Some(visible) = viewer.visible() else {
        return Ok(Vec::new());
    };
    let cases: Vec<(uuid::Uuid, String, String, Option<String>, NaiveDate)> =
        report::Entity::find()
            .filter(visible)
            .select_only()
            .columns([
                report::Column::Id,
                report::Column::Channel,
                report::Column::Status,
                report::Column::Outcome,
                report::Column::ReceivedOn,
            ])
            .into_tuple()
            .all(db)
            .await?;
    let reported: std::collections::HashSet<uuid::Uuid> = report_event::Entity::find()
        .filter(report_event::Column::Kind.eq(CaseEvent::ReportedToDistrictBureau.code()))
        .all(db)
        .await?
        .into_iter()
        .map(|e| e.report_id)
        .collect();
    let sites = site::Entity::find()
        .filter(site::Column::Enabled.eq(true))
        .count(db)
        .await?;
    let filings = relative_filing::Entity::find().count(db).await?;
    let unvisited = super::register::unvisited_count(db).await?;
    let summary_final = super::summary::is_finalised(db).await?;
    let open = |status: &str| {
        [Status::Received, Status::Accepted, Status::Verifying]
            .iter()
            .any(|s| s.code() == status)
    };
    let mut states = Vec::new();
    for milestone in milestones(db, configured).await? {
        let before = |received: &NaiveDate| *received <= milestone.due_on;
        let due = match milestone.id.as_str() {
            "deploy" => vec![
                Due {
                    key: "campaign.due.sites",
                    count: sites,
                    outstanding: false,
                },
                Due {
                    key: "campaign.due.no_sites",
                    count: u64::from(sites == 0),
                    outstanding: true,
                },
            ],
            "verification_report" => {
                let unreported = cases
                    .iter()
                    .filter(|(id, _, _, outcome, _)| {
                        matches!(
                            outcome.as_deref().and_then(Outcome::parse),
                            Some(Outcome::Substantiated | Outcome::PartlySubstantiated)
                        ) && !reported.contains(id)
                    })
                    .count() as u64;
                vec![
                    Due {
                        key: "campaign.due.unreported",
                        count: unreported,
                        outstanding: true,
                    },
                    Due {
                        key: "campaign.due.filings",
                        count: filings,
                        outstanding: false,
                    },
                    // Every filed relative must have been visited (入户核实) for the report.
                    Due {
                        key: "campaign.due.unvisited",
                        count: unvisited,
                        outstanding: true,
                    },
                ]
            }
            "self_inspection" => {
                let found = cases
                    .iter()
                    .filter(|(_, channel, ..)| channel == "self_inspection");
                let waiting = found
                    .clone()
                    .filter(|(_, _, status, ..)| status == Status::Received.code())
                    .count() as u64;
                vec![
                    Due {
                        key: "campaign.due.self_found",
                        count: found.count() as u64,
                        outstanding: false,
                    },
                    Due {
                        key: "campaign.due.self_waiting",
                        count: waiting,
                        outstanding: true,
                    },
                ]
            }
            "investigation" => {
                let unfinished = cases
                    .iter()
                    .filter(|(_, _, status, _, received)| open(status) && before(received))
                    .count() as u64;
                vec![Due {
                    key: "campaign.due.unfinished",
                    count: unfinished,
                    outstanding: true,
                }]
            }
            "summary" => vec![Due {
                key: "campaign.due.summary",
                count: u64::from(!summary_final),
                outstanding: true,
            }],
            _ => Vec::new(),
        };
        let met = due.iter().all(|d| !d.outstanding || d.count == 0);
        states.push(MilestoneState {
            days_left: (milestone.due_on - today).num_days(),
            milestone,
            due,
            met,
        });
    }
    Ok(states)
}
