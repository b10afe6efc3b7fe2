//! The eight kinds of places where the notice is posted (the plan's "八有").

/// Where a posted copy of the notice hangs. `code()` is what the CLI, the forms and the
/// database use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SiteKind {
    SubdistrictBoard,
    VillageBoard,
    GroupBoard,
    StationMarket,
    BuildingCourtyard,
    /// The copy handed to every household: one site per village, never one per household,
    /// since a per-household code would name the reporter.
    Household,
    OfficeCounter,
    Website,
}

impl SiteKind {
    pub const ALL: [SiteKind; 8] = [
        SiteKind::SubdistrictBoard,
        SiteKind::VillageBoard,
        SiteKind::GroupBoard,
        SiteKind::StationMarket,
        SiteKind::BuildingCourtyard,
        SiteKind::Household,
        SiteKind::OfficeCounter,
        SiteKind::Website,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SiteKind::SubdistrictBoard => "subdistrict_board",
            SiteKind::VillageBoard => "village_board",
            SiteKind::GroupBoard => "group_board",
            SiteKind::StationMarket => "station_market",
            SiteKind::BuildingCourtyard => "building_courtyard",
            SiteKind::Household => "household",
            SiteKind::OfficeCounter => "office_counter",
            SiteKind::Website => "website",
        }
    }

    pub fn parse(code: &str) -> Option<SiteKind> {
        let code = code.trim();
        SiteKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_from_its_code_and_nothing_else_does() {
        for kind in SiteKind::ALL {
            assert_eq!(SiteKind::parse(kind.code()), Some(kind));
        }
        assert_eq!(SiteKind::parse(" household "), Some(SiteKind::Household));
        assert_eq!(SiteKind::parse("Household"), None);
        assert_eq!(SiteKind::parse("wechat_group"), None);
    }
}
