//! An outbox row's Message-ID is made from its id (`<{id}@{domain}>`), so the primary key
//! already keeps it unique. Its own unique index only made every queued mail write one more
//! page at a random place, a seventh of what a report costs at intake: it is dropped.
//! PostgreSQL drops the constraint. SQLite cannot drop a column's UNIQUE, so the table is
//! made again without it, as SQLite documents: a new table, the rows copied over, the old
//! one dropped, the new one renamed and indexed again.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m20261128_000004_outbox::outbox_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// SQLite remakes the table; the remaking must not be seen half done.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() != DbBackend::Sqlite {
            db.execute_unprepared("ALTER TABLE outbox DROP CONSTRAINT outbox_message_id_key")
                .await?;
            return Ok(());
        }
        manager
            .create_table(outbox_table(Alias::new("outbox_remade"), false))
            .await?;
        // The same columns in the same order.
        db.execute_unprepared("INSERT INTO outbox_remade SELECT * FROM outbox")
            .await?;
        db.execute_unprepared("DROP TABLE outbox").await?;
        db.execute_unprepared("ALTER TABLE outbox_remade RENAME TO outbox")
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_outbox_state_next")
                    .table(Alias::new("outbox"))
                    .col(Alias::new("state"))
                    .col(Alias::new("next_attempt_at"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = match manager.get_database_backend() {
            DbBackend::Sqlite => "CREATE UNIQUE INDEX ux_outbox_message_id ON outbox (message_id)",
            _ => "ALTER TABLE outbox ADD CONSTRAINT outbox_message_id_key UNIQUE (message_id)",
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }
}
