//! Per-report envelope encryption: a random DEK seals each field, the active KEK wraps the DEK.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use rand::rngs::OsRng;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::keyring::KeyPurpose;
use super::{CryptoError, FORMAT_V1, Keyring, SecretKey, length_prefixed};

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const WRAP_LABEL: &[u8] = b"tipoff-wrap";
const SEAL_LABEL: &[u8] = b"tipoff-seal";

/// Where a sealed value lives. It is bound into the AAD so a ciphertext copied to another
/// row, column or table fails to open instead of silently showing the wrong data.
#[derive(Debug, Clone, Copy)]
pub struct SealContext<'a> {
    pub table: &'a str,
    pub row: &'a str,
    pub field: &'a str,
}

/// A report's data-encryption key. Only its id is ever shown.
pub struct Dek {
    id: Uuid,
    key: SecretKey,
}

impl Dek {
    pub fn generate() -> Dek {
        Dek {
            id: Uuid::new_v4(),
            key: SecretKey::random(),
        }
    }

    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Stored as `0x01 ‖ nonce(12) ‖ ciphertext+tag`, with a fresh random nonce each time.
    pub fn seal(&self, ctx: &SealContext<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal_raw(&self.key, &self.aad(ctx), plaintext)
    }

    pub fn open(
        &self,
        ctx: &SealContext<'_>,
        stored: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open_raw(&self.key, &self.aad(ctx), stored)
    }

    pub fn seal_str(&self, ctx: &SealContext<'_>, plaintext: &str) -> Result<Vec<u8>, CryptoError> {
        self.seal(ctx, plaintext.as_bytes())
    }

    pub fn open_string(
        &self,
        ctx: &SealContext<'_>,
        stored: &[u8],
    ) -> Result<Zeroizing<String>, CryptoError> {
        let bytes = self.open(ctx, stored)?;
        // Validate then copy, so the invalid bytes stay inside a Zeroizing buffer.
        let text = std::str::from_utf8(&bytes).map_err(|_| CryptoError::Format)?;
        Ok(Zeroizing::new(text.to_owned()))
    }

    fn aad(&self, ctx: &SealContext<'_>) -> Vec<u8> {
        length_prefixed(&[
            SEAL_LABEL,
            &[FORMAT_V1],
            self.id.as_bytes(),
            ctx.table.as_bytes(),
            ctx.row.as_bytes(),
            ctx.field.as_bytes(),
        ])
    }
}

impl fmt::Debug for Dek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dek")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A DEK sealed under a KEK, as stored beside the report it belongs to.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedDek {
    pub dek_id: Uuid,
    pub kek_id: String,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for WrappedDek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedDek")
            .field("dek_id", &self.dek_id)
            .field("kek_id", &self.kek_id)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Binds the wrapped DEK to its owner (e.g. the report id) and to its own ids, so a
/// wrapped key moved onto another report, or relabelled, fails to unwrap.
fn wrap_aad(kek_id: &str, owner: &str, dek_id: Uuid) -> Vec<u8> {
    length_prefixed(&[
        WRAP_LABEL,
        &[FORMAT_V1],
        kek_id.as_bytes(),
        owner.as_bytes(),
        dek_id.as_bytes(),
    ])
}

impl Keyring {
    /// Seals `dek` under the active KEK for `owner`.
    pub fn wrap(&self, dek: &Dek, owner: &str) -> Result<WrappedDek, CryptoError> {
        let kek = self.active(KeyPurpose::Kek);
        let bytes = seal_raw(
            &kek.secret,
            &wrap_aad(&kek.id, owner, dek.id),
            dek.key.bytes(),
        )?;
        Ok(WrappedDek {
            dek_id: dek.id,
            kek_id: kek.id.clone(),
            bytes,
        })
    }

    /// Opens a wrapped DEK with whichever KEK (active or retired) its `kek_id` names.
    pub fn unwrap(&self, wrapped: &WrappedDek, owner: &str) -> Result<Dek, CryptoError> {
        let kek = self
            .find(KeyPurpose::Kek, &wrapped.kek_id)
            .ok_or_else(|| CryptoError::UnknownKey(wrapped.kek_id.clone()))?;
        let plain = open_raw(
            &kek.secret,
            &wrap_aad(&kek.id, owner, wrapped.dek_id),
            &wrapped.bytes,
        )?;
        let key = SecretKey::from_slice(&plain).ok_or(CryptoError::Format)?;
        Ok(Dek {
            id: wrapped.dek_id,
            key,
        })
    }

