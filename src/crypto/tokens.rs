//! Tracking codes, lookup hashes, blind indexes, form tokens, audit MACs and random tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::Key;
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::keyring::{KeyPurpose, MAX_ID_LEN};
use super::{CryptoError, FORMAT_V1, Keyring, SecretKey, length_prefixed};
use crate::domain::TrackingCode;

type HmacSha256 = Hmac<Sha256>;

const LOOKUP_LABEL: &[u8] = b"tipoff-lookup";
const INDEX_LABEL: &[u8] = b"tipoff-index";
const AUDIT_LABEL: &[u8] = b"tipoff-audit";

const FORM_NONCE_LEN: usize = 16;
const MAC_LEN: usize = 32;
/// Tolerated difference between the clock that issued a form token and the one checking it.
const CLOCK_SKEW_SECS: i64 = 60;
/// Longer than any token we issue; checked first so junk is rejected before decoding.
const MAX_FORM_TOKEN_LEN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormToken {
    pub issued_at: i64,
    pub nonce: [u8; FORM_NONCE_LEN],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormTokenError {
    #[error("form token is malformed")]
    Malformed,
    #[error("form token signature does not verify")]
    BadSignature,
    #[error("form token has expired")]
    Expired,
    #[error("form token is issued in the future")]
    FromTheFuture,
}

/// A fresh tracking code: 15 uniformly random digits plus the Damm check digit.
pub fn new_tracking_code() -> TrackingCode {
    let mut body = Zeroizing::new(String::with_capacity(15));
    let mut buf = [0u8; 32];
    while body.len() < 15 {
        OsRng.fill_bytes(&mut buf);
        // 250 is the largest multiple of 10 that fits in a byte; keeping bytes below it
        // makes every digit equally likely (plain `% 10` would favour 0–5).
        for &b in buf.iter().filter(|&&b| b < 250).take(15 - body.len()) {
            body.push(char::from(b'0' + b % 10));
        }
    }
    buf.zeroize();
    match TrackingCode::from_body(&body) {
        Some(code) => code,
        None => unreachable!("15 ASCII digits always form a tracking code body"),
    }
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// 256 random bits, URL-safe, for posting-site tokens and session ids.
pub fn random_token() -> String {
    let mut bytes = random_bytes::<32>();
    let token = URL_SAFE_NO_PAD.encode(bytes);
    bytes.zeroize();
    token
}

/// HMAC treats a key shorter than its 64-byte block as zero-padded, so padding here gives
/// the same MAC as the 32-byte key while using the infallible fixed-size constructor.
fn new_mac(key: &SecretKey) -> HmacSha256 {
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key.bytes());
    HmacSha256::new(Key::<HmacSha256>::from_slice(&block[..]))
}

fn mac_parts(key: &SecretKey, parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = new_mac(key);
    mac.update(&length_prefixed(parts));
    mac.finalize().into_bytes().to_vec()
}

fn lookup_mac(key: &SecretKey, code: &TrackingCode) -> Vec<u8> {
    mac_parts(key, &[LOOKUP_LABEL, &[FORMAT_V1], code.digits().as_bytes()])
}

fn index_mac(key: &SecretKey, parts: &[&str]) -> Vec<u8> {
    let mut fields: Vec<&[u8]> = Vec::with_capacity(parts.len() + 2);
    fields.push(INDEX_LABEL);
    fields.push(&[FORMAT_V1]);
    fields.extend(parts.iter().map(|p| p.as_bytes()));
    mac_parts(key, &fields)
}

impl Keyring {
    /// The code's hash under every lookup key, active first, so a code issued before a
    /// rotation is still found.
    pub fn lookup_hashes(&self, code: &TrackingCode) -> Vec<(String, Vec<u8>)> {
        self.newest_first(KeyPurpose::Lookup)
            .map(|key| (key.id.clone(), lookup_mac(&key.secret, code)))
            .collect()
    }

    /// How many lookup keys a code is hashed under (the active one and the retired ones).
    pub fn lookup_key_count(&self) -> usize {
        self.newest_first(KeyPurpose::Lookup).count()
    }

    /// The hash to store for a newly issued code.
    pub fn current_lookup_hash(&self, code: &TrackingCode) -> (String, Vec<u8>) {
        let key = self.active(KeyPurpose::Lookup);
        (key.id.clone(), lookup_mac(&key.secret, code))
    }

    /// Stands in for a real hash when the code is malformed, so the database does the same
    /// work and timing does not tell a typo apart from an unknown code.
    pub fn dummy_lookup_hash(&self) -> Vec<u8> {
        random_bytes::<MAC_LEN>().to_vec()
    }

    /// Deterministic keyed hash of already-normalized parts, for equality search on
    /// personal data without storing it in the clear.
    pub fn blind_index(&self, parts: &[&str]) -> (String, Vec<u8>) {
        let key = self.active(KeyPurpose::Index);
        (key.id.clone(), index_mac(&key.secret, parts))
    }

    /// The same parts' index under every index key, active first: while a rotation is
    /// re-indexing, a row is compared only with indexes made under its own key.
    pub fn blind_indexes(&self, parts: &[&str]) -> Vec<(String, Vec<u8>)> {
        self.newest_first(KeyPurpose::Index)
            .map(|key| (key.id.clone(), index_mac(&key.secret, parts)))
            .collect()
    }

    /// `base64url(1 ‖ id_len ‖ id ‖ issued_at BE ‖ nonce16) . base64url(HMAC(payload))`.
    pub fn issue_form_token(&self, issued_at_unix: i64) -> String {
        let key = self.active(KeyPurpose::Form);
        // Ids are capped at MAX_ID_LEN (< 256) when loaded or generated, so this is exact.
        debug_assert!(key.id.len() <= MAX_ID_LEN);
        let mut payload = Vec::with_capacity(2 + key.id.len() + 8 + FORM_NONCE_LEN);
        payload.push(FORMAT_V1);
        payload.push(key.id.len() as u8);
        payload.extend_from_slice(key.id.as_bytes());
        payload.extend_from_slice(&issued_at_unix.to_be_bytes());
        payload.extend_from_slice(&random_bytes::<FORM_NONCE_LEN>());
        let mut mac = new_mac(&key.secret);
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Checks the signature before trusting any field; the clock is passed in so the
    /// caller (and tests) decide what "now" is.
    pub fn verify_form_token(
        &self,
        token: &str,
        now_unix: i64,
        max_age_secs: i64,
    ) -> Result<FormToken, FormTokenError> {
        use FormTokenError::{BadSignature, Expired, FromTheFuture, Malformed};

        if token.len() > MAX_FORM_TOKEN_LEN {
            return Err(Malformed);
        }
        let (payload_b64, tag_b64) = token.split_once('.').ok_or(Malformed)?;
        let payload = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| Malformed)?;
        let tag = URL_SAFE_NO_PAD.decode(tag_b64).map_err(|_| Malformed)?;
        if tag.len() != MAC_LEN {
            return Err(Malformed);
        }
        let (&version, rest) = payload.split_first().ok_or(Malformed)?;
        let (&id_len, rest) = rest.split_first().ok_or(Malformed)?;
        let id_len = usize::from(id_len);
        if version != FORMAT_V1 || rest.len() != id_len + 8 + FORM_NONCE_LEN {
            return Err(Malformed);
        }
        let (id, rest) = rest.split_at(id_len);
        let (issued_at, nonce) = rest.split_at(8);
        let id = std::str::from_utf8(id).map_err(|_| Malformed)?;

        // A key id we do not have means we did not issue it: same answer as a forged MAC.
        let key = self.find(KeyPurpose::Form, id).ok_or(BadSignature)?;
        let mut mac = new_mac(&key.secret);
        mac.update(&payload);
        mac.verify_slice(&tag).map_err(|_| BadSignature)?;

        let issued_at = i64::from_be_bytes(issued_at.try_into().map_err(|_| Malformed)?);
        let nonce: [u8; FORM_NONCE_LEN] = nonce.try_into().map_err(|_| Malformed)?;
        if issued_at > now_unix.saturating_add(CLOCK_SKEW_SECS) {
            return Err(FromTheFuture);
        }
        if now_unix.saturating_sub(issued_at) > max_age_secs {
            return Err(Expired);
        }
        Ok(FormToken { issued_at, nonce })
    }

    /// Chains an audit entry to its predecessor; both are length-prefixed so the boundary
    /// between them cannot be shifted.
    pub fn audit_mac(&self, prev: &[u8], entry: &[u8]) -> Vec<u8> {
        let key = self.active(KeyPurpose::Audit);
        mac_parts(&key.secret, &[AUDIT_LABEL, &[FORMAT_V1], prev, entry])
    }

    /// The id of the key `audit_mac` uses; each entry stores it so that verification still
    /// finds the right key after the audit key is rotated.
    pub fn audit_key_id(&self) -> &str {
        self.active_id(KeyPurpose::Audit)
    }

    /// Checks an entry's MAC under the (possibly retired) audit key that wrote it, in
    /// constant time.
    pub fn audit_mac_matches(
        &self,
        key_id: &str,
        prev: &[u8],
        entry: &[u8],
        mac: &[u8],
    ) -> Result<bool, CryptoError> {
        let key = self
            .find(KeyPurpose::Audit, key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        let mut expected = new_mac(&key.secret);
        expected.update(&length_prefixed(&[AUDIT_LABEL, &[FORMAT_V1], prev, entry]));
        Ok(expected.verify_slice(mac).is_ok())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000;
    const MAX_AGE: i64 = 3600;

    #[test]
    fn padded_key_matches_plain_hmac() {
        let key = SecretKey::random();
        let mut plain = <HmacSha256 as Mac>::new_from_slice(key.bytes()).unwrap();
        plain.update(b"abc");
        let mut padded = new_mac(&key);
        padded.update(b"abc");
        assert_eq!(
            plain.finalize().into_bytes(),
            padded.finalize().into_bytes()
        );
    }

    #[test]
    fn generated_tracking_codes_parse_back() {
        let mut seen = std::collections::HashSet::new();
        let mut counts = [0usize; 10];
        for _ in 0..1000 {
            let code = new_tracking_code();
            assert_eq!(TrackingCode::parse(code.digits()).unwrap(), code);
            assert_eq!(TrackingCode::parse(&code.grouped()).unwrap(), code);
            for b in code.digits()[..15].bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
            seen.insert(code.digits().to_owned());
        }
        assert_eq!(seen.len(), 1000);
        // 15_000 draws: each digit expects 1500; a skewed generator would fall far outside.
        assert!(
            counts.iter().all(|&c| (1200..1800).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn lookup_hashes_differ_per_key_and_survive_rotation() {
        let mut ring = Keyring::generate();
        let code = new_tracking_code();
        let (old_id, old_hash) = ring.current_lookup_hash(&code);
        assert_eq!(old_hash.len(), 32);
        assert_eq!(
            ring.lookup_hashes(&code),
            vec![(old_id.clone(), old_hash.clone())]
        );
        assert_ne!(ring.current_lookup_hash(&new_tracking_code()).1, old_hash);

        let new_id = ring.rotate(KeyPurpose::Lookup).to_owned();
        let hashes = ring.lookup_hashes(&code);
        assert_eq!(hashes.len(), 2);
        assert_eq!(hashes[0].0, new_id);
        assert_eq!(hashes[0], ring.current_lookup_hash(&code));
        assert_ne!(hashes[0].1, old_hash);
        assert_eq!(hashes[1], (old_id, old_hash));

        ring.rotate(KeyPurpose::Lookup);
        let hashes = ring.lookup_hashes(&code);
        assert_eq!(hashes.len(), 3);
        assert_eq!(hashes[1].0, new_id, "retired keys come newest first");

        // Another keyring hashes the same code differently.
        assert_ne!(
            Keyring::generate().current_lookup_hash(&code).1,
            hashes[0].1
        );
    }

    #[test]
    fn dummy_lookup_hash_looks_like_a_real_one() {
        let ring = Keyring::generate();
        let (a, b) = (ring.dummy_lookup_hash(), ring.dummy_lookup_hash());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }

    #[test]
    fn blind_index_is_deterministic_and_unambiguous() {
        let ring = Keyring::generate();
        let (id, a) = ring.blind_index(&["nguyen van a", "thon 3"]);
        assert_eq!(id, ring.active_id(KeyPurpose::Index));
        assert_eq!(a.len(), 32);
        assert_eq!(ring.blind_index(&["nguyen van a", "thon 3"]).1, a);
        assert_ne!(ring.blind_index(&["nguyen van a", "thon 4"]).1, a);
        assert_ne!(ring.blind_index(&["nguyen van a thon 3"]).1, a);
        assert_ne!(ring.blind_index(&["nguyen van ", "athon 3"]).1, a);
        assert_ne!(
            Keyring::generate()
                .blind_index(&["nguyen van a", "thon 3"])
                .1,
            a
        );
    }

    #[test]
    fn audit_mac_chains_unambiguously() {
        let ring = Keyring::generate();
        let a = ring.audit_mac(b"prev", b"entry");
        assert_eq!(a.len(), 32);
        assert_eq!(ring.audit_mac(b"prev", b"entry"), a);
        assert_ne!(ring.audit_mac(b"pre", b"ventry"), a);
        assert_ne!(ring.audit_mac(b"other", b"entry"), a);
    }

    #[test]
    fn audit_mac_verifies_under_a_retired_key() {
        let mut ring = Keyring::generate();
        let old_id = ring.audit_key_id().to_owned();
        let mac = ring.audit_mac(b"prev", b"entry");
        assert!(
            ring.audit_mac_matches(&old_id, b"prev", b"entry", &mac)
                .unwrap()
        );
        let new_id = ring.rotate(KeyPurpose::Audit).to_owned();
        assert_eq!(ring.audit_key_id(), new_id);
        assert!(
            ring.audit_mac_matches(&old_id, b"prev", b"entry", &mac)
                .unwrap()
        );
        assert!(
            !ring
                .audit_mac_matches(&new_id, b"prev", b"entry", &mac)
                .unwrap()
        );
        assert!(
            !ring
                .audit_mac_matches(&old_id, b"prev", b"entrY", &mac)
                .unwrap()
        );
        assert!(
            !ring
                .audit_mac_matches(&old_id, b"prev", b"entry", &mac[..31])
                .unwrap()
        );
        assert!(matches!(
            ring.audit_mac_matches("audit-nope", b"prev", b"entry", &mac),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn form_token_round_trip() {
        let ring = Keyring::generate();
        let token = ring.issue_form_token(NOW);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        let parsed = ring.verify_form_token(&token, NOW + 10, MAX_AGE).unwrap();
        assert_eq!(parsed.issued_at, NOW);
        let other = ring
            .verify_form_token(&ring.issue_form_token(NOW), NOW, MAX_AGE)
            .unwrap();
        assert_ne!(parsed.nonce, other.nonce);
        // Small clock skew either way is tolerated.
        assert!(ring.verify_form_token(&token, NOW - 60, MAX_AGE).is_ok());
        assert!(
            ring.verify_form_token(&token, NOW + MAX_AGE, MAX_AGE)
                .is_ok()
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Strings shaped like a token: base64url, a dot, base64url; and anything at all.
        fn token_like() -> impl Strategy<Value = String> {
            prop_oneof![
                "[A-Za-z0-9_-]{0,120}\\.[A-Za-z0-9_-]{0,60}",
                "AQ[A-Za-z0-9_-]{40,80}\\.[A-Za-z0-9_-]{43}",
                any::<String>(),
            ]
        }

        proptest! {
            #[test]
            fn arbitrary_strings_never_verify(token in token_like()) {
                let ring = Keyring::generate();
                prop_assert!(ring.verify_form_token(&token, NOW, MAX_AGE).is_err());
            }

            #[test]
            fn every_single_character_change_of_a_real_token_is_refused(
                at in any::<prop::sample::Index>(),
                replacement in prop::sample::select(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.".to_vec(),
                ),
            ) {
                let ring = Keyring::generate();
                let token = ring.issue_form_token(NOW);
                let mut bad = token.clone().into_bytes();
                let at = at.index(bad.len());
                prop_assume!(bad[at] != replacement);
                bad[at] = replacement;
                let bad = String::from_utf8(bad).unwrap();
                let verified = ring.verify_form_token(&bad, NOW, MAX_AGE);
                prop_assert!(verified.is_err(), "{} -> {}", token, bad);
            }

            #[test]
            fn a_truncated_or_extended_token_is_refused(
                cut in any::<prop::sample::Index>(),
                extra in "[A-Za-z0-9_.-]{1,4}",
            ) {
                let ring = Keyring::generate();
                let token = ring.issue_form_token(NOW);
                let cut = cut.index(token.len());
                prop_assert!(ring.verify_form_token(&token[..cut], NOW, MAX_AGE).is_err());
                let extended = format!("{token}{extra}");
                prop_assert!(ring.verify_form_token(&extended, NOW, MAX_AGE).is_err());
            }
        }
    }

    #[test]
    fn form_token_survives_form_key_rotation() {
        let mut ring = Keyring::generate();
        let token = ring.issue_form_token(NOW);
        ring.rotate(KeyPurpose::Form);
        assert!(ring.verify_form_token(&token, NOW, MAX_AGE).is_ok());
    }

    #[test]
    fn tampered_form_token_has_bad_signature() {
        let ring = Keyring::generate();
        let token = ring.issue_form_token(NOW);
        let (payload_b64, tag_b64) = token.split_once('.').unwrap();
        let payload = URL_SAFE_NO_PAD.decode(payload_b64).unwrap();
        let tag = URL_SAFE_NO_PAD.decode(tag_b64).unwrap();

        // Any byte after the version and id length (id, time, nonce) changed.
        for i in 2..payload.len() {
            let mut bad = payload.clone();
            bad[i] ^= 0x01;
            let bad = format!("{}.{tag_b64}", URL_SAFE_NO_PAD.encode(&bad));
            assert_eq!(
                ring.verify_form_token(&bad, NOW, MAX_AGE),
                Err(FormTokenError::BadSignature),
                "byte {i}"
            );
        }
        let mut bad_tag = tag.clone();
        bad_tag[31] ^= 0x01;
        let bad = format!("{payload_b64}.{}", URL_SAFE_NO_PAD.encode(&bad_tag));
        assert_eq!(
            ring.verify_form_token(&bad, NOW, MAX_AGE),
            Err(FormTokenError::BadSignature)
        );

        // Signed by a keyring that has no such form key.
        let foreign = Keyring::generate().issue_form_token(NOW);
        assert_eq!(
            ring.verify_form_token(&foreign, NOW, MAX_AGE),
            Err(FormTokenError::BadSignature)
        );
    }

    #[test]
    fn garbage_form_token_is_malformed() {
        let ring = Keyring::generate();
        let token = ring.issue_form_token(NOW);
        let (payload_b64, tag_b64) = token.split_once('.').unwrap();
        let long = "A".repeat(1000);
        let cases = [
            "",
            ".",
            "garbage",
            "not base64!.also not",
            &long,
            payload_b64,
            &format!("{payload_b64}.{}", &tag_b64[..20]),
            &format!("{payload_b64}.{tag_b64}.x"),
            &format!("{}.{tag_b64}", &payload_b64[..payload_b64.len() - 4]),
            &format!("{}.{tag_b64}", URL_SAFE_NO_PAD.encode([2u8; 30])),
        ];
        for bad in cases {
            assert_eq!(
                ring.verify_form_token(bad, NOW, MAX_AGE),
                Err(FormTokenError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn old_and_future_form_tokens_are_rejected() {
        let ring = Keyring::generate();
        let token = ring.issue_form_token(NOW);
        assert_eq!(
            ring.verify_form_token(&token, NOW + MAX_AGE + 1, MAX_AGE),
            Err(FormTokenError::Expired)
        );
        assert_eq!(
            ring.verify_form_token(&token, NOW - 61, MAX_AGE),
            Err(FormTokenError::FromTheFuture)
        );
        let extreme = ring.issue_form_token(i64::MIN);
        assert_eq!(
            ring.verify_form_token(&extreme, i64::MAX, MAX_AGE),
            Err(FormTokenError::Expired)
        );
    }

    #[test]
    fn random_helpers() {
        assert_ne!(random_bytes::<16>(), random_bytes::<16>());
        let token = random_token();
        assert_eq!(token.len(), 43);
        assert_ne!(token, random_token());
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
    }
}
