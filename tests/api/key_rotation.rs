//! Key rotation over stored data: a new KEK and blind-index key, `key rewrap` killed half-way
//! and run again, and the old keys retired only once no row needs them.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use tipoff::crypto::{KeyPurpose, Keyring};
use tipoff::domain::Role;
use tipoff::services::access::open_report;
use tipoff::services::keys::rows_using;
use tipoff::services::recusal::{file_relative, list_relatives};
use tipoff::services::tracking::{Lookup, look_up};

use crate::helpers::TestApp;
use crate::helpers::cli::{assert_failed, cli_command, run_cli, said};
use crate::helpers::reports::{Submitted, report_body, submit};

crate::on_both_backends!(
    a_rewrap_killed_half_way_finishes_when_run_again,
    rotation_refuses_what_it_cannot_do
);

fn keyring_of(app: &TestApp) -> Keyring {
    Keyring::load(&app.data_dir.path().join("keys.toml")).unwrap()
}

async fn rotate(app: &TestApp, kind: &str) -> String {
    let out = run_cli(app, &["key", "rotate", "--kind", kind]).await;
    assert!(out.status.success(), "{}", said(&out));
    said(&out)
}

/// Every report opens and every tracking code leads to its report, with `ring`.
async fn all_readable(app: &TestApp, ring: &Keyring, sent: &[Submitted]) {
    for s in sent {
        let opened = open_report(app.db(), ring, s.report.id)
            .await
            .unwrap()
            .expect("the report is there");
        assert_eq!(opened.case_number, s.report.case_number);
        assert!(opened.description.contains("低保"));
        assert!(matches!(
            look_up(app.db(), app.reads(), ring, &s.code).await.unwrap(),
            Lookup::Found(_)
        ));
    }
}

