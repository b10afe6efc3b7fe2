//! Rectification (整改) after a finding: what a result of a measure may be, and the amounts
//! of money the plan asks the office to account for.

use std::fmt;

/// What a rectification measure came to, as the plan's summary counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResultKind {
    /// Support wrongly granted was stopped (households).
    SupportStopped,
    /// Support wrongly refused was granted (households).
    SupportGranted,
    /// The amount of support was corrected (households, yuan a month).
    AmountAdjusted,
    /// Money paid out wrongly was recovered (yuan).
    FundsRecovered,
    /// People dealt with: 批评教育, 诫勉谈话, 党纪政务处分, 移送.
    Criticised,
    Admonished,
    Disciplined,
    Referred,
}

impl ResultKind {
    pub const ALL: [ResultKind; 8] = [
        ResultKind::SupportStopped,
        ResultKind::SupportGranted,
        ResultKind::AmountAdjusted,
        ResultKind::FundsRecovered,
        ResultKind::Criticised,
        ResultKind::Admonished,
        ResultKind::Disciplined,
        ResultKind::Referred,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ResultKind::SupportStopped => "support_stopped",
            ResultKind::SupportGranted => "support_granted",
            ResultKind::AmountAdjusted => "amount_adjusted",
            ResultKind::FundsRecovered => "funds_recovered",
            ResultKind::Criticised => "criticism",
            ResultKind::Admonished => "admonition",
            ResultKind::Disciplined => "discipline",
            ResultKind::Referred => "referral",
        }
    }

    pub fn parse(code: &str) -> Option<ResultKind> {
        ResultKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Whether the result is an amount of money (and must say how much).
    pub fn is_money(self) -> bool {
        matches!(
            self,
            ResultKind::AmountAdjusted | ResultKind::FundsRecovered
        )
    }

    /// Whether the result counts people dealt with rather than households.
    pub fn is_sanction(self) -> bool {
        matches!(
            self,
            ResultKind::Criticised
                | ResultKind::Admonished
                | ResultKind::Disciplined
                | ResultKind::Referred
        )
    }
}

/// The most people or households one result may count.
pub const RESULT_COUNT_MAX: u32 = 10_000;

/// An amount of money in yuan, held in fen so that sums are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Yuan(i64);

/// The largest amount accepted: 100 million yuan, far past any one case.
const YUAN_MAX_FEN: i64 = 100_000_000 * 100;

impl Yuan {
    /// An amount as people write it: `3600`, `3,600`, `3600.5`, `３６００元`, `¥3,600.00`.
    /// Refused: nothing, zero, negative, more than two decimals, or absurdly large.
    pub fn parse(typed: &str) -> Result<Yuan, &'static str> {
        let normal: String = typed
            .chars()
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                '．' | '。' => '.',
                other => other,
            })
            .filter(|c| !matches!(c, ',' | '，' | ' ' | '\u{3000}' | '¥' | '￥'))
            .collect();
        let normal = normal.strip_suffix('元').unwrap_or(&normal);
        if normal.is_empty() {
            return Err("error.required");
        }
        let (whole, fraction) = normal.split_once('.').unwrap_or((normal, ""));
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 2 {
            return Err("error.amount");
        }
        let whole: i64 = whole.parse().map_err(|_| "error.amount")?;
        let fen: i64 = format!("{fraction:0<2}")
            .parse()
            .map_err(|_| "error.amount")?;
        let total = whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(fen))
            .filter(|t| (1..=YUAN_MAX_FEN).contains(t))
            .ok_or("error.amount")?;
        Ok(Yuan(total))
    }

    pub fn from_fen(fen: i64) -> Yuan {
        Yuan(fen)
    }

    pub fn fen(self) -> i64 {
        self.0
    }

    /// Yuan as a number, for a spreadsheet cell.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl std::ops::Add for Yuan {
    type Output = Yuan;

    fn add(self, other: Yuan) -> Yuan {
        Yuan(self.0.saturating_add(other.0))
    }
}

impl std::iter::Sum for Yuan {
    fn sum<I: Iterator<Item = Yuan>>(iter: I) -> Yuan {
        iter.fold(Yuan::default(), |a, b| a + b)
    }
}

/// `3,600.00`: thousands grouped, always two decimals.
impl fmt::Display for Yuan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = (self.0 / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "{grouped}.{:02}", self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_as_people_write_them() {
        for (typed, fen) in [
            ("3600", 360_000),
            ("3,600", 360_000),
            ("3600.5", 360_050),
            ("3600.05", 360_005),
            ("３６００元", 360_000),
            ("¥3,600.00", 360_000),
            (" 12，000 ", 1_200_000),
            ("0.01", 1),
        ] {
            assert_eq!(Yuan::parse(typed).map(Yuan::fen), Ok(fen), "{typed}");
        }
    }

    #[test]
    fn what_is_not_an_amount_is_refused() {
        assert_eq!(Yuan::parse(" "), Err("error.required"));
        for typed in [
            "0",
            "-5",
            "3.141",
            "三千",
            "1e5",
            ".5",
            "100000001",
            "12.3.4",
        ] {
            assert_eq!(Yuan::parse(typed), Err("error.amount"), "{typed}");
        }
    }

    #[test]
    fn amounts_show_grouped_with_two_decimals() {
        assert_eq!(Yuan::from_fen(360_000).to_string(), "3,600.00");
        assert_eq!(Yuan::from_fen(5).to_string(), "0.05");
        assert_eq!(Yuan::from_fen(123_456_789).to_string(), "1,234,567.89");
        let sum: Yuan = [Yuan::from_fen(150), Yuan::from_fen(250)].into_iter().sum();
        assert_eq!(sum, Yuan::from_fen(400));
    }

    #[test]
    fn result_kinds_read_back_from_their_codes() {
        for kind in ResultKind::ALL {
            assert_eq!(ResultKind::parse(kind.code()), Some(kind));
        }
        assert_eq!(ResultKind::parse("pardon"), None);
        assert!(ResultKind::FundsRecovered.is_money() && !ResultKind::Referred.is_money());
        assert!(ResultKind::Disciplined.is_sanction() && !ResultKind::SupportStopped.is_sanction());
    }
}
