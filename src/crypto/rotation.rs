//! Changing the keyring file in place: a new key made active, a retired key removed, each
//! written atomically with the file it replaces kept beside it as a dated backup.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use zeroize::Zeroizing;

use super::CryptoError;
use super::keyring::{KeyPurpose, Keyring};
use super::private_file::{create_private, sync_dir, write_synced};

/// What may be said about a key in the keyring: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: String,
    pub purpose: KeyPurpose,
    pub active: bool,
    /// The day in a generated id (`kek-20261202-ab12`); ids written by hand may carry none.
    pub created: Option<NaiveDate>,
}

impl KeyPurpose {
    /// The name an operator types: the purposes' own names, and `blind` for `index`.
    pub fn parse(name: &str) -> Option<KeyPurpose> {
        match name {
            "blind" => Some(KeyPurpose::Index),
            _ => KeyPurpose::ALL.into_iter().find(|p| p.as_str() == name),
        }
    }
}

impl Keyring {
    /// Every key, in file order.
    pub fn key_infos(&self) -> Vec<KeyInfo> {
        self.keys
            .iter()
            .enumerate()
            .map(|(i, key)| KeyInfo {
                id: key.id.clone(),
                purpose: key.purpose,
                active: self.active[key.purpose.slot()] == i,
                created: created_on(&key.id),
            })
            .collect()
    }

    /// Removes a retired key; the active key of a purpose cannot be retired.
    pub fn retire(&mut self, id: &str) -> Result<KeyPurpose, CryptoError> {
        let index = self
            .keys
            .iter()
            .position(|k| k.id == id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_owned()))?;
        let purpose = self.keys[index].purpose;
        if self.active[purpose.slot()] == index {
            return Err(CryptoError::KeyFile(format!(
                "key '{id}' is the active '{}' key: rotate first",
                purpose.as_str()
            )));
        }
        self.keys.remove(index);
        for slot in &mut self.active {
            if *slot > index {
                *slot -= 1;
            }
        }
        Ok(purpose)
    }
}

/// The keyring file at `path` after `change`, written atomically (new file, fsync, rename)
/// once the file as it was has been copied to a dated backup beside it (mode 0600).
/// Returns the new keyring and the backup's path.
pub fn change_key_file<T>(
    path: &Path,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut Keyring) -> Result<T, CryptoError>,
) -> Result<(T, PathBuf), CryptoError> {
    let mut ring = Keyring::load(path)?;
    let outcome = change(&mut ring)?;
    let backup = backup_key_file(path, now)?;
    ring.write_replace(path)?;
    Ok((outcome, backup))
}

/// Copies the keyring file to `<file>.<UTC timestamp>.bak`, readable by the owner only.
fn backup_key_file(path: &Path, now: DateTime<Utc>) -> Result<PathBuf, CryptoError> {
    let err = |msg: String| CryptoError::KeyFile(format!("{}: {msg}", path.display()));
    let name = path
        .file_name()
        .ok_or_else(|| err("is not a file path".to_owned()))?
        .to_string_lossy()
        .into_owned();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let stamp = now.format("%Y%m%dT%H%M%SZ");
    let mut backup = dir.join(format!("{name}.{stamp}.bak"));
    let mut n = 1;
    while backup.exists() {
        n += 1;
        backup = dir.join(format!("{name}.{stamp}-{n}.bak"));
    }
    let text =
        Zeroizing::new(fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?);
    let result = (|| {
        let mut file = create_private(&backup)?;
        write_synced(&mut file, &text)?;
        sync_dir(dir)
    })();
    result.map_err(|e| err(format!("cannot write backup {}: {e}", backup.display())))?;
    Ok(backup)
}

fn created_on(id: &str) -> Option<NaiveDate> {
    let day = id.split('-').nth(1)?;
    (day.len() == 8)
        .then(|| NaiveDate::parse_from_str(day, "%Y%m%d").ok())
        .flatten()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn purposes_parse_by_name_and_blind_means_index() {
        assert_eq!(KeyPurpose::parse("blind"), Some(KeyPurpose::Index));
        assert_eq!(KeyPurpose::parse("index"), Some(KeyPurpose::Index));
        assert_eq!(KeyPurpose::parse("kek"), Some(KeyPurpose::Kek));
        assert_eq!(KeyPurpose::parse("audit"), Some(KeyPurpose::Audit));
        assert_eq!(KeyPurpose::parse("KEK"), None);
        assert_eq!(KeyPurpose::parse(""), None);
    }

    #[test]
    fn a_rotated_key_file_keeps_its_old_self_as_a_private_backup() {
        let dir = tempfile_dir();
        let path = dir.join("keys.toml");
        Keyring::generate().write_new(&path).unwrap();
        let before = fs::read_to_string(&path).unwrap();
        let now = Utc::now();
        let (new_id, backup) = change_key_file(&path, now, |ring| {
            Ok(ring.rotate(KeyPurpose::Kek).to_owned())
        })
        .unwrap();
        assert_eq!(fs::read_to_string(&backup).unwrap(), before);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for file in [&path, &backup] {
                let mode = fs::metadata(file).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{}", file.display());
            }
        }
        let ring = Keyring::load(&path).unwrap();
        assert_eq!(ring.active_kek_id(), new_id);
        let keks: Vec<KeyInfo> = ring
            .key_infos()
            .into_iter()
            .filter(|k| k.purpose == KeyPurpose::Kek)
            .collect();
        assert_eq!(keks.len(), 2);
        assert_eq!(keks.iter().filter(|k| k.active).count(), 1);
        assert_eq!(keks[0].created, Some(now.date_naive()));

        // A second change the same second gets a backup of its own.
        let (_, second) = change_key_file(&path, now, |ring| {
            Ok(ring.rotate(KeyPurpose::Form).to_owned())
        })
        .unwrap();
        assert_ne!(second, backup);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_active_key_cannot_be_retired_and_a_retired_one_goes() {
        let mut ring = Keyring::generate();
        let old = ring.active_kek_id().to_owned();
        let err = ring.retire(&old).unwrap_err().to_string();
        assert!(err.contains("active 'kek' key"), "{err}");
        ring.rotate(KeyPurpose::Kek);
        let lookup = ring.active_id(KeyPurpose::Lookup).to_owned();
        assert_eq!(ring.retire(&old).unwrap(), KeyPurpose::Kek);
        assert!(ring.find(KeyPurpose::Kek, &old).is_none());
        // The other purposes' active keys are still the same after the shift.
        assert_eq!(ring.active_id(KeyPurpose::Lookup), lookup);
        assert!(matches!(
            ring.retire("nope"),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tipoff-rotation-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
