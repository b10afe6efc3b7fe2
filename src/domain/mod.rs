//! Domain types that parse outside input: nothing reaches a service unparsed.

pub mod attachment;
mod calendar;
mod case_number;
mod client_key;
mod local_time;
mod person_name;
mod rectification;
mod relative;
mod report_draft;
mod site_kind;
mod tracking_code;
mod workflow;

pub use calendar::{CalendarError, WorkCalendar};
pub use case_number::parse_case_number;
pub use client_key::ClientKey;
#[cfg(test)]
pub(crate) use client_key::key as client_key_of;
#[cfg(test)]
pub(crate) use local_time::{day, utc};
pub use local_time::{end_of_day, local_day, start_of, start_of_day};
pub use person_name::{
    MIN_NAME_CHARS, is_invisible, is_title_only, names_in_subject, normalize_name,
};
pub use rectification::{RESULT_COUNT_MAX, ResultKind, Yuan};
pub use relative::{SupportKind, VisitFinding};
pub use report_draft::{
    Category, DESCRIPTION_MAX, DESCRIPTION_MIN, FieldError, NAME_MAX, OCCURRED_MAX, Phone,
    RawReport, ReportDraft, Reporter, SITE_MAX, SUBJECT_MAX, SubjectRole, Village, Villages,
};
pub use site_kind::SiteKind;
pub use tracking_code::{TrackingCode, TrackingCodeError};
pub use workflow::{
    CaseEvent, Outcome, TEXT_MAX, Transition, conversation_open, is_finished, is_legal,
    optional_text, required_text,
};

/// Where a case stands, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Received,
    Accepted,
    NotAccepted,
    Verifying,
    Concluded,
    Closed,
    Merged,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Received,
        Status::Accepted,
        Status::NotAccepted,
        Status::Verifying,
        Status::Concluded,
        Status::Closed,
        Status::Merged,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Accepted => "accepted",
            Status::NotAccepted => "not_accepted",
            Status::Verifying => "verifying",
            Status::Concluded => "concluded",
            Status::Closed => "closed",
            Status::Merged => "merged",
        }
    }

    pub fn parse(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// How a report reached the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The public web form.
    Web,
    /// The public JSON API.
    Api,
    /// Phoned in to the supervision hotline and typed by an operator.
    Hotline,
    /// A letter from the report box, typed by an operator.
    Letter,
    /// Someone who came to the office in person.
    WalkIn,
    /// Raised at a courtyard meeting (院坝会) and written down by staff.
    Courtyard,
    /// Sent in a village or community WeChat group.
    WechatGroup,
    /// Flagged by comparing records (数据比对): audit or discipline departments' data.
    DataComparison,
    /// Assigned by a higher level (上级交办).
    Assigned,
    /// Found by the office's own self-inspection (自查发现).
    SelfInspection,
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Api => "api",
            Channel::Hotline => "hotline",
            Channel::Letter => "letter",
            Channel::WalkIn => "walk_in",
            Channel::Courtyard => "courtyard",
            Channel::WechatGroup => "wechat_group",
            Channel::DataComparison => "data_comparison",
            Channel::Assigned => "assigned",
            Channel::SelfInspection => "self_inspection",
        }
    }

    /// Every source the campaign collects leads from, in the order forms and lists show them.
    pub const ALL: [Channel; 10] = [
        Channel::Web,
        Channel::Api,
        Channel::Hotline,
        Channel::Letter,
        Channel::WalkIn,
        Channel::Courtyard,
        Channel::WechatGroup,
        Channel::DataComparison,
        Channel::Assigned,
        Channel::SelfInspection,
    ];

    /// The sources staff type in at the operator's desk: all but the public web form and API.
    pub fn entered_by_staff(self) -> bool {
        !matches!(self, Channel::Web | Channel::Api)
    }

    pub fn parse(code: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// What a staff account may do. An account may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Enters hotline and letter reports; sees only the ones they entered.
    Operator,
    /// Triages and works cases.
    Inspector,
    /// Manages users, close-relative filings and settings; reads no report content unless
    /// also an inspector.
    Admin,
    /// The district civil-affairs bureau's assistance section (区民政局救助科): reads the
    /// cases sent on to the bureau, adds notes and records its instructions; nothing else.
    Bureau,
    /// Civil-affairs staff who verify on the ground (民政核查人员): read the cases sent to the
    /// civil-affairs post (never one about civil-affairs staff), add notes and record what
    /// they found; nothing else.
    Verifier,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Operator,
        Role::Inspector,
        Role::Verifier,
        Role::Admin,
        Role::Bureau,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Inspector => "inspector",
            Role::Admin => "admin",
            Role::Bureau => "bureau",
            Role::Verifier => "verifier",
        }
    }

    /// For a role that reads only the cases sent to its office and remarks on them: the
    /// history kind of its remarks (the bureau's instructions, a verifier's findings).
    pub fn remark(self) -> Option<&'static str> {
        match self {
            Role::Bureau => Some("instruction"),
            Role::Verifier => Some("verification"),
            _ => None,
        }
    }

    pub fn parse(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }
}
