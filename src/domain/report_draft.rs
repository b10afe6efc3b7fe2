//! A resident's report as typed, and the checked draft that the intake service accepts.

use crate::domain::is_invisible;

/// The report as it arrived from a form, the JSON API or an operator, before any check.
#[derive(Debug, Clone, Default)]
pub struct RawReport {
    pub category: Option<String>,
    pub village: Option<String>,
    pub subject: Option<String>,
    pub subject_role: Option<String>,
    pub description: Option<String>,
    pub occurred: Option<String>,
    pub anonymous: Option<bool>,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    pub site: Option<String>,
}

/// What kind of favoritism is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Favor,
    Connection,
    Policy,
    WrongfulInclusion,
    WrongfulExclusion,
    TaperPeriod,
    ExtremePoverty,
    Bribery,
    Nepotism,
    Other,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Favor,
        Category::Connection,
        Category::Policy,
        Category::WrongfulInclusion,
        Category::WrongfulExclusion,
        Category::TaperPeriod,
        Category::ExtremePoverty,
        Category::Bribery,
        Category::Nepotism,
        Category::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Category::Favor => "favor",
            Category::Connection => "connection",
            Category::Policy => "policy",
            Category::WrongfulInclusion => "wrongful_inclusion",
            Category::WrongfulExclusion => "wrongful_exclusion",
            Category::TaperPeriod => "taper_period",
            Category::ExtremePoverty => "extreme_poverty",
            Category::Bribery => "bribery",
            Category::Nepotism => "nepotism",
            Category::Other => "other",
        }
    }

    pub fn parse(code: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// The role of the person reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectRole {
    VillageCadre,
    Caseworker,
    CivilAffairsStaff,
    GridWorker,
    Other,
}

impl SubjectRole {
    pub const ALL: [SubjectRole; 5] = [
        SubjectRole::VillageCadre,
        SubjectRole::Caseworker,
        SubjectRole::CivilAffairsStaff,
        SubjectRole::GridWorker,
        SubjectRole::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            SubjectRole::VillageCadre => "village_cadre",
            SubjectRole::Caseworker => "caseworker",
            SubjectRole::CivilAffairsStaff => "civil_affairs_staff",
            SubjectRole::GridWorker => "grid_worker",
            SubjectRole::Other => "other",
        }
    }

    pub fn parse(code: &str) -> Option<SubjectRole> {
        SubjectRole::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// A village or community whose residents the campaign serves, as the config lists it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Village {
    pub id: String,
    pub zh: String,
    pub en: String,
}

/// The configured villages and communities a report may name.
#[derive(Debug, Clone)]
pub struct Villages(Vec<Village>);

impl Villages {
    pub fn new(list: Vec<Village>) -> Villages {
        Villages(list)
    }

    pub fn all(&self) -> &[Village] {
        &self.0
    }

    pub fn get(&self, id: &str) -> Option<&Village> {
        self.0.iter().find(|v| v.id == id)
    }
}

/// A mainland phone number, normalised to digits (landlines keep their area code).
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Accepts a mobile number `1[3-9]` + 9 digits or a landline `0` + area code + number,
    /// with spaces, hyphens and a leading +86 / 0086 tolerated.
    pub fn parse(input: &str) -> Option<Phone> {
        let mut digits: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}' | '(' | ')'))
            .map(|c| match c {
                '\u{FF10}'..='\u{FF19}' => char::from(b'0' + (c as u32 - 0xFF10) as u8),
                other => other,
            })
            .collect();
        if let Some(rest) = digits.strip_prefix("+86") {
            digits = rest.to_string();
        } else if let Some(rest) = digits.strip_prefix("0086") {
            digits = rest.to_string();
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let bytes = digits.as_bytes();
        let mobile = bytes.len() == 11 && bytes[0] == b'1' && (b'3'..=b'9').contains(&bytes[1]);
        // Area codes are 3 or 4 digits with the leading 0, subscriber numbers 7 or 8.
        let landline = bytes.first() == Some(&b'0')
            && bytes.get(1) != Some(&b'0')
            && (10..=12).contains(&bytes.len());
        (mobile || landline).then_some(Phone(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Phone(****)")
    }
}

/// Who a real-name reporter is.
#[derive(Clone)]
pub struct Reporter {
    pub name: String,
    pub phone: Phone,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reporter(****)")
    }
}

/// A field that failed its check, and why (`reason` is a message-catalog key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub reason: &'static str,
}

