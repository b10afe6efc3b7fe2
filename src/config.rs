//! Settings: config/default.toml, then config/{profile}.toml, then TIPOFF__* environment variables.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Which file in `config/` is layered over the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Development,
    Test,
    Production,
}

impl Profile {
    pub fn from_env() -> Result<Profile, ConfigError> {
        match std::env::var("TIPOFF_PROFILE") {
            Err(_) => Ok(Profile::Development),
            Ok(value) => Profile::parse(&value),
        }
    }

    pub fn parse(value: &str) -> Result<Profile, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" | "" => Ok(Profile::Development),
            "test" => Ok(Profile::Test),
            "production" | "prod" => Ok(Profile::Production),
            other => Err(ConfigError::Invalid(format!(
                "TIPOFF_PROFILE={other}: expected development, test or production"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Development => "development",
            Profile::Test => "test",
            Profile::Production => "production",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(skip, default = "default_profile")]
    pub profile: Profile,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub keys: KeySettings,
    pub limits: LimitSettings,
    pub log: LogSettings,
    pub staff: StaffSettings,
    pub campaign: CampaignSettings,
    pub deadlines: DeadlineSettings,
    pub attachments: AttachmentSettings,
    pub villages: Vec<Village>,
}

fn default_profile() -> Profile {
    Profile::Development
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub base_url: String,
    pub trusted_proxies: Vec<IpAddr>,
    pub body_limit: usize,
    pub hsts: bool,
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    pub file: Option<PathBuf>,
    pub create_if_missing: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub submit_per_minute: u32,
    pub submit_burst: u32,
    pub track_per_minute: u32,
    pub track_burst: u32,
    pub form_token_max_age: i64,
    /// A form sent sooner than this after it was served gets a confirmation step.
    pub min_fill_seconds: i64,
    /// Public submissions per minute (all clients) beyond which reports go to quarantine.
    pub flood_per_minute: u32,
    /// Quarantined reports beyond which public submissions are refused ("busy").
    pub quarantine_ceiling: u64,
    /// Failed tracking-code lookups per client before waits begin.
    pub lookup_free_failures: u32,
    /// Failed lookups per minute (all clients) that raise an alarm in the log.
    pub lookup_alarm_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSettings {
    /// A session unused this long ends.
    pub session_idle_minutes: i64,
    /// A session ends this long after sign-in, used or not.
    pub session_absolute_hours: i64,
    /// Inspectors and admins must enrol TOTP before they can do anything else.
    pub require_totp: bool,
    /// Mark the session cookie Secure (HTTPS only). Off only for local HTTP development.
    pub secure_cookie: bool,
    /// Sign-in attempts per client address (all accounts together).
    pub login_per_minute: u32,
    pub login_burst: u32,
    /// The name authenticator apps show for the account.
    pub totp_issuer: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSettings {
    pub office_zh: String,
    pub office_en: String,
    pub title_zh: String,
    pub title_en: String,
    pub notice_zh: String,
    pub notice_en: String,
    pub hotline: String,
}

/// Deadlines per stage of a case, in working days of the holiday calendar (Asia/Shanghai).
/// config/default.toml says from which date each one counts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineSettings {
    /// The directory of per-year holiday schedules (`2024.toml`, …).
    pub calendar_dir: PathBuf,
    pub accept_days: u32,
    pub verify_days: u32,
    pub conclude_days: u32,
    /// The daily digest lists cases due within this many working days, and overdue ones.
    pub remind_days: u32,
}

/// Evidence files a report may carry; enforced while the upload streams in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSettings {
    pub max_files: usize,
    /// Largest single file, in bytes.
    pub max_file_bytes: u64,
    /// Largest sum of a report's files, in bytes.
    pub max_total_bytes: u64,
}

/// The longest deadline accepted: about two years of working days.
const MAX_DEADLINE_DAYS: u32 = 500;

/// A village or community whose residents the campaign serves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Village {
    pub id: String,
    pub zh: String,
    pub en: String,
}

impl Settings {
    /// Reads the settings for the profile named by `TIPOFF_PROFILE` from `./config`.
    pub fn load() -> Result<Settings, ConfigError> {
        Settings::load_from(Path::new("config"), Profile::from_env()?)
    }

