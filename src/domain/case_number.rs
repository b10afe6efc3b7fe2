//! Case numbers as people type them: `2026-0001`, or just `0001` or `1` for this year's,
//! with full-width digits, full-width or long dashes and stray spaces forgiven.

/// The stored form of a typed case number, `YYYY-NNNN`; a number without a year is taken in
/// `year` (the year of the case it is typed on). `None` when it is not a case number.
pub fn parse_case_number(typed: &str, year: i32) -> Option<String> {
    let folded: String = typed
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '－' | '—' | '–' | '‐' | '/' | '.' => '-',
            other => other,
        })
        .collect();
    let (year, serial) = match folded.split_once('-') {
        Some((year, serial)) if year.len() == 4 => (year.parse().ok()?, serial),
        Some(_) => return None,
        None => (year, folded.as_str()),
    };
    if serial.is_empty() || serial.len() > 6 || !serial.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let serial: u32 = serial.parse().ok()?;
    (serial > 0).then(|| format!("{year}-{serial:04}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_number_is_read_however_it_is_typed() {
        for typed in [
            "2026-0001",
            "0001",
            "1",
            " 0001 ",
            "２０２６－０００１",
            "2026—1",
            "001",
        ] {
            assert_eq!(
                parse_case_number(typed, 2026).as_deref(),
                Some("2026-0001"),
                "{typed:?}"
            );
        }
        assert_eq!(
            parse_case_number("2025-0042", 2026).as_deref(),
            Some("2025-0042")
        );
        assert_eq!(
            parse_case_number("12345", 2026).as_deref(),
            Some("2026-12345")
        );
    }

    #[test]
    fn what_is_not_a_case_number_is_refused() {
        for typed in [
            "",
            "-",
            "0",
            "0000",
            "26-0001",
            "2026-",
            "abc",
            "2026-00a1",
            "1234567",
        ] {
            assert_eq!(parse_case_number(typed, 2026), None, "{typed:?}");
        }
    }
}