async fn a_rewrap_killed_half_way_finishes_when_run_again(app: TestApp) {
    let mut sent = Vec::new();
    for _ in 0..16 {
        sent.push(submit(&app, report_body("connection", "dalu-community", None)).await);
    }
    let admin = app
        .create_staff("admin1", "管理员", &[Role::Admin], &[])
        .await;
    let clerk = app
        .create_staff("clerk1", "张三", &[Role::Inspector], &["张书记"])
        .await;
    app.enrol_totp(clerk).await;
    file_relative(
        app.db(),
        &app.state.keyring,
        clerk,
        "李四",
        Some("配偶"),
        admin,
        app.now(),
    )
    .await
    .unwrap();

    let before = keyring_of(&app);
    let old_kek = before.active_kek_id().to_owned();
    let old_index = before.active_id(KeyPurpose::Index).to_owned();
    let said_rotate = rotate(&app, "kek").await;
    assert!(said_rotate.contains("kept as"), "{said_rotate}");
    rotate(&app, "blind").await;
    let ring = keyring_of(&app);
    let new_kek = ring.active_kek_id().to_owned();
    assert_ne!(new_kek, old_kek);
    assert_ne!(ring.active_id(KeyPurpose::Index), old_index);
    // Each rotation left the file it replaced beside it, readable by the owner only.
    let backups: Vec<_> = std::fs::read_dir(app.data_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".bak"))
        .collect();
    assert_eq!(backups.len(), 2, "{backups:?}");
    for backup in &backups {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(backup).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(Keyring::load(backup).is_ok());
    }
    let total = rows_using(app.db(), KeyPurpose::Kek, &old_kek)
        .await
        .unwrap();
    // 16 reports, one filing, one TOTP secret.
    assert_eq!(total, 18);

    // Two rows a batch with a rest between batches: the first line comes long before the end.
    let mut child = cli_command(
        &app,
        &["key", "rewrap", "--batch-size", "2", "--pause-ms", "400"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    assert!(
        first.starts_with("batch 1: 2 report keys re-wrapped"),
        "{first}"
    );
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());

    let left = rows_using(app.db(), KeyPurpose::Kek, &old_kek)
        .await
        .unwrap();
    let moved = rows_using(app.db(), KeyPurpose::Kek, &new_kek)
        .await
        .unwrap();
    assert!(moved >= 2 && left > 0, "moved {moved}, left {left}");
    assert_eq!(moved + left, total, "no row is left half-way");
    // Half-way, every report still opens: each names the KEK it is under.
    all_readable(&app, &ring, &sent).await;

    let refused = run_cli(&app, &["key", "retire", &old_kek]).await;
    assert!(!refused.status.success());
    assert!(
        said(&refused).contains(&format!("still used by {left} row(s)")),
        "{}",
        said(&refused)
    );
    assert!(keyring_of(&app).key_infos().iter().any(|k| k.id == old_kek));

    let again = run_cli(&app, &["key", "rewrap", "--batch-size", "5"]).await;
    assert!(again.status.success(), "{}", said(&again));
    assert!(said(&again).contains("batch 1: "), "{}", said(&again));
    assert_eq!(
        rows_using(app.db(), KeyPurpose::Kek, &old_kek)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        rows_using(app.db(), KeyPurpose::Index, &old_index)
            .await
            .unwrap(),
        0
    );
    assert!(
        rows_using(
            app.db(),
            KeyPurpose::Index,
            ring.active_id(KeyPurpose::Index)
        )
        .await
        .unwrap()
            >= 3
    );
    all_readable(&app, &ring, &sent).await;
    let relatives = list_relatives(app.db(), &ring, clerk).await.unwrap();
    assert_eq!(relatives[0].1.as_str(), "李四");

    let status = run_cli(&app, &["key", "status"]).await;
    let shown = said(&status);
    let line = shown
        .lines()
        .find(|l| l.starts_with(&format!("{old_kek}\t")))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(
        line.starts_with(&format!("{old_kek}\tkek\tretired\t")),
        "{line}"
    );
    assert!(line.ends_with("\t0"), "{line}");
    let line = shown
        .lines()
        .find(|l| l.starts_with(&format!("{new_kek}\t")))
        .unwrap();
    assert!(line.ends_with("\t18"), "{line}");

    for id in [&old_kek, &old_index] {
        let out = run_cli(&app, &["key", "retire", id]).await;
        assert!(out.status.success(), "{}", said(&out));
    }
    let after = keyring_of(&app);
    assert!(
        !after
            .key_infos()
            .iter()
            .any(|k| k.id == old_kek || k.id == old_index)
    );
    all_readable(&app, &after, &sent).await;
    let verify = run_cli(&app, &["audit", "verify"]).await;
    assert!(verify.status.success(), "{}", said(&verify));
}

async fn rotation_refuses_what_it_cannot_do(app: TestApp) {
    let sent = submit(&app, report_body("connection", "dalu-community", None)).await;
    let out = run_cli(&app, &["key", "rotate", "--kind", "everything"]).await;
    assert_failed(&out, "unknown kind 'everything'");

    let ring = keyring_of(&app);
    let active = ring.active_kek_id().to_owned();
    let out = run_cli(&app, &["key", "retire", &active]).await;
    assert_failed(&out, "active kek key");
    let out = run_cli(&app, &["key", "retire", "kek-nonesuch"]).await;
    assert_failed(&out, "no key 'kek-nonesuch'");

    // Tracking codes are stored only as hashes: a retired lookup key stays until each code
    // has been used once under the new one, and retiring it says so.
    let old_lookup = ring.active_id(KeyPurpose::Lookup).to_owned();
    rotate(&app, "lookup").await;
    let out = run_cli(&app, &["key", "retire", &old_lookup]).await;
    assert_failed(&out, "still used by 1 row(s)");
    let ring = keyring_of(&app);
    assert!(matches!(
        look_up(app.db(), app.reads(), &ring, &sent.code)
            .await
            .unwrap(),
        Lookup::Found(_)
    ));
    let out = run_cli(&app, &["key", "retire", &old_lookup]).await;
    assert!(out.status.success(), "{}", said(&out));
    assert!(matches!(
        look_up(app.db(), app.reads(), &keyring_of(&app), &sent.code)
            .await
            .unwrap(),
        Lookup::Found(_)
    ));
    // Nothing was left behind as a temp file; each change kept a backup.
    let names: Vec<String> = std::fs::read_dir(app.data_dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("keys.toml") || n.starts_with(".keys"))
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}
