//! The close-relative register (近亲属备案) grows into what the verification report needs: a
//! filing may name a cadre or caseworker without an account (name and post sealed under the
//! filing's own key, village in clear), records the relative's village and kind of support in
//! clear (the report counts them), and carries its home visits (入户核实). Who visited and the
//! follow-up are sealed under the filing's key; the day and the finding stay in clear, because
//! the register is filtered and counted by them.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// SQLite rebuilds the table; the rebuild must not be seen half done.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            // SQLite cannot drop NOT NULL: the table is made again, its rows copied over.
            DbBackend::Sqlite => {
                manager
                    .create_table(filings_table(
                        Alias::new("relative_filings_new"),
                        uuid_null(RelativeFilings::UserId),
                    ))
                    .await?;
                db.execute_unprepared(
                    "INSERT INTO relative_filings_new \
                     (id, user_id, name, relation, dek_id, dek_kek_id, dek_wrapped, created_at) \
                     SELECT id, user_id, name, relation, dek_id, dek_kek_id, dek_wrapped, created_at \
                     FROM relative_filings",
                )
                .await?;
                db.execute_unprepared("DROP TABLE relative_filings").await?;
                db.execute_unprepared(
                    "ALTER TABLE relative_filings_new RENAME TO relative_filings",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "ALTER TABLE relative_filings ALTER COLUMN user_id DROP NOT NULL",
                )
                .await?;
            }
        }
        // One column per statement: SQLite adds them one at a time.
        for column in [
            blob_null(RelativeFilings::CadreName),
            blob_null(RelativeFilings::CadrePost),
            string_len_null(RelativeFilings::CadreVillage, 64),
            string_len_null(RelativeFilings::Village, 64),
            string_len_null(RelativeFilings::Support, 16),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(RelativeFilings::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(RelativeVisits::Table)
                    .col(uuid(RelativeVisits::Id).primary_key())
                    .col(uuid(RelativeVisits::FilingId))
                    .col(date(RelativeVisits::VisitedOn))
                    .col(blob(RelativeVisits::Visitor))
                    .col(string_len(RelativeVisits::Finding, 16))
                    .col(blob_null(RelativeVisits::FollowUp))
                    .col(uuid(RelativeVisits::RecordedBy))
                    .col(timestamp_with_time_zone(RelativeVisits::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RelativeVisits::Table, RelativeVisits::FilingId)
                            .to(RelativeFilings::Table, RelativeFilings::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_relative_visits_filing")
                    .table(RelativeVisits::Table)
                    .col(RelativeVisits::FilingId)
                    .col(RelativeVisits::VisitedOn)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_relative_filings_user")
                    .table(RelativeFilings::Table)
                    .col(RelativeFilings::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RelativeVisits::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_relative_filings_user")
                    .table(RelativeFilings::Table)
                    .to_owned(),
            )
            .await?;
        // Filings of people without an account cannot go back into a table that needs one.
        let db = manager.get_connection();
        db.execute_unprepared("DELETE FROM relative_filings WHERE user_id IS NULL")
            .await?;
        for column in [
            RelativeFilings::CadreName,
            RelativeFilings::CadrePost,
            RelativeFilings::CadreVillage,
            RelativeFilings::Village,
            RelativeFilings::Support,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(RelativeFilings::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                let old = filings_table(
                    Alias::new("relative_filings_old"),
                    uuid(RelativeFilings::UserId),
                );
                manager.create_table(old).await?;
                db.execute_unprepared(
                    "INSERT INTO relative_filings_old SELECT * FROM relative_filings",
                )
                .await?;
                db.execute_unprepared("DROP TABLE relative_filings").await?;
                db.execute_unprepared(
                    "ALTER TABLE relative_filings_old RENAME TO relative_filings",
                )
                .await?;
                Ok(())
            }
            _ => {
                db.execute_unprepared(
                    "ALTER TABLE relative_filings ALTER COLUMN user_id SET NOT NULL",
                )
                .await?;
                Ok(())
            }
        }
    }
}

/// `relative_filings` as first created, under another name, with `user_id` as given.
fn filings_table(name: Alias, user_id: ColumnDef) -> TableCreateStatement {
    Table::create()
        .table(name.clone())
        .col(uuid(RelativeFilings::Id).primary_key())
        .col(user_id)
        .col(blob(RelativeFilings::Name))
        .col(blob_null(RelativeFilings::Relation))
        .col(uuid(RelativeFilings::DekId))
        .col(string_len(RelativeFilings::DekKekId, 64))
        .col(blob(RelativeFilings::DekWrapped))
        .col(timestamp_with_time_zone(RelativeFilings::CreatedAt))
        .foreign_key(
            ForeignKey::create()
                .from(name, RelativeFilings::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum RelativeFilings {
    Table,
    Id,
    UserId,
    Name,
    Relation,
    DekId,
    DekKekId,
    DekWrapped,
    CreatedAt,
    /// Sealed: the cadre or caseworker, when they have no account.
    CadreName,
    /// Sealed: their post (村委会主任, 网格员 …); with the village it names one person.
    CadrePost,
    /// The cadre's village or community, a configured id.
    CadreVillage,
    /// The relative's village or community, a configured id.
    Village,
    /// dibao | tekun | dibian | temporary.
    Support,
}

#[derive(DeriveIden)]
enum RelativeVisits {
    Table,
    Id,
    FilingId,
    /// The day the visit happened (not when it was typed in).
    VisitedOn,
    /// Sealed with the filing's key: who went.
    Visitor,
    /// conform | not_conform | rectify.
    Finding,
    /// Sealed with the filing's key.
    FollowUp,
    RecordedBy,
    CreatedAt,
}
