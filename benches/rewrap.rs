//! `tipoff key rewrap` over many reports: after a KEK rotation, how long the real command takes
//! to re-wrap every report's data key, and its peak memory (the child's maximum resident set).
//!
//! `cargo bench --bench rewrap` (REWRAP_REPORTS=N, default 100000; REWRAP_BATCH=N, default 500).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};
use tipoff::config::DatabaseSettings;
use tipoff::crypto::{Dek, KeyPurpose, Keyring, SealContext, change_key_file, random_bytes};
use tipoff::entities::report;
use uuid::Uuid;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn tipoff(dir: &Path, url: &str, args: &[&str]) -> std::process::ExitStatus {
    Command::new(env!("CARGO_BIN_EXE_tipoff"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TIPOFF_PROFILE", "test")
        .env("TIPOFF__KEYS__FILE", dir.join("keys.toml"))
        .env("TIPOFF__DATABASE__URL", url)
        .stdout(Stdio::null())
        .status()
        .expect("run tipoff")
}

/// The largest resident set of any child waited for so far, in KiB (Linux reports KiB).
fn children_max_rss_kib() -> i64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage")
        .max_rss()
}

fn main() {
    let reports = env_number("REWRAP_REPORTS", 100_000);
    let batch = env_number("REWRAP_BATCH", 500);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("tipoff.db").display()
    );
    let ring = Keyring::generate();
    ring.write_new(&dir.path().join("keys.toml"))
        .expect("keyring");
    let old_kek = ring.active_kek_id().to_owned();

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let started = Instant::now();
    runtime.block_on(async {
        let db = tipoff::db::connect(&DatabaseSettings {
            url: url.clone(),
            max_connections: 2,
            group_commit_max: 64,
        })
        .await
        .expect("database");
        tipoff::db::migrate(&db).await.expect("migrations");
        let day = chrono::Utc::now().date_naive();
        let mut n = 0u64;
        while n < reports {
            let txn = db.begin().await.expect("begin");
            let chunk = (reports - n).min(500);
            let rows: Vec<report::ActiveModel> = (n..n + chunk)
                .map(|i| {
                    let id = Uuid::new_v4();
                    let row = id.to_string();
                    let dek = Dek::generate();
                    let wrapped = ring.wrap(&dek, &row).expect("wrap");
                    let ctx = SealContext {
                        table: "reports",
                        row: &row,
                        field: "description",
                    };
                    report::ActiveModel {
                        id: Set(id),
                        case_number: Set(format!("BENCH-{i:07}")),
                        channel: Set("web".into()),
                        category: Set("connection".into()),
                        village: Set(Some("dalu-community".into())),
                        subject_role: Set(None),
                        anonymous: Set(true),
                        status: Set("received".into()),
                        received_on: Set(day),
                        status_changed_at: Set(None),
                        dek_id: Set(wrapped.dek_id),
                        dek_kek_id: Set(wrapped.kek_id),
                        dek_wrapped: Set(wrapped.bytes),
                        tracking_key_id: Set("lookup-bench".into()),
                        tracking_hash: Set(random_bytes::<32>().to_vec()),
                        description: Set(dek
                            .seal_str(&ctx, "村主任的亲戚开着小车还在吃低保，已经好几年了")
                            .expect("seal")),
                        subject: Set(None),
                        occurred: Set(None),
                        reporter_name: Set(None),
                        reporter_phone: Set(None),
                        operator_id: Set(None),
                        assignee_id: Set(None),
                        merged_into: Set(None),
                        outcome: Set(None),
                        quarantined: Set(false),
                        site_id: Set(None),
                        purged_on: Set(None),
                    }
                })
                .collect();
            report::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await
                .expect("insert");
            txn.commit().await.expect("commit");
            n += chunk;
        }
        db.close().await.expect("close");
    });
    println!(
        "{reports} reports stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Rotated here rather than by `tipoff key rotate`, so the only child measured is rewrap.
    change_key_file(&dir.path().join("keys.toml"), chrono::Utc::now(), |ring| {
        Ok(ring.rotate(KeyPurpose::Kek).to_owned())
    })
    .expect("rotate");
    assert_eq!(children_max_rss_kib(), 0);
    let started = Instant::now();
    let status = tipoff(
        dir.path(),
        &url,
        &["key", "rewrap", "--batch-size", &batch.to_string()],
    );
    let elapsed = started.elapsed();
    assert!(status.success(), "rewrap failed");
    let rss = children_max_rss_kib();

    let left = runtime.block_on(async {
        let db = tipoff::db::connect(&DatabaseSettings {
            url: url.clone(),
            max_connections: 1,
            group_commit_max: 64,
        })
        .await
        .expect("database");
        report::Entity::find()
            .filter(report::Column::DekKekId.eq(old_kek.as_str()))
            .count(&db)
            .await
            .expect("count")
    });
    assert_eq!(left, 0, "every report is under the new KEK");
    println!(
        "key rewrap: {reports} report keys in {:.1} s ({:.0} reports/s), batch {batch}, \
         peak resident memory {:.1} MiB",
        elapsed.as_secs_f64(),
        reports as f64 / elapsed.as_secs_f64(),
        rss as f64 / 1024.0
    );
}
