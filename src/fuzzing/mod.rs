//! Bodies of the cargo-fuzz targets in `fuzz/`, shared with the corpus replay in `cargo test`.
//!
//! Each target is a `pub fn NAME(data: &[u8])` that hands the bytes to a parser of outside
//! input the way the service does, and panics only when a property of what came out is
//! broken: a panic is a finding, whether the parser or the check raised it.
//!
//! Adding a target `NAME`: its function (in a file of this module) and a line in [`TARGETS`],
//! `fuzz/fuzz_targets/NAME.rs` calling it, a `[[bin]]` in `fuzz/Cargo.toml`, and seeds in
//! `fuzz/corpus/NAME/`. The test at the bottom refuses any of these without the others.
//!
//! Compiled for unit tests and with the `fuzzing` feature only, so the fixed keys of the
//! fixtures are never part of the service.

mod config;
mod crypto;
mod media;
pub(crate) mod multipart;
pub(crate) mod report;

pub use config::holiday_calendar;
pub use crypto::{form_token, keyring_file, sealed_value};
pub use media::{file_sniff, image_preview, metadata_strip};
pub use multipart::{multipart_body, multipart_leading_field};
pub use report::{person_name, report_form, report_json, tracking_code};

/// What a target does with one input.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/NAME.rs` and `fuzz/corpus/NAME/` are named.
pub const TARGETS: &[(&str, Target)] = &[
    ("file_sniff", file_sniff),
    ("form_token", form_token),
    ("holiday_calendar", holiday_calendar),
    ("image_preview", image_preview),
    ("keyring_file", keyring_file),
    ("metadata_strip", metadata_strip),
    ("multipart_body", multipart_body),
    ("multipart_leading_field", multipart_leading_field),
    ("person_name", person_name),
    ("report_form", report_form),
    ("report_json", report_json),
    ("sealed_value", sealed_value),
    ("tracking_code", tracking_code),
];

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::TARGETS;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    fn fuzz_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
    }

    /// A saved input of a target's corpus, for the targets' own tests.
    pub(super) fn seed(target: &str, name: &str) -> Vec<u8> {
        let path = fuzz_dir().join("corpus").join(target).join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn names_in(dir: &Path, strip: &str) -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.'))
            .map(|name| name.strip_suffix(strip).unwrap_or(&name).to_owned())
            .collect()
    }

    #[test]
    fn every_saved_fuzz_input_is_replayed_without_a_panic() {
        let corpus = fuzz_dir().join("corpus");
        let mut replayed = 0;
        for target in names_in(&corpus, "") {
            let Some((_, run)) = TARGETS.iter().find(|(name, _)| *name == target) else {
                panic!("fuzz/corpus/{target} has no target in tipoff::fuzzing::TARGETS");
            };
            let dir = corpus.join(&target);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .filter(|path| path.is_file())
                .collect();
            files.sort();
            assert!(!files.is_empty(), "fuzz/corpus/{target} has no seeds");
            for path in files {
                let data = std::fs::read(&path).unwrap();
                // Name the input that panicked; the panic itself says why.
                let outcome = std::panic::catch_unwind(|| run(&data));
                assert!(outcome.is_ok(), "{} panicked", path.display());
                replayed += 1;
            }
        }
        assert!(replayed >= TARGETS.len(), "only {replayed} inputs replayed");
    }

    #[test]
    fn every_target_has_its_file_binary_and_seeds() {
        let registered: BTreeSet<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
        let dir = fuzz_dir();
        assert_eq!(names_in(&dir.join("fuzz_targets"), ".rs"), registered);
        assert_eq!(names_in(&dir.join("corpus"), ""), registered);

        let manifest: toml::Table =
            toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml")).unwrap()).unwrap();
        let bins: BTreeSet<String> = manifest["bin"]
            .as_array()
            .unwrap()
            .iter()
            .map(|bin| {
                let name = bin["name"].as_str().unwrap();
                assert_eq!(
                    bin["path"].as_str(),
                    Some(format!("fuzz_targets/{name}.rs").as_str())
                );
                name.to_owned()
            })
            .collect();
        assert_eq!(bins, registered);
        assert!(
            manifest["workspace"].is_table(),
            "fuzz/ must stay its own workspace"
        );
    }
}