/// A report that passed every check: the only thing `services::reports::submit` takes.
#[derive(Clone)]
pub struct ReportDraft {
    pub category: Category,
    pub village: Option<String>,
    pub subject: Option<String>,
    pub subject_role: Option<SubjectRole>,
    pub description: String,
    pub occurred: Option<String>,
    /// `None` for an anonymous report.
    pub reporter: Option<Reporter>,
    pub site: Option<String>,
    /// Evidence files, already checked and (where they must be) stripped.
    pub attachments: Vec<super::attachment::Attachment>,
}

impl std::fmt::Debug for ReportDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Report content never goes to a log, even by accident.
        f.debug_struct("ReportDraft")
            .field("category", &self.category)
            .field("anonymous", &self.reporter.is_none())
            .finish_non_exhaustive()
    }
}

pub const DESCRIPTION_MIN: usize = 5;
pub const DESCRIPTION_MAX: usize = 5000;
pub const SUBJECT_MAX: usize = 500;
pub const OCCURRED_MAX: usize = 100;
pub const NAME_MAX: usize = 50;
pub const SITE_MAX: usize = 128;

/// Drops control characters other than line breaks and tabs (they only ever come from
/// tampering or broken input methods), then trims, and turns an empty string into `None`.
/// Trimming comes last so that a control character cannot shield blanks from it.
fn clean(value: Option<String>) -> Option<String> {
    let value = value?;
    // `\r` is a control character: a CRLF line break becomes `\n` here too. Invisible
    // formatting characters go as well: an override could show an inspector text reversed.
    let kept: String = value
        .chars()
        .filter(|c| (!c.is_control() || matches!(c, '\n' | '\t')) && !is_invisible(*c))
        .collect();
    let cleaned = kept.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

fn check_len(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: &Option<String>,
    max: usize,
) {
    if value.as_ref().is_some_and(|v| v.chars().count() > max) {
        errors.push(FieldError {
            field,
            reason: "too_long",
        });
    }
}

/// A field read by `parse` once cleaned: empty is `None` (refused as `required` where it is
/// required), and what does not parse is refused with the reason `parse` gives.
fn parsed<T>(
    fail: &mut impl FnMut(&'static str, &'static str),
    field: &'static str,
    raw: Option<String>,
    required: bool,
    parse: impl FnOnce(&str) -> Result<T, &'static str>,
) -> Option<T> {
    let Some(text) = clean(raw) else {
        if required {
            fail(field, "required");
        }
        return None;
    };
    parse(&text).map_err(|reason| fail(field, reason)).ok()
}

impl ReportDraft {
    /// Checks every field and reports all problems at once, so a form is re-shown only once.
    pub fn parse(raw: RawReport, villages: &Villages) -> Result<ReportDraft, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field, reason| errors.push(FieldError { field, reason });

        let category = parsed(&mut fail, "category", raw.category, true, |code| {
            Category::parse(code).ok_or("unknown_choice")
        });
        let village = clean(raw.village);
        if village
            .as_deref()
            .is_some_and(|v| villages.get(v).is_none())
        {
            fail("village", "unknown_choice");
        }
        let subject_role = parsed(&mut fail, "subject_role", raw.subject_role, false, |code| {
            SubjectRole::parse(code).ok_or("unknown_choice")
        });
        let description = clean(raw.description);
        match description.as_ref().map(|d| d.chars().count()) {
            None => fail("description", "required"),
            Some(n) if n < DESCRIPTION_MIN => fail("description", "too_short"),
            Some(n) if n > DESCRIPTION_MAX => fail("description", "too_long"),
            Some(_) => {}
        }
        let reporter = match raw.anonymous {
            None => {
                fail("anonymous", "required");
                None
            }
            Some(true) => None,
            Some(false) => {
                let name = clean(raw.reporter_name);
                match name.as_ref().map(|n| n.chars().count()) {
                    None => fail("reporter_name", "required"),
                    Some(n) if n > NAME_MAX => fail("reporter_name", "too_long"),
                    Some(_) => {}
                }
                let phone = parsed(&mut fail, "reporter_phone", raw.reporter_phone, true, |p| {
                    Phone::parse(p).ok_or("invalid_phone")
                });
                name.zip(phone)
                    .map(|(name, phone)| Reporter { name, phone })
            }
        };

        let subject = clean(raw.subject);
        let occurred = clean(raw.occurred);
        let site = clean(raw.site);
        check_len(&mut errors, "subject", &subject, SUBJECT_MAX);
        check_len(&mut errors, "occurred", &occurred, OCCURRED_MAX);
        check_len(&mut errors, "site", &site, SITE_MAX);

        match (category, description) {
            (Some(category), Some(description)) if errors.is_empty() => Ok(ReportDraft {
                category,
                village,
                subject,
                subject_role,
                description,
                occurred,
                reporter,
                site,
                attachments: Vec::new(),
            }),
            _ => Err(errors),
        }
    }

    pub fn is_anonymous(&self) -> bool {
        self.reporter.is_none()
    }

    /// The draft with its evidence files, checked by `crate::media::prepare`.
    pub fn with_attachments(self, attachments: Vec<super::attachment::Attachment>) -> ReportDraft {
        ReportDraft {
            attachments,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fuzzing::report::villages;

    fn valid() -> RawReport {
        RawReport {
            category: Some("connection".into()),
            village: Some("dalu-community".into()),
            description: Some("村主任的亲戚开着小车还在吃低保".into()),
            anonymous: Some(true),
            ..RawReport::default()
        }
    }

    /// The valid report with another description.
    fn describing(description: impl Into<String>) -> RawReport {
        RawReport {
            description: Some(description.into()),
            ..valid()
        }
    }

    fn reasons(raw: RawReport) -> Vec<(&'static str, &'static str)> {
        match ReportDraft::parse(raw, &villages()) {
            Ok(_) => vec![],
            Err(errors) => errors.into_iter().map(|e| (e.field, e.reason)).collect(),
        }
    }

    #[test]
    fn a_complete_anonymous_report_parses() {
        let draft = ReportDraft::parse(valid(), &villages()).unwrap();
        assert_eq!(draft.category, Category::Connection);
        assert!(draft.is_anonymous());
    }

    #[test]
    fn description_is_trimmed_and_bounded_in_characters_not_bytes() {
        let raw = describing("  低保 \n ");
        assert_eq!(reasons(raw), vec![("description", "too_short")]);
        let raw = describing("保".repeat(DESCRIPTION_MAX));
        assert!(reasons(raw).is_empty());
        let raw = describing("保".repeat(DESCRIPTION_MAX + 1));
        assert_eq!(reasons(raw), vec![("description", "too_long")]);
    }

    #[test]
    fn real_name_needs_name_and_a_mainland_phone() {
        let mut raw = valid();
        raw.anonymous = Some(false);
        assert_eq!(
            reasons(raw.clone()),
            vec![
                ("reporter_name", "required"),
                ("reporter_phone", "required")
            ]
        );
        raw.reporter_name = Some("张三".into());
        raw.reporter_phone = Some("12345".into());
        assert_eq!(
            reasons(raw.clone()),
            vec![("reporter_phone", "invalid_phone")]
        );
        raw.reporter_phone = Some("+86 138-0000-1234".into());
        let draft = ReportDraft::parse(raw, &villages()).unwrap();
        assert_eq!(draft.reporter.unwrap().phone.as_str(), "13800001234");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let raw = RawReport {
            category: Some("bogus".into()),
            village: Some("atlantis".into()),
            subject_role: Some("king".into()),
            ..RawReport::default()
        };
        assert_eq!(
            reasons(raw),
            vec![
                ("category", "unknown_choice"),
                ("village", "unknown_choice"),
                ("subject_role", "unknown_choice"),
                ("description", "required"),
                ("anonymous", "required"),
            ]
        );
    }

    #[test]
    fn phone_numbers() {
        for ok in [
            "13800001234",
            "023-41400000",
            "0086 19912345678",
            "(023) 4140 0000",
        ] {
            assert!(Phone::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "12800001234",
            "1380000123",
            "abc",
            "00-1234567",
            "+1 555 0100",
        ] {
            assert!(Phone::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn control_characters_are_dropped_but_line_breaks_kept() {
        let raw = describing("第一行\r\n第二行\u{0}\u{7}内容");
        let draft = ReportDraft::parse(raw, &villages()).unwrap();
        assert_eq!(draft.description, "第一行\n第二行内容");
    }

    #[test]
    fn invisible_formatting_characters_are_dropped() {
        let mut raw = describing("补助\u{202E}发给了\u{200B}书记的亲戚，\u{2066}连续三年\u{2069}");
        raw.subject = Some("\u{FEFF}王\u{202E}书记".into());
        let draft = ReportDraft::parse(raw, &villages()).unwrap();
        assert_eq!(draft.description, "补助发给了书记的亲戚，连续三年");
        assert_eq!(draft.subject.as_deref(), Some("王书记"));
    }

    #[test]
    fn a_control_character_does_not_shield_blanks_from_trimming() {
        let raw = describing("\u{0}    低保 \u{7}");
        assert_eq!(reasons(raw), vec![("description", "too_short")]);
        let mut raw = valid();
        raw.subject = Some("\u{1b} 王书记\t\u{0}".into());
        let draft = ReportDraft::parse(raw, &villages()).unwrap();
        assert_eq!(draft.subject.as_deref(), Some("王书记"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use proptest::string::string_regex;

        /// Mostly valid answers, often padded or broken, sometimes anything at all.
        fn answer(valid: Vec<&'static str>) -> impl Strategy<Value = Option<String>> {
            prop_oneof![
                1 => Just(None),
                4 => prop::sample::select(valid).prop_map(|v| Some(v.to_string())),
                1 => any::<String>().prop_map(Some),
            ]
        }

        /// Free text: printable, whitespace, control characters and line breaks, any length
        /// around the bounds.
        fn text(max: usize) -> impl Strategy<Value = Option<String>> {
            let blank_or_control = vec![
                ' ', '\t', '\n', '\r', '\u{3000}', '\u{0}', '\u{7}', '\u{1b}', '\u{85}', '\u{7f}',
            ];
            let c = prop_oneof![
                6 => any::<char>(),
                2 => prop::sample::select(blank_or_control),
                4 => prop::char::range('一', '龥'),
            ];
            let typed = prop::collection::vec(c, 0..max + 20).prop_map(String::from_iter);
            prop_oneof![1 => Just(None), 6 => typed.prop_map(Some)]
        }

        fn phone() -> impl Strategy<Value = Option<String>> {
            let shaped = |pattern| string_regex(pattern).unwrap().prop_map(Some);
            prop_oneof![
                1 => Just(None),
                3 => shaped("(\\+86 ?|0086)?1[3-9][0-9]{3}-?[0-9]{4} ?[0-9]{2}"),
                2 => shaped("\\(?0[1-9][0-9]{1,2}\\)?[- ]?[0-9]{7,8}"),
                2 => shaped("[0-9+()\\- ０-９]{0,16}"),
                1 => any::<String>().prop_map(Some),
            ]
        }

        prop_compose! {
            fn raw_report()(
                category in answer(Category::ALL.iter().map(|c| c.code()).collect()),
                village in answer(vec!["dalu-community", " dalu-community\n", "atlantis"]),
                subject in text(SUBJECT_MAX),
                subject_role in answer(SubjectRole::ALL.iter().map(|r| r.code()).collect()),
                description in text(DESCRIPTION_MAX / 8),
                // Around the upper bound, with blanks and control characters at both ends.
                long_description in prop::option::weighted(
                    0.1,
                    "[ \u{0}\t]{0,3}[低保]{4990,5010}[ \u{0}\n]{0,3}",
                ),
                occurred in text(OCCURRED_MAX),
                anonymous in prop::option::weighted(0.9, any::<bool>()),
                reporter_name in text(NAME_MAX),
                reporter_phone in phone(),
                site in text(SITE_MAX),
            ) -> RawReport {
                RawReport {
                    category,
                    village,
                    subject,
                    subject_role,
                    description: long_description.or(description),
                    occurred,
                    anonymous,
                    reporter_name,
                    reporter_phone,
                    site,
                }
            }
        }

        proptest! {
            #[test]
            fn an_accepted_draft_respects_every_bound(raw in raw_report()) {
                // The bounds are the fuzz target's checks; the phone must also parse again.
                let Some(draft) = crate::fuzzing::report::check_parse(raw) else {
                    return Ok(());
                };
                if let Some(reporter) = &draft.reporter {
                    let again = Phone::parse(reporter.phone.as_str());
                    prop_assert!(again.as_ref() == Some(&reporter.phone));
                }
            }

            #[test]
            fn parse_never_panics_on_arbitrary_strings(
                fields in prop::collection::vec(prop::option::of(any::<String>()), 9),
                anonymous in prop::option::of(any::<bool>()),
            ) {
                let mut fields = fields.into_iter();
                let mut next = || fields.next().flatten();
                let raw = RawReport {
                    category: next(),
                    village: next(),
                    subject: next(),
                    subject_role: next(),
                    description: next(),
                    occurred: next(),
                    anonymous,
                    reporter_name: next(),
                    reporter_phone: next(),
                    site: next(),
                };
                let _ = ReportDraft::parse(raw, &villages());
            }

            #[test]
            fn an_accepted_phone_is_a_mobile_or_landline_in_digits(input in phone()) {
                let Some(phone) = input.as_deref().and_then(Phone::parse) else {
                    return Ok(());
                };
                let digits = phone.as_str().as_bytes();
                prop_assert!(digits.iter().all(u8::is_ascii_digit));
                let mobile =
                    digits.len() == 11 && digits[0] == b'1' && (b'3'..=b'9').contains(&digits[1]);
                let landline =
                    (10..=12).contains(&digits.len()) && digits[0] == b'0' && digits[1] != b'0';
                prop_assert!(mobile || landline, "{:?}", phone.as_str());
            }

            #[test]
            fn phone_parse_never_panics(input in any::<String>()) {
                let _ = Phone::parse(&input);
            }
        }
    }
}
