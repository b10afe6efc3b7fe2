//! Business operations over a database connection and the keyring; no HTTP types here.
//!
//! Layered one way: `audit`, `access`, `blind` and `deadlines` at the bottom; `recusal`,
//! `outbox`, `attachments`, `sites`, `staff` on them; `routing` over the outbox; `intake`,
//! `cases`, `quarantine`, `digest`, `tracking`, `keys` and `retention` on top.

pub mod access;
pub mod attachments;
pub mod audit;
mod blind;
pub mod campaign;
pub mod cases;
pub mod deadlines;
pub mod digest;
pub mod enrolment;
pub mod intake;
pub mod keys;
pub mod ledger;
pub mod outbox;
pub mod passwords;
pub mod quarantine;
pub mod recusal;
pub mod register;
pub mod results;
pub mod retention;
pub mod routing;
pub mod sites;
pub mod staff;
pub mod statistics;
pub mod summary;
pub mod tracking;

use crate::crypto::CryptoError;
use crate::domain::Status;
use crate::i18n::Lang;

/// The one error of every service. What a person can fix is a catalog key (`Invalid`), so the
/// web layer shows it in the reader's language and the CLI in English; what they cannot is
/// logged and answered as a generic failure.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Missing, or hidden from this account (recused, not theirs): the same answer.
    #[error("not found")]
    NotFound,
    #[error("this account's roles do not allow that")]
    Forbidden,
    #[error("a case that is {} cannot become {}", .from.code(), .to.code())]
    IllegalTransition { from: Status, to: Status },
    /// Input a service refuses: the catalog key of the reason, e.g. `error.required`.
    #[error("{}", Lang::En.catalog().t(.0))]
    Invalid(&'static str),
    /// Evidence files refused, each with its reason.
    #[error("{} evidence file(s) refused", .0.len())]
    Files(Vec<crate::media::FileProblem>),
    /// Quarantine is full: public reports are refused for this long.
    #[error("busy: try again in {} s", .0.as_secs())]
    Busy(std::time::Duration),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// A notification could not be rendered.
    #[error("mail: {0}")]
    Mail(String),
    /// A stored value the code cannot read back (an unknown kind code).
    #[error("stored data: {0}")]
    Corrupt(&'static str),
}

/// A failed read through `SqliteReads`: reported like any other database failure (SQLite's
/// messages name no bound value).
impl From<rusqlite::Error> for ServiceError {
    fn from(e: rusqlite::Error) -> ServiceError {
        ServiceError::Db(sea_orm::DbErr::Custom(format!("sqlite read: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::i18n::Lang;

    /// Every `Invalid` a service raises names a catalog entry, so no English sentence from
    /// Rust reaches a page and the CLI still says something readable.
    #[test]
    fn every_refusal_is_a_catalog_key_in_both_languages() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut keys = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("source folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("source file");
                    for piece in text.split("Invalid(\"").skip(1) {
                        if let Some(key) = piece.split('"').next() {
                            keys.push((path.display().to_string(), key.to_string()));
                        }
                    }
                }
            }
        }
        assert!(keys.len() > 20, "found the refusals: {keys:?}");
        for (file, key) in keys {
            for lang in [Lang::Zh, Lang::En] {
                assert_ne!(
                    lang.catalog().t(&key),
                    key,
                    "{file}: `{key}` is not in {lang:?}"
                );
            }
        }
    }
}
