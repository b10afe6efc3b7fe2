//! Abuse control: used form tokens (single use) and the quarantine flag for flood reports.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Only the token's random nonce and when it would expire anyway: nothing links a row
        // here to the report it carried.
        manager
            .create_table(
                Table::create()
                    .table(UsedFormTokens::Table)
                    .col(blob(UsedFormTokens::Nonce).primary_key())
                    .col(timestamp_with_time_zone(UsedFormTokens::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Reports::Table)
                    .add_column(boolean(Reports::Quarantined).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Reports::Table)
                    .drop_column(Reports::Quarantined)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(UsedFormTokens::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum UsedFormTokens {
    Table,
    Nonce,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    Quarantined,
}
