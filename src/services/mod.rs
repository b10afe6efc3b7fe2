//! Business operations over a database connection and the keyring; no HTTP types here.

pub mod audit;
pub mod cases;
pub mod recusal;
pub mod reports;
pub mod staff;

use crate::crypto::CryptoError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
}
