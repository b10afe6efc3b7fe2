//! The tracking code a reporter keeps to follow up on a tip-off: 15 digits plus a Damm check digit.

#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::fmt;

/// Standard Damm quasigroup of order 10 (weakly totally anti-symmetric), so every
/// single-digit error and every adjacent transposition changes the check digit.
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

const LEN: usize = 16;
const BODY_LEN: usize = LEN - 1;

/// Interim digit after running the Damm table over `digits`; callers guarantee ASCII digits.
fn damm(digits: &str) -> u8 {
    digits.bytes().fold(0u8, |interim, b| {
        DAMM[usize::from(interim)][usize::from(b - b'0')]
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TrackingCodeError {
    #[error("a tracking code is 16 digits")]
    Malformed,
    #[error("this tracking code has a typo (check digit does not match)")]
    CheckDigit,
}

/// Exactly 16 ASCII digits whose Damm checksum is zero. It is a bearer secret, so there
/// is deliberately no `Display` and `Debug` hides the digits.
#[derive(Clone, PartialEq, Eq)]
pub struct TrackingCode(String);

impl TrackingCode {
    pub fn parse(input: &str) -> Result<TrackingCode, TrackingCodeError> {
        let mut digits = String::with_capacity(LEN);
        for c in input.chars() {
            match c {
                // Separators people type or paste from the grouped form.
                ' ' | '-' | '\u{3000}' => {}
                // Full-width digits come from phone IMEs set to CJK input.
                '\u{FF10}'..='\u{FF19}' => {
                    let offset = u32::from(c) - 0xFF10;
                    digits.push(char::from(b'0' + offset as u8));
                }
                _ => digits.push(c),
            }
            // Bound the work on hostile input; anything this long is malformed anyway.
            if digits.len() > LEN {
                return Err(TrackingCodeError::Malformed);
            }
        }
        if digits.len() != LEN || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TrackingCodeError::Malformed);
        }
        if damm(&digits) != 0 {
            return Err(TrackingCodeError::CheckDigit);
        }
        Ok(TrackingCode(digits))
    }

    /// Builds a code from its first 15 digits by appending the check digit.
    pub fn from_body(body15: &str) -> Option<TrackingCode> {
        if body15.len() != BODY_LEN || !body15.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut digits = String::with_capacity(LEN);
        digits.push_str(body15);
        digits.push(char::from(b'0' + damm(body15)));
        Some(TrackingCode(digits))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Groups of four, the form shown to the reporter and easiest to copy by hand.
    pub fn grouped(&self) -> String {
        let mut out = String::with_capacity(LEN + 3);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }
}

impl fmt::Debug for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrackingCode(****)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const SAMPLES: [&str; 3] = ["123456789012345", "000000000000000", "907315264880421"];

    #[test]
    fn known_damm_vector() {
        // Published example: the check digit of 572 is 4.
        assert_eq!(damm("572"), 4);
        assert_eq!(damm("5724"), 0);
    }

    #[test]
    fn from_body_round_trips_through_parse() {
        for body in SAMPLES {
            let code = TrackingCode::from_body(body).unwrap();
            assert_eq!(&code.digits()[..15], body);
            assert_eq!(TrackingCode::parse(code.digits()).unwrap(), code);
        }
        assert!(TrackingCode::from_body("12345678901234").is_none());
        assert!(TrackingCode::from_body("1234567890123456").is_none());
        assert!(TrackingCode::from_body("12345678901234a").is_none());
    }

    #[test]
    fn detects_every_single_digit_error() {
        for body in SAMPLES {
            let good = TrackingCode::from_body(body).unwrap().digits().to_owned();
            for pos in 0..LEN {
                for d in b'0'..=b'9' {
                    let mut bad = good.clone().into_bytes();
                    if bad[pos] == d {
                        continue;
                    }
                    bad[pos] = d;
                    assert_check_digit_catches(bad);
                }
            }
        }
    }

    /// A mistyped code is refused for its check digit, not taken for another code.
    fn assert_check_digit_catches(bad: Vec<u8>) {
        let bad = String::from_utf8(bad).unwrap();
        assert_eq!(
            TrackingCode::parse(&bad),
            Err(TrackingCodeError::CheckDigit),
            "{bad}"
        );
    }

    #[test]
    fn detects_every_adjacent_transposition() {
        for body in SAMPLES {
            let good = TrackingCode::from_body(body).unwrap().digits().to_owned();
            for pos in 0..LEN - 1 {
                let mut bad = good.clone().into_bytes();
                if bad[pos] == bad[pos + 1] {
                    continue;
                }
                bad.swap(pos, pos + 1);
                assert_check_digit_catches(bad);
            }
        }
    }

    #[test]
    fn parse_accepts_human_forms() {
        let code = TrackingCode::from_body("123456789012345").unwrap();
        let grouped = code.grouped();
        assert_eq!(grouped.len(), 19);
        assert_eq!(&grouped[..15], "1234 5678 9012 ");
        let hyphenated = grouped.replace(' ', "-");
        let full_width: String = grouped
            .chars()
            .map(|c| match c {
                ' ' => '\u{3000}',
                d => char::from_u32(u32::from(d) - u32::from('0') + 0xFF10).unwrap(),
            })
            .collect();
        for form in [grouped.as_str(), &hyphenated, &full_width, code.digits()] {
            assert_eq!(TrackingCode::parse(form).unwrap(), code, "{form}");
        }
    }

    #[test]
    fn parse_rejects_malformed() {
        let code = TrackingCode::from_body("123456789012345").unwrap();
        let d = code.digits();
        for bad in [
            &d[..15],
            &format!("{d}0"),
            "12345678901234ab",
            "",
            "１２３",
            &format!("{d}\t"),
            "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦",
        ] {
            assert_eq!(
                TrackingCode::parse(bad),
                Err(TrackingCodeError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_hides_digits() {
        let code = TrackingCode::from_body("123456789012345").unwrap();
        assert_eq!(format!("{code:?}"), "TrackingCode(****)");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn code() -> impl Strategy<Value = TrackingCode> {
            "[0-9]{15}".prop_map(|body| TrackingCode::from_body(&body).unwrap())
        }

        /// Characters a typed code is made of, and some it must not be.
        fn code_like() -> impl Strategy<Value = String> {
            let c = prop_oneof![
                8 => prop::char::range('0', '9'),
                2 => prop::sample::select(vec![' ', '-', '\u{3000}', '\u{FF10}', '\u{FF19}']),
                1 => any::<char>(),
            ];
            prop::collection::vec(c, 0..24).prop_map(String::from_iter)
        }

        fn separators() -> impl Strategy<Value = Vec<char>> {
            prop::collection::vec(prop::sample::select(vec![' ', '-', '\u{3000}']), 0..3)
        }

        proptest! {
            #[test]
            fn parse_never_panics(text in any::<String>()) {
                let _ = TrackingCode::parse(&text);
            }

            #[test]
            fn whatever_parses_is_sixteen_digits_with_a_valid_check_digit(text in code_like()) {
                if let Ok(code) = TrackingCode::parse(&text) {
                    prop_assert_eq!(code.digits().len(), LEN);
                    prop_assert!(code.digits().bytes().all(|b| b.is_ascii_digit()));
                    prop_assert_eq!(damm(code.digits()), 0);
                }
            }

            #[test]
            fn every_generated_code_parses_back_plain_and_grouped(code in code()) {
                prop_assert_eq!(TrackingCode::parse(code.digits()), Ok(code.clone()));
                let grouped = code.grouped();
                prop_assert_eq!(grouped.len(), LEN + 3);
                prop_assert!(grouped.split(' ').all(|group| group.len() == 4));
                prop_assert_eq!(grouped.replace(' ', ""), code.digits());
                prop_assert_eq!(TrackingCode::parse(&grouped), Ok(code));
            }

            #[test]
            fn every_single_digit_change_is_a_check_digit_error(
                code in code(),
                pos in 0..LEN,
                delta in 1u8..10,
            ) {
                let mut bad = code.digits().as_bytes().to_vec();
                bad[pos] = b'0' + (bad[pos] - b'0' + delta) % 10;
                let bad = String::from_utf8(bad).unwrap();
                prop_assert_eq!(TrackingCode::parse(&bad), Err(TrackingCodeError::CheckDigit));
            }

            #[test]
            fn every_adjacent_transposition_is_a_check_digit_error(
                code in code(),
                pos in 0..LEN - 1,
            ) {
                let mut bad = code.digits().as_bytes().to_vec();
                prop_assume!(bad[pos] != bad[pos + 1]);
                bad.swap(pos, pos + 1);
                let bad = String::from_utf8(bad).unwrap();
                prop_assert_eq!(TrackingCode::parse(&bad), Err(TrackingCodeError::CheckDigit));
            }

            #[test]
            fn separators_and_full_width_digits_anywhere_are_accepted(
                code in code(),
                // Per position: separators typed before the digit, and whether it is full-width.
                typing in prop::collection::vec((separators(), any::<bool>()), LEN),
                trailing in separators(),
            ) {
                let mut typed = String::new();
                for (digit, (separators, full_width)) in code.digits().chars().zip(&typing) {
                    typed.extend(separators);
                    typed.push(if *full_width {
                        char::from_u32(u32::from(digit) - u32::from('0') + 0xFF10).unwrap()
                    } else {
                        digit
                    });
                }
                typed.extend(trailing);
                prop_assert_eq!(TrackingCode::parse(&typed), Ok(code));
            }
        }
    }
}
