//! Starting up: production refuses to run without keys and says which setting is missing.

use tipoff::config::{Profile, Settings};
use tipoff::startup::{Application, StartupError};

use crate::helpers::{config_dir, settings_in};

#[test]
fn production_without_a_key_file_names_the_missing_setting() {
    let error = Settings::load_from(&config_dir(), Profile::Production)
        .expect_err("production settings without keys are refused");
    let message = error.to_string();
    assert!(message.contains("keys.file"), "{message}");
    assert!(message.contains("TIPOFF__KEYS__FILE"), "{message}");
}

#[tokio::test]
async fn production_with_a_key_file_that_is_not_there_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path());
    settings.keys.file = Some(dir.path().join("missing-keys.toml"));
    settings.keys.create_if_missing = false;
    let Err(error) = Application::build(settings).await else {
        panic!("started without keys");
    };
    assert!(matches!(error, StartupError::MissingKeyFile(_)));
    assert!(error.to_string().contains("missing-keys.toml"));
    assert!(
        !dir.path().join("missing-keys.toml").exists(),
        "no keys made up"
    );
}

#[tokio::test]
async fn development_creates_its_keys_once_and_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::load_from(&config_dir(), Profile::Development).unwrap();
    let key_file = dir.path().join("data").join("dev-keys.toml");
    settings.keys.file = Some(key_file.clone());
    settings.server.port = 0;
    settings.database.url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("data/t.db").display()
    );
    let app = Application::build(settings.clone()).await.unwrap();
    drop(app);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let first = std::fs::read(&key_file).unwrap();
    Application::build(settings).await.unwrap();
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        first,
        "existing keys are never replaced"
    );
}