    pub fn load_from(dir: &Path, profile: Profile) -> Result<Settings, ConfigError> {
        let raw = config::Config::builder()
            .add_source(config::File::from(dir.join("default.toml")))
            .add_source(
                config::File::from(dir.join(format!("{}.toml", profile.as_str()))).required(false),
            )
            .add_source(
                config::Environment::with_prefix("TIPOFF")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("server.trusted_proxies")
                    .try_parsing(true),
            )
            .build()?;
        let mut settings: Settings = raw.try_deserialize()?;
        settings.profile = profile;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.profile == Profile::Production {
            if self.keys.file.is_none() {
                return Err(ConfigError::Invalid(
                    "keys.file is not set: production needs a keyring (set TIPOFF__KEYS__FILE; \
                     create one with `tipoff key generate --out FILE`)"
                        .into(),
                ));
            }
            if !self.staff.secure_cookie {
                return Err(ConfigError::Invalid(
                    "staff.secure_cookie must be true in production".into(),
                ));
            }
            if self.keys.create_if_missing {
                return Err(ConfigError::Invalid(
                    "keys.create_if_missing must be false in production".into(),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for village in &self.villages {
            if !seen.insert(village.id.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "villages: id '{}' appears twice",
                    village.id
                )));
            }
        }
        for (name, value) in [
            ("limits.submit_per_minute", self.limits.submit_per_minute),
            ("limits.submit_burst", self.limits.submit_burst),
            ("limits.track_per_minute", self.limits.track_per_minute),
            ("limits.track_burst", self.limits.track_burst),
            ("staff.login_per_minute", self.staff.login_per_minute),
            ("staff.login_burst", self.staff.login_burst),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!("{name} must be at least 1")));
            }
        }
        let deadlines = &self.deadlines;
        for (name, value) in [
            ("deadlines.accept_days", deadlines.accept_days),
            ("deadlines.verify_days", deadlines.verify_days),
            ("deadlines.conclude_days", deadlines.conclude_days),
        ] {
            if value == 0 || value > MAX_DEADLINE_DAYS {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be between 1 and {MAX_DEADLINE_DAYS} working days"
                )));
            }
        }
        let files = &self.attachments;
        if files.max_file_bytes == 0 || files.max_total_bytes < files.max_file_bytes {
            return Err(ConfigError::Invalid(
                "attachments.max_file_bytes must be at least 1 and at most \
                 attachments.max_total_bytes"
                    .into(),
            ));
        }
        if deadlines.verify_days > deadlines.conclude_days {
            return Err(ConfigError::Invalid(
                "deadlines.verify_days must not exceed deadlines.conclude_days: both count from \
                 acceptance, and a case is closed after its verification"
                    .into(),
            ));
        }
        if deadlines.remind_days > MAX_DEADLINE_DAYS {
            return Err(ConfigError::Invalid(format!(
                "deadlines.remind_days must be at most {MAX_DEADLINE_DAYS}"
            )));
        }
        Ok(())
    }

    pub fn is_sqlite(&self) -> bool {
        self.database.url.starts_with("sqlite:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
    }

    #[test]
    fn environment_variables_override_the_files_and_production_needs_keys() {
        // The only test in this binary that touches TIPOFF_* variables.
        let vars = [
            ("TIPOFF__SERVER__PORT", "9099"),
            ("TIPOFF__DATABASE__URL", "postgres://db.invalid/tipoff"),
            ("TIPOFF__SERVER__TRUSTED_PROXIES", "10.0.0.1,10.0.0.2"),
        ];
        for (k, v) in vars {
            // SAFETY: no other test in this binary reads the environment.
            unsafe { std::env::set_var(k, v) };
        }
        let refused = Settings::load_from(&config_dir(), Profile::Production);
        // SAFETY: as above.
        unsafe { std::env::set_var("TIPOFF__KEYS__FILE", "/etc/tipoff/keys.toml") };
        let loaded = Settings::load_from(&config_dir(), Profile::Production);
        for (k, _) in vars.iter().chain([("TIPOFF__KEYS__FILE", "")].iter()) {
            // SAFETY: as above.
            unsafe { std::env::remove_var(k) };
        }
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("keys.file") && message.contains("TIPOFF__KEYS__FILE"));
        let settings = loaded.unwrap();
        assert_eq!(settings.server.port, 9099);
        assert_eq!(settings.database.url, "postgres://db.invalid/tipoff");
        assert_eq!(settings.server.trusted_proxies.len(), 2);
        assert!(settings.server.hsts, "production sends HSTS");
        assert_eq!(
            settings.keys.file.as_deref(),
            Some(Path::new("/etc/tipoff/keys.toml"))
        );
    }

    #[test]
    fn profiles_parse() {
        assert_eq!(Profile::parse("production").unwrap(), Profile::Production);
        assert!(Profile::parse("staging").is_err());
    }
}
