//! Targets for what a resident types: tracking codes, the report form and API body, names.

use crate::domain::Village;
use crate::domain::{
    DESCRIPTION_MAX, DESCRIPTION_MIN, NAME_MAX, OCCURRED_MAX, RawReport, ReportDraft, SITE_MAX,
    SUBJECT_MAX, TrackingCode, TrackingCodeError, Villages, names_in_subject, normalize_name,
};
use crate::domain::{MIN_NAME_CHARS, is_invisible, is_title_only};
use crate::web::api::ReportBody;
use crate::web::public::ReportForm;

/// A typed or pasted tracking code, as the track page and the API read it.
pub fn tracking_code(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match TrackingCode::parse(text) {
        Ok(code) => {
            let digits = code.digits();
            assert_eq!(digits.len(), 16);
            assert!(digits.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(TrackingCode::from_body(&digits[..15]).as_ref(), Some(&code));
            assert_eq!(TrackingCode::parse(&code.grouped()).as_ref(), Ok(&code));
            assert_eq!(code.grouped().replace(' ', ""), digits);
        }
        Err(TrackingCodeError::CheckDigit | TrackingCodeError::Malformed) => {}
    }
}

/// A body posted to `POST /report`, read as actix's `web::Form` reads it.
pub fn report_form(data: &[u8]) {
    let Ok(form) = serde_urlencoded::from_bytes::<ReportForm>(data) else {
        return;
    };
    let (raw, _token) = form.into_parts();
    check_parse(raw);
}

/// A body posted to `POST /api/v1/reports`, read as actix's `web::Json` reads it.
pub fn report_json(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<ReportBody>(data) else {
        return;
    };
    check_parse(RawReport::from(body));
}

/// The "who is reported" field, as recusal matching reads it.
pub fn person_name(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let once = normalize_name(text);
    assert_eq!(
        normalize_name(&once),
        once,
        "normalize_name is not idempotent"
    );
    let names = names_in_subject(text);
    for (i, name) in names.iter().enumerate() {
        assert_eq!(&normalize_name(name), name, "a name is not normalised");
        assert!(
            name.chars().count() >= MIN_NAME_CHARS,
            "a name is too short"
        );
        assert!(!is_title_only(name), "a title was taken for a name");
        assert!(!names[..i].contains(name), "a name is listed twice");
    }
}

/// The one village the fuzz targets and the parser's own tests know.
pub(crate) fn villages() -> Villages {
    Villages::new(vec![Village {
        id: "dalu-community".into(),
        zh: "大路社区".into(),
        en: "Dalu Community".into(),
    }])
}

/// Parses the draft and checks every bound the intake relies on; a refusal must say why.
/// Returns the accepted draft.
pub(crate) fn check_parse(raw: RawReport) -> Option<ReportDraft> {
    let villages = villages();
    let draft = match ReportDraft::parse(raw, &villages) {
        Ok(draft) => draft,
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without a reason");
            return None;
        }
    };
    let text = |field: &str, value: &str, min: usize, max: usize| {
        let n = value.chars().count();
        assert!((min..=max).contains(&n), "{field}: {n} characters");
        assert_eq!(value.trim(), value, "{field} is not trimmed");
        assert!(
            !value
                .chars()
                .any(|c| (c.is_control() && !matches!(c, '\n' | '\t')) || is_invisible(c)),
            "{field} keeps a control or invisible character"
        );
    };
    let optional = |field: &str, value: &Option<String>, max: usize| {
        if let Some(value) = value {
            text(field, value, 1, max);
        }
    };
    text(
        "description",
        &draft.description,
        DESCRIPTION_MIN,
        DESCRIPTION_MAX,
    );
    optional("subject", &draft.subject, SUBJECT_MAX);
    optional("occurred", &draft.occurred, OCCURRED_MAX);
    optional("site", &draft.site, SITE_MAX);
    if let Some(village) = &draft.village {
        assert!(villages.get(village).is_some(), "unknown village accepted");
    }
    if let Some(reporter) = &draft.reporter {
        text("reporter_name", &reporter.name, 1, NAME_MAX);
        let phone = reporter.phone.as_str().as_bytes();
        assert!(phone.iter().all(u8::is_ascii_digit), "phone is not digits");
        let mobile = phone.len() == 11 && phone[0] == b'1' && (b'3'..=b'9').contains(&phone[1]);
        let landline =
            phone.len() >= 10 && phone.len() <= 12 && phone[0] == b'0' && phone[1] != b'0';
        assert!(mobile || landline, "phone has neither shape");
    }
    Some(draft)
}
