//! Targets for the stored and signed formats: sealed values, wrapped keys, form tokens, key files.

use std::sync::LazyLock;

use uuid::Uuid;

use crate::crypto::{CryptoError, Dek, FormTokenError, Keyring, SealContext, WrappedDek};

/// A keyring of fixed, published secrets, so that every run sees the same keys and a saved
/// input reproduces. Never a key of any deployment.
const FIXTURE_KEYRING: &str = r#"
[[key]]
id = "kek-fuzz-old"
purpose = "kek"
active = false
secret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

[[key]]
id = "kek-fuzz"
purpose = "kek"
active = true
secret = "ERERERERERERERERERERERERERERERERERERERERERE="

[[key]]
id = "lookup-fuzz"
purpose = "lookup"
active = true
secret = "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI="

[[key]]
id = "index-fuzz"
purpose = "index"
active = true
secret = "MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM="

[[key]]
id = "form-fuzz"
purpose = "form"
active = true
secret = "REREREREREREREREREREREREREREREREREREREREREQ="

[[key]]
id = "audit-fuzz"
purpose = "audit"
active = true
secret = "VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVU="
"#;

/// The fixture's form key id with another secret: a token it accepts would be a forgery.
const FORGER_FORM_SECRET: &str = "ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=";

const OWNER: &str = "fuzz-report";
const DEK_ID: Uuid = Uuid::from_u128(0x516f_c92b_546e_474e_a8da_f921_9ebd_926d);
/// A DEK wrapped once under `kek-fuzz` for `OWNER`, so the same DEK opens every saved input.
const WRAPPED_DEK: &str = "01f310a512babc380ca8dd978629f2dfd8203842f2b35cac3a48945f63d988136d72dc6234767db78c0a618675307401d0d09fdbd927fb7d043ab66b63";

/// Where the fuzzed values are opened; sealed seeds in fuzz/corpus were sealed here.
const SEAL_CONTEXT: SealContext<'static> = SealContext {
    table: "reports",
    row: "5eed0000-0000-4000-8000-000000000002",
    field: "description",
};

/// What the form-token target takes as "now" and the longest age it accepts.
const TOKEN_NOW: i64 = 1_795_000_000;
const TOKEN_MAX_AGE: i64 = 86_400;
const CLOCK_SKEW: i64 = 60;

struct Fixture {
    keyring: Keyring,
    forger: Keyring,
    dek: Dek,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let keyring = parsed(FIXTURE_KEYRING);
    let forger = parsed(&FIXTURE_KEYRING.replace(
        "REREREREREREREREREREREREREREREREREREREREREQ=",
        FORGER_FORM_SECRET,
    ));
    let dek = match keyring.unwrap(&fixture_wrapped(), OWNER) {
        Ok(dek) => dek,
        Err(e) => panic!("fuzzing fixture: the saved DEK no longer unwraps: {e}"),
    };
    Fixture {
        keyring,
        forger,
        dek,
    }
});

fn parsed(text: &str) -> Keyring {
    match Keyring::parse_str(text, "fixture") {
        Ok(ring) => ring,
        Err(e) => panic!("fuzzing fixture: {e}"),
    }
}

