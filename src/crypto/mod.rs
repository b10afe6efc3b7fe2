//! The only module that touches key material, random bytes and HMACs.
//!
//! Key bytes never leave it: callers get key ids, sealed bytes, MACs and tokens.

#![deny(clippy::unwrap_used, clippy::expect_used)]

mod envelope;
mod keyring;
mod private_file;
mod rotation;
mod staff;
mod tokens;

pub use envelope::{Dek, SealContext, WrappedDek};
pub use keyring::{KeyPurpose, Keyring};
pub use rotation::{KeyInfo, change_key_file};
pub use staff::{new_totp_secret, session_id_hash, totp_code, totp_step, totp_url};
pub use tokens::{FormToken, FormTokenError, new_tracking_code, random_bytes, random_token};

use rand::RngCore;
use rand::rngs::OsRng;
use zeroize::Zeroize;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// Carries the path and the problem; built so that it never contains key bytes.
    #[error("keyring file {0}")]
    KeyFile(String),
    #[error("key id '{0}' is not in the keyring")]
    UnknownKey(String),
    #[error("sealed value failed to open: wrong key, wrong place, or altered")]
    Open,
    #[error("unknown stored format version or truncated value")]
    Format,
    #[error("value could not be sealed (too large)")]
    Seal,
}

/// Version byte leading every stored ciphertext and every AAD, so the format can change
/// later without guessing.
const FORMAT_V1: u8 = 1;

/// 32 secret bytes kept behind a Box so that moving the owner (into a Vec,
/// out of a function) moves only the pointer and never leaves a stray copy to scrub.
struct SecretKey(Box<[u8; 32]>);

impl SecretKey {
    fn random() -> SecretKey {
        let mut key = SecretKey(Box::new([0u8; 32]));
        OsRng.fill_bytes(&mut key.0[..]);
        key
    }

    fn from_slice(bytes: &[u8]) -> Option<SecretKey> {
        if bytes.len() != 32 {
            return None;
        }
        let mut key = SecretKey(Box::new([0u8; 32]));
        key.0.copy_from_slice(bytes);
        Some(key)
    }

    fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Unambiguous encoding of a sequence of fields (each prefixed with its u64 big-endian
/// length), so that no two different tuples can produce the same AAD or MAC input.
fn length_prefixed(parts: &[&[u8]]) -> Vec<u8> {
    let len = parts.iter().map(|p| 8 + p.len()).sum();
    let mut out = Vec::with_capacity(len);
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}
