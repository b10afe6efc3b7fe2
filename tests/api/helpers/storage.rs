//! What a test's storage holds, read past the application: every stored byte, how many
//! reports, what the audit log recorded.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Statement,
};
use tipoff::entities::{audit_entry, report};

use super::TestApp;

/// Every byte the test's storage holds: the SQLite files under the data dir, or every
/// PostgreSQL row rendered as text.
pub async fn stored_bytes(app: &TestApp) -> Vec<u8> {
    if app.has_postgres() {
        let db = app.db();
        let tables = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
            ))
            .await
            .unwrap();
        let mut all = Vec::new();
        for row in tables {
            let table: String = row.try_get("", "table_name").unwrap();
            let rows = db
                .query_all_raw(Statement::from_string(
                    db.get_database_backend(),
                    format!("SELECT CAST(t AS text) AS r FROM \"{table}\" t"),
                ))
                .await
                .unwrap();
            for row in rows {
                let text: String = row.try_get("", "r").unwrap();
                all.extend_from_slice(text.as_bytes());
            }
        }
        assert!(!all.is_empty(), "PostgreSQL rows were read");
        all
    } else {
        // Read by another process: closing any descriptor of a database file drops every
        // POSIX lock this process (the running service) holds on it, and a checkpoint from
        // the command-line tool could then truncate the log under the service's readers.
        let mut all = Vec::new();
        for entry in walk(app.data_dir.path()) {
            let read = std::process::Command::new("cat")
                .arg(&entry)
                .output()
                .unwrap();
            assert!(read.status.success(), "read {}", entry.display());
            all.extend(read.stdout);
        }
        all
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Whether `needle` occurs anywhere in `haystack`, byte for byte.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub async fn report_count(app: &TestApp) -> u64 {
    report::Entity::find().count(app.db()).await.unwrap()
}

/// Report `id`'s row as it is stored now.
pub async fn stored_report(app: &TestApp, id: uuid::Uuid) -> report::Model {
    report::Entity::find_by_id(id)
        .one(app.db())
        .await
        .unwrap()
        .expect("the report row")
}

/// The stored rows of one kind whose `column` holds `value` (the rows of a report, by their
/// report column).
pub async fn rows_where<C>(
    app: &TestApp,
    column: C,
    value: impl Into<sea_orm::Value>,
) -> Vec<<C::EntityName as EntityTrait>::Model>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait<Column = C>,
{
    <C::EntityName as EntityTrait>::find()
        .filter(column.eq(value))
        .all(app.db())
        .await
        .unwrap()
}

/// The audit log's entries for one kind of action, oldest first.
pub async fn audit_entries(app: &TestApp, action: &str) -> Vec<audit_entry::Model> {
    audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq(action))
        .order_by_asc(audit_entry::Column::Seq)
        .all(app.db())
        .await
        .unwrap()
}
