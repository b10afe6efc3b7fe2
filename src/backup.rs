//! Backups of a SQLite database: a consistent online copy (`VACUUM INTO`) with a manifest
//! (schema version, row counts, a hash of the audit chain's head, a hash of the file), and a
//! restore that checks all of it before the copy becomes the database. The keyring is never
//! part of a backup. PostgreSQL has its own tools (pg_dump, pg_restore).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::sqlite_file;

const MANIFEST_FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "backups of PostgreSQL are made with its own tools: \
         `pg_dump --format=custom --file=tipoff.dump DBNAME` while the service runs, and \
         `pg_restore --dbname=NEWDB tipoff.dump` into an empty database (see the README)"
    )]
    Postgres,
    #[error("{0}")]
    Refused(String),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What a backup holds, written beside it as `<file>.manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub created_at: DateTime<Utc>,
    /// The last migration applied to the copied database.
    pub schema_version: String,
    /// Rows per table.
    pub tables: BTreeMap<String, u64>,
    /// The audit chain's head: its last sequence number and the SHA-256 of its MAC.
    pub audit_last_seq: i64,
    pub audit_head_sha256: String,
    /// The backup file's own length and SHA-256.
    pub file_bytes: u64,
    pub file_sha256: String,
}

/// The manifest's path for a backup file.
pub fn manifest_path(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

/// Copies the live database to `out` (which must not exist) and writes its manifest.
pub async fn backup(
    db: &DatabaseConnection,
    out: &Path,
    now: DateTime<Utc>,
) -> Result<Manifest, BackupError> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Err(BackupError::Postgres);
    }
    let manifest_file = manifest_path(out);
    for path in [out, manifest_file.as_path()] {
        if path.exists() {
            return Err(BackupError::Refused(format!(
                "{} already exists; refusing to overwrite",
                path.display()
            )));
        }
    }
    let target = out
        .to_str()
        .ok_or_else(|| BackupError::Refused(format!("{}: not a UTF-8 path", out.display())))?;
    // One read transaction: the copy is the database as of one instant, however busy.
    db.execute_unprepared(&format!("VACUUM INTO '{}'", target.replace('\'', "''")))
        .await?;
    restrict(out)?;
    let copy = open_read_only(out).await?;
    let (file_bytes, file_sha256) = file_digest(out)?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        created_at: now,
        file_bytes,
        file_sha256,
        ..describe(&copy).await?
    };
    copy.close().await?;
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| BackupError::Refused(format!("manifest: {e}")))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&manifest_file)
        .map_err(io(&manifest_file))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(&manifest_file))?;
    Ok(manifest)
}

/// Checks `from` against its manifest and makes it the database `url` names, which must
/// not exist yet. Migrations newer than the backup are applied afterwards.
pub async fn restore(from: &Path, url: &str) -> Result<Manifest, BackupError> {
    let Some(target) = sqlite_file(url) else {
        return Err(BackupError::Postgres);
    };
    let target = PathBuf::from(target);
    for suffix in ["", "-wal", "-shm"] {
        let mut name = target.as_os_str().to_owned();
        name.push(suffix);
        if Path::new(&name).exists() {
            return Err(BackupError::Refused(format!(
                "{} exists: restore only into an empty data directory",
                Path::new(&name).display()
            )));
        }
    }
    let manifest_file = manifest_path(from);
    let text = std::fs::read_to_string(&manifest_file).map_err(io(&manifest_file))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        BackupError::Refused(format!("{}: not a manifest: {e}", manifest_file.display()))
    })?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(BackupError::Refused(format!(
            "manifest format {} is not one this tipoff reads",
            manifest.format
        )));
    }
    let (file_bytes, file_sha256) = file_digest(from)?;
    if (file_bytes, file_sha256.as_str()) != (manifest.file_bytes, manifest.file_sha256.as_str()) {
        return Err(BackupError::Refused(format!(
            "{} does not match its manifest (altered, truncated or another file)",
            from.display()
        )));
    }
    let known = Migrator::migrations()
        .iter()
        .any(|m| m.name() == manifest.schema_version);
    if !known {
        return Err(BackupError::Refused(format!(
            "schema version {} is unknown to this tipoff: restore with the version that made it",
            manifest.schema_version
        )));
    }
    let copy = open_read_only(from).await?;
    let found = describe(&copy).await?;
    copy.close().await?;
    let expected = Manifest {
        created_at: manifest.created_at,
        format: manifest.format,
        file_bytes,
        file_sha256,
        ..found
    };
    if expected != manifest {
        return Err(BackupError::Refused(format!(
            "{} holds other rows than its manifest says",
            from.display()
        )));
    }
    copy_durably(from, &target)?;
    Ok(manifest)
}

/// Opens a backup file without writing anything to or beside it.
async fn open_read_only(path: &Path) -> Result<DatabaseConnection, BackupError> {
    let mut options = ConnectOptions::new(format!("sqlite://{}", path.display()));
    options
        .max_connections(1)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| opts.read_only(true).immutable(true));
    Ok(Database::connect(options).await?)
}

/// Schema version, row counts and audit head of a database (the file fields left empty).
async fn describe(db: &DatabaseConnection) -> Result<Manifest, BackupError> {
    let query = |sql: String| Statement::from_string(DatabaseBackend::Sqlite, sql);
    let schema_version: String = db
        .query_one_raw(query(
            "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1".into(),
        ))
        .await?
        .ok_or_else(|| BackupError::Refused("no migrations were ever applied".into()))?
        .try_get_by_index(0)?;
    let mut tables = BTreeMap::new();
    let names = db
        .query_all_raw(query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name"
                .into(),
        ))
        .await?;
    for row in names {
        let name: String = row.try_get_by_index(0)?;
        let sql = format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "\"\""));
        let count: i64 = match db.query_one_raw(query(sql)).await? {
            Some(row) => row.try_get_by_index(0)?,
            None => 0,
        };
        tables.insert(name, u64::try_from(count).unwrap_or(0));
    }
    let head = db
        .query_one_raw(query(
            "SELECT last_seq, last_mac FROM audit_head WHERE id = 1".into(),
        ))
        .await?
        .ok_or_else(|| BackupError::Refused("no audit head".into()))?;
    let audit_last_seq: i64 = head.try_get_by_index(0)?;
    let last_mac: Option<Vec<u8>> = head.try_get_by_index(1)?;
    Ok(Manifest {
        format: MANIFEST_FORMAT,
        created_at: DateTime::<Utc>::MIN_UTC,
        schema_version,
        tables,
        audit_last_seq,
        audit_head_sha256: hex(&Sha256::digest(last_mac.unwrap_or_default())),
        file_bytes: 0,
        file_sha256: String::new(),
    })
}

fn file_digest(path: &Path) -> Result<(u64, String), BackupError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(io(path))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok((total, hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Copies to a temporary name beside `to`, syncs, then renames: a restore stopped half-way
/// leaves no database that looks whole.
fn copy_durably(from: &Path, to: &Path) -> Result<(), BackupError> {
    let dir = match to.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut tmp = to.as_os_str().to_owned();
    tmp.push(".restoring");
    let tmp = PathBuf::from(tmp);
    std::fs::copy(from, &tmp).map_err(io(&tmp))?;
    restrict(&tmp)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, to).map_err(io(to))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

/// A backup is as sensitive as the database: owner only.
fn restrict(path: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io(path))
}
