//! The day a transfer or a report to the bureau happened, as the inspector gives it (it is
//! often recorded days later): the click time stays in `at`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ReportEvents::Table)
                    .add_column(date_null(ReportEvents::HappenedOn))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ReportEvents::Table)
                    .drop_column(ReportEvents::HappenedOn)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ReportEvents {
    Table,
    HappenedOn,
}
