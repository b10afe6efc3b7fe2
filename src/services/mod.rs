//! Business operations over a database connection and the keyring; no HTTP types here.

pub mod attachments;
pub mod audit;
pub mod cases;
pub mod deadlines;
pub mod outbox;
pub mod quarantine;
pub mod recusal;
pub mod reports;
pub mod routing;
pub mod sites;
pub mod staff;

use crate::crypto::CryptoError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// Input a service refuses (an empty reason, a name too short to match); the text says
    /// which rule, for the log and for the handler to pick a message.
    #[error("refused: {0}")]
    Invalid(&'static str),
    /// A notification could not be rendered.
    #[error("mail: {0}")]
    Mail(String),
}
