//! Opening the database (SQLite durable and shredding, or PostgreSQL) and applying migrations.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
    Statement,
};

use crate::config::DatabaseSettings;

/// Connects with statement logging off: the SQL driver would otherwise log parameters.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = sqlite_file(&settings.url)
        && let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
    }
    let options = pool_options(
        &settings.url,
        settings.max_connections,
        Duration::from_secs(10),
        false,
    );
    Database::connect(options).await
}

/// On a SQLite file, the one connection group commit writes every report batch through.
/// SQLite drops a connection's page cache whenever another connection has written since
/// its last transaction; with batches spread over the pool, each batch re-read from the
/// file the index pages its random keys (ids, tracking hashes) land on. One writer keeps
/// them cached, in a cache large enough for them (16 MiB at most, filled as used). It never
/// checkpoints: a checkpoint on its thread would hold back every report waiting for the
/// next batch, so `checkpoint_passive` does it beside the writer. `None` on PostgreSQL and
/// for an in-memory database (a second pool would open another one): batches then use the
/// main pool.
pub async fn connect_writer(
    settings: &DatabaseSettings,
) -> Result<Option<DatabaseConnection>, DbErr> {
    if sqlite_file(&settings.url).is_none() {
        return Ok(None);
    }
    let options = pool_options(&settings.url, 1, Duration::from_secs(30), true);
    Database::connect(options).await.map(Some)
}

/// The options both pools share: statement logging off, and on SQLite a durable, shredding
/// file (for the `writer`, a larger page cache and no checkpoints of its own).
fn pool_options(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
    writer: bool,
) -> ConnectOptions {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(acquire_timeout)
        // sqlx pings every connection it hands out by default: a round trip to SQLite's
        // connection thread (or to PostgreSQL) before each statement or transaction. Only a
        // connection idle long enough to have been dropped by a server or proxy is checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(60))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |opts| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            // WAL + FULL: an acknowledged report survives power loss; secure_delete: shredded
            // rows do not linger in free pages.
            let opts = opts
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .pragma("secure_delete", "ON");
            let opts = if writer {
                opts.pragma("cache_size", "-16384")
                    .pragma("wal_autocheckpoint", "0")
            } else {
                opts
            };
            opts.foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
        });
    options
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// The file path of a `sqlite:` URL, if it names a file.
pub fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// On SQLite, copies into the database file what the write-ahead log holds beyond what
/// readers still need, without waiting for anyone (a passive checkpoint), through the main
/// pool: the group-commit writer leaves this to `GroupCommit::checkpoint`. Nothing to do on
/// PostgreSQL.
pub async fn checkpoint_passive(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DatabaseBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
            .await?;
    }
    Ok(())
}

/// On SQLite, copies the write-ahead log into the database file and truncates it, so page
/// versions that held deleted data leave the disk (`secure_delete` has already zeroed what
/// the database file freed). Returns false when a reader kept it from completing; nothing
/// to do on PostgreSQL.
pub async fn checkpoint_wal(db: &DatabaseConnection) -> Result<bool, DbErr> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(true);
    }
    let row = db
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Sqlite,
            "PRAGMA wal_checkpoint(TRUNCATE)",
        ))
        .await?;
    let busy: i32 = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(busy == 0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// `PRAGMA wal_checkpoint(PASSIVE)`: the frames in the log, and those copied.
    async fn log_frames(db: &DatabaseConnection) -> (i64, i64) {
        let row = db
            .query_one_raw(Statement::from_string(
                DatabaseBackend::Sqlite,
                "PRAGMA wal_checkpoint(PASSIVE)",
            ))
            .await
            .unwrap()
            .unwrap();
        (
            row.try_get_by_index(1).unwrap(),
            row.try_get_by_index(2).unwrap(),
        )
    }

    #[tokio::test]
    async fn the_writer_leaves_the_log_to_the_passive_checkpoint_which_keeps_it_short() {
        let dir = tempfile::tempdir().unwrap();
        let settings = DatabaseSettings {
            url: format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()),
            max_connections: 2,
            group_commit_max: 64,
        };
        let main = connect(&settings).await.unwrap();
        let writer = connect_writer(&settings).await.unwrap().unwrap();
        writer
            .execute_unprepared("CREATE TABLE t (v BLOB NOT NULL)")
            .await
            .unwrap();
        // Each a transaction of its own, a page or more each: past SQLite's default
        // threshold (1,000 pages), at which a connection would checkpoint on its own thread.
        for _ in 0..1_500 {
            writer
                .execute_unprepared("INSERT INTO t (v) VALUES (zeroblob(3000))")
                .await
                .unwrap();
        }
        let log = std::fs::metadata(dir.path().join("t.db-wal"))
            .unwrap()
            .len();
        assert!(
            log > 1_400 * 4096,
            "the writer did not checkpoint: the log holds every commit ({log} bytes)"
        );
        checkpoint_passive(&main).await.unwrap();
        writer
            .execute_unprepared("INSERT INTO t (v) VALUES (zeroblob(3000))")
            .await
            .unwrap();
        let (frames, copied) = log_frames(&main).await;
        assert!(
            frames < 10,
            "everything was copied, so the next commit starts the log again ({frames} frames)"
        );
        assert_eq!(frames, copied);
    }
}
