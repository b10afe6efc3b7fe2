//! Short reads from a SQLite file on the calling thread, for the hottest public read (a
//! reporter's look-up): sqlx runs each SQLite connection on a thread of its own, and the
//! hand-off there and back cost a look-up more than SQLite's own work (see README,
//! Performance). A look-up reads a few rows through an index from pages already cached, so
//! it blocks its thread for microseconds.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// How many idle connections are kept: one per thread that may read at once is enough
/// (a read never waits while holding one); more are opened when needed and closed after.
const KEEP_IDLE: usize = 8;

/// A writer holds SQLite's locks only for an instant in WAL mode; a reader waits this long
/// at most (during recovery after a crash) before failing with the generic error.
const BUSY_WAIT: Duration = Duration::from_secs(1);

/// Read-only connections to the database file; none for PostgreSQL or an in-memory
/// database, whose reads keep going through the pool.
pub struct SqliteReads {
    path: Option<PathBuf>,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteReads {
    /// For a `sqlite:` URL that names a file; inert for any other.
    pub fn new(url: &str) -> SqliteReads {
        SqliteReads {
            path: crate::db::sqlite_file(url).map(PathBuf::from),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `read` on a connection of its own, on this thread; `None` when there is no
    /// file to read (the caller reads through the pool instead). The read sees every
    /// transaction committed before it began.
    pub fn read<T, E: From<rusqlite::Error>>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Option<Result<T, E>> {
        let path = self.path.as_deref()?;
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let connection = match idle {
            Some(connection) => connection,
            None => match open(path) {
                Ok(connection) => connection,
                Err(e) => return Some(Err(e.into())),
            },
        };
        let result = read(&connection);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < KEEP_IDLE
        {
            idle.push(connection);
        }
        Some(result)
    }
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(BUSY_WAIT)?;
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_is_nothing_to_read_without_a_database_file() {
        for url in ["sqlite::memory:", "postgres://postgres@127.0.0.1/test"] {
            let reads = SqliteReads::new(url);
            assert!(
                reads.read(|_| Ok::<_, rusqlite::Error>(())).is_none(),
                "{url}"
            );
        }
    }

    #[test]
    fn a_read_sees_what_another_connection_committed_and_keeps_its_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.execute("CREATE TABLE t (v INTEGER)", []).unwrap();
        let reads = SqliteReads::new(&format!("sqlite://{}?mode=rwc", path.display()));
        let count = |reads: &SqliteReads| {
            reads
                .read(|c| c.query_row("SELECT count(*) FROM t", [], |row| row.get::<_, i64>(0)))
                .expect("a file to read")
                .unwrap()
        };
        assert_eq!(count(&reads), 0);
        writer.execute("INSERT INTO t (v) VALUES (1)", []).unwrap();
        assert_eq!(count(&reads), 1);
        assert_eq!(reads.idle.lock().unwrap().len(), 1);
        // Read-only: a look-up can never write through it.
        let refused = reads
            .read(|c| c.execute("INSERT INTO t (v) VALUES (2)", []))
            .expect("a file to read");
        assert!(refused.is_err());
    }
}
