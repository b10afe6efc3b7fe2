//! Starting up: production refuses to run without keys and says which setting is missing.

use tipoff::config::{Profile, Settings};
use tipoff::startup::{Application, StartupError, load_keyring};

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

#[test]
fn production_refuses_a_key_file_that_group_or_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings_in(dir.path());
    let key_file = settings.keys.file.clone().unwrap();
    tipoff::crypto::Keyring::generate()
        .write_new(&key_file)
        .unwrap();
    let chmod =
        |mode| std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(mode)).unwrap();
    settings.profile = Profile::Production;
    for mode in [0o640, 0o604, 0o644, 0o660] {
        chmod(mode);
        let Err(error) = load_keyring(&settings) else {
            panic!("a key file of mode {mode:o} was accepted");
        };
        let message = error.to_string();
        assert!(message.contains("keys.toml"), "{message}");
        assert!(message.contains("chmod 600"), "{message}");
    }
    chmod(0o600);
    assert!(load_keyring(&settings).is_ok());
    chmod(0o400);
    assert!(
        load_keyring(&settings).is_ok(),
        "read-only for the owner is fine"
    );

    // Elsewhere it is only a warning, so development and test keep working.
    chmod(0o644);
    settings.profile = Profile::Development;
    assert!(load_keyring(&settings).is_ok());
}