fn fixture_wrapped() -> WrappedDek {
    WrappedDek {
        dek_id: DEK_ID,
        kek_id: "kek-fuzz".into(),
        bytes: hex(WRAPPED_DEK),
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The bytes as a stored sealed value, as a wrapped DEK, and as a plaintext to seal.
pub fn sealed_value(data: &[u8]) {
    let fixture = &*FIXTURE;
    let dek = &fixture.dek;
    match dek.open(&SEAL_CONTEXT, data) {
        Ok(plain) => {
            // Only a real sealed value opens, and it opens nowhere else.
            let elsewhere = SealContext {
                field: "subject",
                ..SEAL_CONTEXT
            };
            assert!(matches!(dek.open(&elsewhere, data), Err(CryptoError::Open)));
            assert_eq!(data.len(), 1 + 12 + plain.len() + 16);
        }
        Err(CryptoError::Open | CryptoError::Format) => {}
        Err(e) => panic!("open failed with an unexpected error: {e}"),
    }
    let _ = dek.open_string(&SEAL_CONTEXT, data);

    for kek_id in ["kek-fuzz", "kek-fuzz-old", "kek-unknown"] {
        let wrapped = WrappedDek {
            dek_id: DEK_ID,
            kek_id: kek_id.into(),
            bytes: data.to_vec(),
        };
        match fixture.keyring.unwrap(&wrapped, OWNER) {
            // Only the saved wrapping of the fixture DEK itself can unwrap.
            Ok(_) => assert_eq!(wrapped.bytes, hex(WRAPPED_DEK)),
            Err(CryptoError::UnknownKey(_)) => assert_eq!(kek_id, "kek-unknown"),
            Err(CryptoError::Open | CryptoError::Format) => {}
            Err(e) => panic!("unwrap failed with an unexpected error: {e}"),
        }
    }

    let sealed = match dek.seal(&SEAL_CONTEXT, data) {
        Ok(sealed) => sealed,
        Err(e) => panic!("seal failed: {e}"),
    };
    match dek.open(&SEAL_CONTEXT, &sealed) {
        Ok(plain) => assert_eq!(&plain[..], data, "open(seal(x)) != x"),
        Err(e) => panic!("a fresh seal does not open: {e}"),
    }
    // One bit flipped where the input says: the version byte is a format error, any other an
    // authentication failure.
    let spread = data.iter().fold(data.len(), |acc, &b| {
        acc.wrapping_mul(31).wrapping_add(usize::from(b))
    });
    let bit = spread % (sealed.len() * 8);
    let mut altered = sealed;
    altered[bit / 8] ^= 1 << (bit % 8);
    match dek.open(&SEAL_CONTEXT, &altered) {
        Err(CryptoError::Format) => assert_eq!(bit / 8, 0),
        Err(CryptoError::Open) => assert_ne!(bit / 8, 0),
        Err(e) => panic!("an altered value failed with an unexpected error: {e}"),
        Ok(_) => panic!("an altered value opened (bit {bit})"),
    }
}

/// The hidden `form_token` field of the public form.
pub fn form_token(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let fixture = &*FIXTURE;
    match fixture
        .keyring
        .verify_form_token(token, TOKEN_NOW, TOKEN_MAX_AGE)
    {
        Ok(parsed) => {
            assert!(
                parsed.issued_at <= TOKEN_NOW + CLOCK_SKEW,
                "from the future"
            );
            assert!(TOKEN_NOW - parsed.issued_at <= TOKEN_MAX_AGE, "expired");
            assert_eq!(
                fixture
                    .forger
                    .verify_form_token(token, TOKEN_NOW, TOKEN_MAX_AGE),
                Err(FormTokenError::BadSignature),
                "a token verified under a key that did not sign it"
            );
        }
        Err(
            FormTokenError::Malformed
            | FormTokenError::BadSignature
            | FormTokenError::Expired
            | FormTokenError::FromTheFuture,
        ) => {}
    }
    // The confirmation step holds a MAC of the token: nothing typed may pass for one.
    assert!(!fixture.keyring.csrf_matches("a-form-token", token));
}

/// A keyring file as an operator might have edited it.
pub fn keyring_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Keyring::parse_str(text, "keyring.toml") {
        Ok(ring) => {
            // A keyring that loads can do everything the service asks of it.
            let dek = Dek::generate();
            let wrapped = match ring.wrap(&dek, OWNER) {
                Ok(wrapped) => wrapped,
                Err(e) => panic!("a loaded keyring cannot wrap: {e}"),
            };
            assert!(ring.unwrap(&wrapped, OWNER).is_ok());
            let token = ring.issue_form_token(TOKEN_NOW);
            assert!(ring.verify_form_token(&token, TOKEN_NOW, 60).is_ok());
            let mac = ring.audit_mac(b"prev", b"entry");
            assert_eq!(
                ring.audit_mac_matches(ring.audit_key_id(), b"prev", b"entry", &mac)
                    .ok(),
                Some(true)
            );
        }
        Err(e) => {
            let message = e.to_string();
            // The message may be logged: no secret written in the file may appear in it.
            for secret in quoted_secrets(text) {
                assert!(!message.contains(secret), "the error echoes a secret");
            }
        }
    }
}

/// The quoted values of lines that assign `secret` and look like key material (base64, at
/// least 16 characters), except those also written elsewhere in the file: an id or a value
/// may legitimately be named in an error, and the fuzzer soon copies one into a secret.
fn quoted_secrets(text: &str) -> Vec<&str> {
    let is_secret = |line: &&str| line.trim_start().starts_with("secret");
    let elsewhere: Vec<&str> = text.lines().filter(|line| !is_secret(line)).collect();
    text.lines()
        .filter(is_secret)
        .filter_map(|line| line.split('"').nth(1))
        .filter(|value| value.len() >= 16)
        .filter(|value| {
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        })
        .filter(|value| !elsewhere.iter().any(|line| line.contains(value)))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::fuzzing::tests::seed;

    /// The seeds reach past the first check only while the fixture keys still open them.
    #[test]
    fn the_saved_seeds_still_open_under_the_fixture_keys() {
        let opened = FIXTURE
            .dek
            .open_string(&SEAL_CONTEXT, &seed("sealed_value", "sealed-description"))
            .unwrap();
        assert_eq!(opened.as_str(), "村主任的亲戚开着小车还在吃低保");
        let wrapped = WrappedDek {
            bytes: seed("sealed_value", "wrapped-dek"),
            ..fixture_wrapped()
        };
        assert_eq!(
            FIXTURE.keyring.unwrap(&wrapped, OWNER).unwrap().id(),
            DEK_ID
        );
        let token = String::from_utf8(seed("form_token", "valid")).unwrap();
        let ring = &FIXTURE.keyring;
        assert!(
            ring.verify_form_token(&token, TOKEN_NOW, TOKEN_MAX_AGE)
                .is_ok()
        );
        let expired = String::from_utf8(seed("form_token", "expired")).unwrap();
        assert_eq!(
            ring.verify_form_token(&expired, TOKEN_NOW, TOKEN_MAX_AGE),
            Err(FormTokenError::Expired)
        );
    }
}
