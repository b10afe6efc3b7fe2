//! The campaign's milestones as the office moved them: the configuration gives each its
//! default day; a row here is the day an inspector set instead.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CampaignMilestones::Table)
                    .col(string(CampaignMilestones::Id).primary_key())
                    .col(date(CampaignMilestones::DueOn))
                    .col(uuid(CampaignMilestones::ChangedBy))
                    .col(timestamp_with_time_zone(CampaignMilestones::ChangedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CampaignMilestones::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum CampaignMilestones {
    Table,
    Id,
    DueOn,
    ChangedBy,
    ChangedAt,
}
