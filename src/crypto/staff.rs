//! Staff secrets: session-id hashes, CSRF tokens bound to a session, and TOTP.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::Builder;
use zeroize::Zeroizing;

use super::keyring::KeyPurpose;
use super::{CryptoError, Keyring};

const CSRF_LABEL: &[u8] = b"tipoff-csrf-v1";
const TOTP_SECRET_LEN: usize = 20;

/// What is stored for a session: its id's SHA-256, so a database leak yields no usable ids.
pub fn session_id_hash(session_id: &str) -> Vec<u8> {
    Sha256::digest(session_id.as_bytes()).to_vec()
}

impl Keyring {
    /// The CSRF token of a session: derived, so nothing more is stored, and useless to anyone
    /// who does not also hold the session cookie.
    pub fn csrf_token(&self, session_id: &str) -> String {
        let mac = self.form_mac(&[CSRF_LABEL, session_id.as_bytes()]);
        URL_SAFE_NO_PAD.encode(mac)
    }

    pub fn csrf_matches(&self, session_id: &str, presented: &str) -> bool {
        let expected = self.csrf_token(session_id);
        expected.as_bytes().ct_eq(presented.as_bytes()).into()
    }

    fn form_mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        let key = self.active(KeyPurpose::Form);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.secret.bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }
}

/// A fresh TOTP secret (160 bits, as RFC 4226 recommends).
pub fn new_totp_secret() -> Zeroizing<Vec<u8>> {
    Zeroizing::new(super::random_bytes::<TOTP_SECRET_LEN>().to_vec())
}

/// The otpauth:// URL an authenticator app scans to enrol.
pub fn totp_url(secret: &[u8], issuer: &str, account: &str) -> Result<String, CryptoError> {
    let totp = Builder::new()
        .with_secret(secret.to_vec())
        .with_issuer(Some(issuer.to_string()))
        .with_account_name(account.to_string())
        .build()
        .map_err(|_| CryptoError::Format)?;
    totp.to_url().map_err(|_| CryptoError::Format)
}

/// The time step a code belongs to, if it is valid at `now_unix` (one step of drift either
/// way). The caller refuses a step it has already accepted: a code works only once.
pub fn totp_step(secret: &[u8], code: &str, now_unix: u64) -> Option<u64> {
    let totp = Builder::new()
        .with_secret(secret.to_vec())
        .with_account_name("tipoff".to_string())
        .build()
        .ok()?;
    totp.check(code.trim(), now_unix)
}

/// The current code for a secret (tests and enrolment checks use it).
pub fn totp_code(secret: &[u8], now_unix: u64) -> Option<String> {
    let totp = Builder::new()
        .with_secret(secret.to_vec())
        .with_account_name("tipoff".to_string())
        .build()
        .ok()?;
    Some(totp.generate(now_unix).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_totp_code_is_valid_for_its_step_and_neighbours_only() {
        let secret = new_totp_secret();
        let now = 1_790_000_000;
        let code = totp_code(&secret, now).unwrap();
        assert_eq!(totp_step(&secret, &code, now), Some(now / 30));
        assert!(totp_step(&secret, &code, now + 30).is_some());
        assert!(totp_step(&secret, &code, now + 120).is_none());
        assert!(totp_step(&secret, "000000x", now).is_none());
        assert!(
            totp_url(&secret, "tipoff", "inspector1")
                .unwrap()
                .starts_with("otpauth://totp/")
        );
    }

    #[test]
    fn csrf_tokens_are_bound_to_their_session() {
        let keyring = Keyring::generate();
        let token = keyring.csrf_token("session-a");
        assert!(keyring.csrf_matches("session-a", &token));
        assert!(!keyring.csrf_matches("session-b", &token));
        assert!(!keyring.csrf_matches("session-a", ""));
        assert_ne!(session_id_hash("a"), session_id_hash("b"));
    }
}
