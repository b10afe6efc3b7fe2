//! What the upload forms say about files, in the reader's language: refusals, cut-offs, limits.

use super::multipart::{Cutoff, Limits};
use crate::i18n::Catalog;
use crate::media::FileProblem;

/// "File 2 (photo.jpg)" in the reader's language.
fn file_label(t: &Catalog, index: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => t
            .t("attach.file_named")
            .replace("{n}", &index.to_string())
            .replace("{name}", name),
        None => t.t("attach.file").replace("{n}", &index.to_string()),
    }
}

fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if mb.fract() == 0.0 {
        format!("{mb:.0}")
    } else {
        format!("{mb:.1}")
    }
}

/// Which file was refused and why, in the reader's language.
pub fn problem_text(t: &Catalog, problem: &FileProblem) -> String {
    t.t("attach.problem")
        .replace(
            "{file}",
            &file_label(t, problem.index, problem.name.as_deref()),
        )
        .replace("{reason}", t.t(problem.refusal.key()))
}

/// Why an upload was cut off, in the reader's language.
pub fn cutoff_text(t: &Catalog, cutoff: &Cutoff, limits: &Limits) -> String {
    match cutoff {
        Cutoff::TooManyFiles => t
            .t("attach.too_many")
            .replace("{max}", &limits.max_files.to_string()),
        Cutoff::FileTooLarge { index, name } => t
            .t("attach.problem")
            .replace("{file}", &file_label(t, *index, name.as_deref()))
            .replace(
                "{reason}",
                &t.t("attach.file_too_large")
                    .replace("{mb}", &megabytes(limits.max_file_bytes)),
            ),
        Cutoff::TotalTooLarge => t
            .t("attach.total_too_large")
            .replace("{mb}", &megabytes(limits.max_total_bytes)),
        Cutoff::TextTooLarge => t.t("page.too_large").to_string(),
        Cutoff::Malformed => t.t("page.bad_request").to_string(),
    }
}

/// The form's hint about files, with the limits filled in.
pub fn limits_text(t: &Catalog, limits: &Limits) -> String {
    t.t("form.files_hint")
        .replace("{max}", &limits.max_files.to_string())
        .replace("{file_mb}", &megabytes(limits.max_file_bytes))
        .replace("{total_mb}", &megabytes(limits.max_total_bytes))
}

/// A size as staff read it: "830 KB", "2.4 MB".
pub fn size_text(bytes: i64) -> String {
    let bytes = bytes.max(0) as f64;
    if bytes < 1024.0 * 1024.0 {
        format!("{:.0} KB", (bytes / 1024.0).ceil())
    } else {
        format!("{:.1} MB", bytes / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size_text(1000), "1 KB");
        assert_eq!(size_text(2_516_582), "2.4 MB");
        assert_eq!(megabytes(10 * 1024 * 1024), "10");
        assert_eq!(megabytes(1024 * 1024 / 2), "0.5");
    }
}
