//! Posting sites (where a notice with a QR code hangs) and the site a report came through.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sites::Table)
                    .col(uuid(Sites::Id).primary_key())
                    .col(string_len(Sites::Kind, 32))
                    .col(string_len(Sites::Name, 100))
                    .col(string_len_null(Sites::Village, 64))
                    // Printed on the notice for anyone to see; unguessable only so that
                    // nobody can attribute reports to a site they made up.
                    .col(string_len_uniq(Sites::Token, 128))
                    .col(boolean(Sites::Enabled))
                    // Set to the village for an enabled household site, NULL otherwise: the
                    // unique index below then allows one live household site per village on
                    // both engines (NULLs never collide), and a disabled one can be replaced.
                    .col(string_len_null(Sites::HouseholdVillage, 64))
                    .col(timestamp_with_time_zone(Sites::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_sites_household_village")
                    .table(Sites::Table)
                    .col(Sites::HouseholdVillage)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // One column per statement: SQLite alters one thing at a time. No foreign key: SQLite
        // cannot add one to an existing table, and a site is never deleted, only disabled.
        manager
            .alter_table(
                Table::alter()
                    .table(Reports::Table)
                    .add_column(ColumnDef::new(Reports::SiteId).uuid().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_reports_site")
                    .table(Reports::Table)
                    .col(Reports::SiteId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_reports_site")
                    .table(Reports::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Reports::Table)
                    .drop_column(Reports::SiteId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Sites::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Sites {
    Table,
    Id,
    Kind,
    Name,
    Village,
    Token,
    Enabled,
    HouseholdVillage,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Reports {
    Table,
    SiteId,
}
