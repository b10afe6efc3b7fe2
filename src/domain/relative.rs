//! The close-relative register (近亲属备案): the kinds of support a filed relative receives,
//! and what a home visit (入户核实) found.

/// The support a cadre's relative receives, as the plan names the programmes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SupportKind {
    /// 低保, the minimum livelihood guarantee.
    Dibao,
    /// 特困, extreme-poverty support.
    Tekun,
    /// 低边, marginal low-income households.
    Dibian,
    /// 临时救助, temporary assistance.
    Temporary,
}

impl SupportKind {
    pub const ALL: [SupportKind; 4] = [
        SupportKind::Dibao,
        SupportKind::Tekun,
        SupportKind::Dibian,
        SupportKind::Temporary,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SupportKind::Dibao => "dibao",
            SupportKind::Tekun => "tekun",
            SupportKind::Dibian => "dibian",
            SupportKind::Temporary => "temporary",
        }
    }

    pub fn parse(code: &str) -> Option<SupportKind> {
        SupportKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// What a home visit found: the household meets the conditions, does not, or must put
/// something right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VisitFinding {
    /// 符合
    Conform,
    /// 不符合
    NotConform,
    /// 整改
    Rectify,
}

impl VisitFinding {
    pub const ALL: [VisitFinding; 3] = [
        VisitFinding::Conform,
        VisitFinding::NotConform,
        VisitFinding::Rectify,
    ];

    pub fn code(self) -> &'static str {
        match self {
            VisitFinding::Conform => "conform",
            VisitFinding::NotConform => "not_conform",
            VisitFinding::Rectify => "rectify",
        }
    }

    pub fn parse(code: &str) -> Option<VisitFinding> {
        VisitFinding::ALL.into_iter().find(|f| f.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back() {
        for kind in SupportKind::ALL {
            assert_eq!(SupportKind::parse(kind.code()), Some(kind));
        }
        for finding in VisitFinding::ALL {
            assert_eq!(VisitFinding::parse(finding.code()), Some(finding));
        }
        assert_eq!(SupportKind::parse("低保"), None);
        assert_eq!(VisitFinding::parse(""), None);
    }
}
