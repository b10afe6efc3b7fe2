//! The `tipoff` command-line tool, run against a test app's database and keys.

use std::process::{Command, Output};

use super::TestApp;

/// The public address the tool is told the service has (QR codes and links lead there).
pub const BASE_URL: &str = "https://jubao.example.gov.cn";

/// `tipoff {args}` in the test profile on `app`'s database and keys, not yet started.
pub fn cli_command(app: &TestApp, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tipoff"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("TIPOFF_PROFILE", "test")
        .env("TIPOFF__KEYS__FILE", app.data_dir.path().join("keys.toml"))
        .env("TIPOFF__DATABASE__URL", &app.state.settings.database.url)
        .env("TIPOFF__SERVER__BASE_URL", BASE_URL);
    command
}

/// Runs `tipoff {args}` in the test profile on `app`'s database and keys.
pub async fn run_cli(app: &TestApp, args: &[&str]) -> Output {
    let mut command = cli_command(app, args);
    tokio::task::spawn_blocking(move || command.output().expect("run tipoff"))
        .await
        .unwrap()
}

/// `tipoff site add --kind {kind} --name {name}`, with `--village` where one is given.
pub async fn cli_add_site(app: &TestApp, kind: &str, name: &str, village: Option<&str>) -> Output {
    let mut args = vec!["site", "add", "--kind", kind, "--name", name];
    if let Some(village) = village {
        args.extend(["--village", village]);
    }
    run_cli(app, &args).await
}

/// The tool ran to its end (exit code 0); what it printed otherwise.
pub fn assert_ran(output: &Output) {
    assert_eq!(output.status.code(), Some(0), "{}", said(output));
}

/// The tool refused (exit code 1) and said why.
pub fn assert_refused(output: &Output, reason: &str) {
    assert_eq!(output.status.code(), Some(1));
    assert!(said(output).contains(reason), "{}", said(output));
}

/// The tool failed (any exit code but 0) and said why.
pub fn assert_failed(output: &Output, reason: &str) {
    assert!(!output.status.success());
    assert!(said(output).contains(reason), "{}", said(output));
}

/// Everything the tool printed, standard output then standard error.
pub fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