    /// Key rotation re-wraps DEKs only; the sealed fields themselves are untouched.
    pub fn rewrap(&self, wrapped: &WrappedDek, owner: &str) -> Result<WrappedDek, CryptoError> {
        let dek = self.unwrap(wrapped, owner)?;
        self.wrap(&dek, owner)
    }
}

fn cipher(key: &SecretKey) -> Aes256Gcm {
    Aes256Gcm::new(key.bytes().into())
}

fn seal_raw(key: &SecretKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    // Random 96-bit nonces: each DEK seals a handful of fields and each KEK wraps far fewer
    // than the ~2^32 messages where collisions start to matter.
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let sealed = cipher(key)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Seal)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn open_raw(key: &SecretKey, aad: &[u8], stored: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (&version, rest) = stored.split_first().ok_or(CryptoError::Format)?;
    if version != FORMAT_V1 || rest.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Format);
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    cipher(key)
        .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Open)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const CTX: SealContext<'static> = SealContext {
        table: "reports",
        row: "7d1c0f0e-2f7a-4a43-9b51-2b8e7c1a9e10",
        field: "body",
    };

    #[test]
    fn seal_open_round_trip() {
        let dek = Dek::generate();
        let stored = dek.seal(&CTX, b"the clerk took a bribe").unwrap();
        assert_eq!(stored[0], 0x01);
        assert_eq!(stored.len(), 1 + 12 + 22 + 16);
        assert_eq!(
            &dek.open(&CTX, &stored).unwrap()[..],
            b"the clerk took a bribe"
        );

        let stored = dek.seal_str(&CTX, "Nguyễn Văn A").unwrap();
        assert_eq!(
            dek.open_string(&CTX, &stored).unwrap().as_str(),
            "Nguyễn Văn A"
        );

        let empty = dek.seal(&CTX, b"").unwrap();
        assert!(dek.open(&CTX, &empty).unwrap().is_empty());
    }

    #[test]
    fn open_in_another_place_fails() {
        let dek = Dek::generate();
        let stored = dek.seal(&CTX, b"secret").unwrap();
        for ctx in [
            SealContext {
                row: "another-row",
                ..CTX
            },
            SealContext {
                field: "name",
                ..CTX
            },
            SealContext {
                table: "reporters",
                ..CTX
            },
            // Length prefixes keep shifted boundaries apart.
            SealContext {
                table: "report",
                row: "s7d1c0f0e-2f7a-4a43-9b51-2b8e7c1a9e10",
                ..CTX
            },
        ] {
            assert!(
                matches!(dek.open(&ctx, &stored), Err(CryptoError::Open)),
                "{ctx:?}"
            );
        }
    }

    #[test]
    fn flipping_any_byte_fails() {
        let dek = Dek::generate();
        let stored = dek.seal(&CTX, b"secret").unwrap();
        for i in 0..stored.len() {
            let mut bad = stored.clone();
            bad[i] ^= 0x01;
            let err = dek.open(&CTX, &bad).unwrap_err();
            // Byte 0 is the version, so changing it is a format error; anything else fails auth.
            if i == 0 {
                assert!(matches!(err, CryptoError::Format));
            } else {
                assert!(matches!(err, CryptoError::Open), "byte {i}: {err}");
            }
        }
    }

    #[test]
    fn another_dek_cannot_open() {
        let stored = Dek::generate().seal(&CTX, b"secret").unwrap();
        assert!(matches!(
            Dek::generate().open(&CTX, &stored),
            Err(CryptoError::Open)
        ));
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let dek = Dek::generate();
        let a = dek.seal(&CTX, b"same").unwrap();
        let b = dek.seal(&CTX, b"same").unwrap();
        assert_ne!(a, b);
        assert_ne!(a[1..13], b[1..13]);
    }

    #[test]
    fn unknown_version_or_truncation_is_format() {
        let dek = Dek::generate();
        let mut stored = dek.seal(&CTX, b"secret").unwrap();
        assert!(matches!(dek.open(&CTX, &[]), Err(CryptoError::Format)));
        assert!(matches!(
            dek.open(&CTX, &stored[..28]),
            Err(CryptoError::Format)
        ));
        stored[0] = 0x02;
        assert!(matches!(dek.open(&CTX, &stored), Err(CryptoError::Format)));
    }

    #[test]
    fn invalid_utf8_is_format() {
        let dek = Dek::generate();
        let stored = dek.seal(&CTX, &[0xff, 0xfe]).unwrap();
        assert!(matches!(
            dek.open_string(&CTX, &stored),
            Err(CryptoError::Format)
        ));
    }

    #[test]
    fn debug_shows_only_ids() {
        let dek = Dek::generate();
        assert_eq!(
            format!("{dek:?}"),
            format!("Dek {{ id: {}, .. }}", dek.id())
        );
        let wrapped = Keyring::generate().wrap(&dek, "r1").unwrap();
        let shown = format!("{wrapped:?}");
        assert!(shown.contains("len: 61"), "{shown}");
    }

    fn same_dek(a: &Dek, b: &Dek) -> bool {
        a.id == b.id && a.key.bytes() == b.key.bytes()
    }

    #[test]
    fn wrap_unwrap_round_trip() {
        let ring = Keyring::generate();
        let dek = Dek::generate();
        let wrapped = ring.wrap(&dek, "report-1").unwrap();
        assert_eq!(wrapped.dek_id, dek.id());
        assert_eq!(wrapped.kek_id, ring.active_kek_id());
        let back = ring.unwrap(&wrapped, "report-1").unwrap();
        assert!(same_dek(&dek, &back));
        // The unwrapped key really opens what the original sealed.
        let stored = dek.seal(&CTX, b"x").unwrap();
        assert_eq!(&back.open(&CTX, &stored).unwrap()[..], b"x");
    }

    #[test]
    fn unwrap_for_another_owner_or_altered_fails() {
        let ring = Keyring::generate();
        let wrapped = ring.wrap(&Dek::generate(), "report-1").unwrap();
        assert!(matches!(
            ring.unwrap(&wrapped, "report-2"),
            Err(CryptoError::Open)
        ));

        let relabelled = WrappedDek {
            dek_id: Uuid::new_v4(),
            ..wrapped.clone()
        };
        assert!(matches!(
            ring.unwrap(&relabelled, "report-1"),
            Err(CryptoError::Open)
        ));

        for i in 1..wrapped.bytes.len() {
            let mut bad = wrapped.clone();
            bad.bytes[i] ^= 0x80;
            assert!(matches!(
                ring.unwrap(&bad, "report-1"),
                Err(CryptoError::Open)
            ));
        }
    }

    #[test]
    fn unwrap_with_missing_kek_is_unknown_key() {
        let ring = Keyring::generate();
        let wrapped = ring.wrap(&Dek::generate(), "report-1").unwrap();
        let other = loop {
            // Ids carry only 16 random bits per day; make sure this one really differs.
            let other = Keyring::generate();
            if other.active_kek_id() != ring.active_kek_id() {
                break other;
            }
        };
        match other.unwrap(&wrapped, "report-1") {
            Err(CryptoError::UnknownKey(id)) => assert_eq!(id, wrapped.kek_id),
            other => panic!("expected UnknownKey, got {other:?}"),
        }
    }

    #[test]
    fn same_kek_id_with_another_secret_fails_to_open() {
        let mut ring = Keyring::generate();
        let wrapped = ring.wrap(&Dek::generate(), "report-1").unwrap();
        let id = ring.active_kek_id().to_owned();
        ring.replace_secret_for_test(&id);
        assert!(matches!(
            ring.unwrap(&wrapped, "report-1"),
            Err(CryptoError::Open)
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Arbitrary bytes, half of them dressed as a stored value (version byte, long enough).
        fn stored_like() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..128),
                prop::collection::vec(any::<u8>(), 29..128).prop_map(|mut v| {
                    v[0] = FORMAT_V1;
                    v
                }),
            ]
        }

        proptest! {
            #[test]
            fn open_inverts_seal(plain in prop::collection::vec(any::<u8>(), 0..4096)) {
                let dek = Dek::generate();
                let stored = dek.seal(&CTX, &plain).unwrap();
                prop_assert_eq!(stored.len(), 1 + NONCE_LEN + plain.len() + TAG_LEN);
                prop_assert_eq!(&dek.open(&CTX, &stored).unwrap()[..], &plain[..]);
            }

            #[test]
            fn open_string_inverts_seal_str(plain in any::<String>()) {
                let dek = Dek::generate();
                let stored = dek.seal_str(&CTX, &plain).unwrap();
                let opened = dek.open_string(&CTX, &stored).unwrap();
                prop_assert_eq!(opened.as_str(), plain.as_str());
            }

            #[test]
            fn any_single_bit_flip_is_refused(
                plain in prop::collection::vec(any::<u8>(), 0..256),
                bit in any::<prop::sample::Index>(),
            ) {
                let dek = Dek::generate();
                let mut stored = dek.seal(&CTX, &plain).unwrap();
                let bit = bit.index(stored.len() * 8);
                stored[bit / 8] ^= 1 << (bit % 8);
                match dek.open(&CTX, &stored) {
                    // The version byte names another format; any other bit breaks the tag.
                    Err(CryptoError::Format) => prop_assert_eq!(bit / 8, 0),
                    Err(CryptoError::Open) => prop_assert_ne!(bit / 8, 0),
                    other => prop_assert!(false, "bit {}: {:?}", bit, other.map(|_| ())),
                }
            }

            #[test]
            fn arbitrary_bytes_never_open(bytes in stored_like()) {
                let dek = Dek::generate();
                let opened = dek.open(&CTX, &bytes);
                prop_assert!(matches!(opened, Err(CryptoError::Open | CryptoError::Format)));
                prop_assert!(dek.open_string(&CTX, &bytes).is_err());
            }

            #[test]
            fn arbitrary_wrapped_bytes_never_unwrap(
                bytes in stored_like(),
                known_kek in any::<bool>(),
            ) {
                let ring = Keyring::generate();
                let kek_id = if known_kek { ring.active_kek_id() } else { "kek-elsewhere" };
                let wrapped = WrappedDek {
                    dek_id: Uuid::new_v4(),
                    kek_id: kek_id.to_owned(),
                    bytes,
                };
                match ring.unwrap(&wrapped, "report-1") {
                    Err(CryptoError::Open | CryptoError::Format) => prop_assert!(known_kek),
                    Err(CryptoError::UnknownKey(_)) => prop_assert!(!known_kek),
                    other => prop_assert!(false, "{:?}", other.map(|_| ())),
                }
            }

            #[test]
            fn any_single_bit_flip_of_a_wrapped_dek_is_refused(
                bit in any::<prop::sample::Index>(),
            ) {
                let ring = Keyring::generate();
                let mut wrapped = ring.wrap(&Dek::generate(), "report-1").unwrap();
                let bit = bit.index(wrapped.bytes.len() * 8);
                wrapped.bytes[bit / 8] ^= 1 << (bit % 8);
                prop_assert!(ring.unwrap(&wrapped, "report-1").is_err());
            }
        }
    }

    #[test]
    fn rewrap_after_rotation_uses_the_new_kek() {
        let mut ring = Keyring::generate();
        let dek = Dek::generate();
        let old = ring.wrap(&dek, "report-1").unwrap();
        let old_kek = old.kek_id.clone();
        let new_kek = ring.rotate(KeyPurpose::Kek).to_owned();

        // Retired KEKs still unwrap what they wrapped.
        assert!(same_dek(&dek, &ring.unwrap(&old, "report-1").unwrap()));

        let new = ring.rewrap(&old, "report-1").unwrap();
        assert_eq!(new.kek_id, new_kek);
        assert_ne!(new.kek_id, old_kek);
        assert_eq!(new.dek_id, dek.id());
        assert!(same_dek(&dek, &ring.unwrap(&new, "report-1").unwrap()));
        // Rewrapping cannot move a DEK to another owner.
        assert!(matches!(
            ring.rewrap(&old, "report-2"),
            Err(CryptoError::Open)
        ));
    }
}
