//! Domain types that parse outside input: nothing reaches a service unparsed.

mod report_draft;
mod tracking_code;

pub use report_draft::{
    Category, FieldError, Phone, RawReport, ReportDraft, Reporter, SITE_MAX, SubjectRole, Villages,
};
pub use tracking_code::{TrackingCode, TrackingCodeError};

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
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Api => "api",
        }
    }
}
