//! The restore drill: reports with files arrive while a backup is taken; the backup restores
//! into a fresh directory, checked against its manifest; a service started on it with the
//! same keyring opens every report acknowledged before the backup began and answers every
//! tracking code given before it. (The key half of the drill, a KEK rotation whose rewrap
//! is killed half-way, is `key_rotation`.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use tipoff::entities::{attachment, report};
use tipoff::services::access::open_report;
use tipoff::startup::Application;
use uuid::Uuid;

use crate::helpers::cli::{cli_command, run_cli, said};
use crate::helpers::files::{jpeg_with_gps, submit_with_files};
use crate::helpers::reports::{next_ip, report_of};
use crate::helpers::{Backend, TestApp, code_in, spawn_app, sqlite_app, test_settings};

async fn submit_one(app: &TestApp) -> (String, Uuid) {
    let photo = jpeg_with_gps();
    let receipt =
        submit_with_files(app, &[], &[("photo.jpg", "image/jpeg", &photo)], &next_ip()).await;
    assert_eq!(receipt.status(), 200);
    let code = code_in(&receipt.text().await.unwrap());
    let id = report_of(app, &code).await.id;
    (code, id)
}

/// Runs the tool on `app`'s keyring but another database.
async fn run_on(app: &TestApp, url: &str, args: &[&str]) -> std::process::Output {
    let mut command = cli_command(app, args);
    command.env("TIPOFF__DATABASE__URL", url);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_load_restores_and_serves_every_report_before_it() {
    let app = sqlite_app().await;
    let mut before = Vec::new();
    for _ in 0..4 {
        before.push(submit_one(&app).await);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tipoff-backup.db");
    let out_arg = out.display().to_string();

    // Submissions go on from before the backup starts until after it ends.
    let sent = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let load = async {
        let mut during = Vec::new();
        while !done.load(Ordering::SeqCst) {
            during.push(submit_one(&app).await);
            sent.fetch_add(1, Ordering::SeqCst);
        }
        during.push(submit_one(&app).await);
        during
    };
    let taken = async {
        while sent.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let out = run_cli(&app, &["backup", "--out", &out_arg]).await;
        done.store(true, Ordering::SeqCst);
        out
    };
    let (during, taken) = tokio::join!(load, taken);
    assert!(taken.status.success(), "{}", said(&taken));
    assert!(said(&taken).contains("keyring is not in the backup"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("tipoff-backup.db.manifest.json")).unwrap(),
    )
    .unwrap();
    let backed_up = manifest["tables"]["reports"].as_u64().unwrap();
    // Taken mid-load: with what came before, without what came after.
    let total = (before.len() + during.len()) as u64;
    assert!((6..total).contains(&backed_up), "{backed_up} of {total}");
    assert!(
        manifest["schema_version"]
            .as_str()
            .unwrap()
            .starts_with("m2026")
    );
    assert_eq!(manifest["audit_head_sha256"].as_str().unwrap().len(), 64);

    // A file altered after the backup is refused.
    let bad = dir.path().join("altered.db");
    let mut bytes = std::fs::read(&out).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&bad, bytes).unwrap();
    std::fs::copy(
        dir.path().join("tipoff-backup.db.manifest.json"),
        dir.path().join("altered.db.manifest.json"),
    )
    .unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        fresh.path().join("tipoff.db").display()
    );
    let refused = run_on(
        &app,
        &url,
        &["restore", "--from", &bad.display().to_string()],
    )
    .await;
    assert!(!refused.status.success());
    assert!(
        said(&refused).contains("does not match its manifest"),
        "{}",
        said(&refused)
    );

    let restored = run_on(&app, &url, &["restore", "--from", &out_arg]).await;
    assert!(restored.status.success(), "{}", said(&restored));
    let again = run_on(&app, &url, &["restore", "--from", &out_arg]).await;
    assert!(!again.status.success());
    assert!(
        said(&again).contains("empty data directory"),
        "{}",
        said(&again)
    );
    let verified = run_on(&app, &url, &["audit", "verify"]).await;
    assert!(verified.status.success(), "{}", said(&verified));

    // The service on the restored database, with the same keyring.
    let mut settings = test_settings();
    settings.keys.file = Some(app.data_dir.path().join("keys.toml"));
    settings.keys.create_if_missing = false;
    settings.database.url = url.clone();
    settings.mail.file_dir = fresh.path().join("mail");
    let second = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", second.port());
    let state = second.state();
    tokio::spawn(second.run_until_stopped());
    let db = &state.db;
    assert_eq!(report::Entity::find().count(db).await.unwrap(), backed_up);
    for (code, id) in &before {
        let opened = open_report(db, &state.keyring, *id).await.unwrap();
        assert!(opened.unwrap().description.contains("低保"));
        let files = attachment::Entity::find()
            .filter(attachment::Column::ReportId.eq(*id))
            .count(db)
            .await
            .unwrap();
        assert_eq!(files, 1);
        let tracked = app
            .client
            .post(format!("{base}/api/v1/track"))
            .header("x-forwarded-for", next_ip())
            .json(&serde_json::json!({ "tracking_code": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(tracked.status(), 200);
    }
    // Whatever of the load made it into the copy is whole too.
    for (_, id) in &during {
        if let Some(found) = open_report(db, &state.keyring, *id).await.unwrap() {
            assert!(found.description.contains("低保"));
        }
    }
}

#[tokio::test]
async fn a_postgresql_backup_is_refused_with_the_tools_to_use() {
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let out = app.data_dir.path().join("b.db");
    let refused = run_cli(&app, &["backup", "--out", &out.display().to_string()]).await;
    assert!(!refused.status.success());
    assert!(said(&refused).contains("pg_dump"), "{}", said(&refused));
    assert!(said(&refused).contains("pg_restore"), "{}", said(&refused));
    assert!(!out.exists());
}
