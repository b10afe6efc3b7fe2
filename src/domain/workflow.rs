//! The case workflow: its statuses' legal moves, outcomes, recorded events, and the rules for
//! the free texts inspectors and reporters write along the way.

use std::fmt;

use super::Status;

/// The longest reason, finding, feedback, note or message accepted, in characters.
pub const TEXT_MAX: usize = 5000;

/// How verification came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Substantiated,
    PartlySubstantiated,
    Unsubstantiated,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [
        Outcome::Substantiated,
        Outcome::PartlySubstantiated,
        Outcome::Unsubstantiated,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Outcome::Substantiated => "substantiated",
            Outcome::PartlySubstantiated => "partly_substantiated",
            Outcome::Unsubstantiated => "unsubstantiated",
        }
    }

    pub fn parse(code: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.code() == code)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A step in the workflow, with what that step requires.
#[derive(Debug, Clone)]
pub enum Transition {
    Accept,
    NotAccept {
        reason: String,
    },
    StartVerifying,
    Conclude {
        outcome: Outcome,
        finding: String,
    },
    /// The feedback is what the reporter reads with their tracking code.
    Close {
        feedback: String,
    },
    Merge {
        into_case_number: String,
    },
}

impl Transition {
    pub fn target(&self) -> Status {
        match self {
            Transition::Accept => Status::Accepted,
            Transition::NotAccept { .. } => Status::NotAccepted,
            Transition::StartVerifying => Status::Verifying,
            Transition::Conclude { .. } => Status::Concluded,
            Transition::Close { .. } => Status::Closed,
            Transition::Merge { .. } => Status::Merged,
        }
    }
}

/// Whether the workflow allows going straight from `from` to `to`.
pub fn is_legal(from: Status, to: Status) -> bool {
    use Status::*;
    matches!(
        (from, to),
        (Received, Accepted | NotAccepted | Merged)
            | (Accepted, Verifying | Merged)
            | (Verifying, Concluded)
            | (Concluded, Closed)
            | (NotAccepted, Closed)
    )
}

/// Inspectors and the reporter talk while the case is being worked: not once it is concluded,
/// not accepted, closed or merged (a question there could never change the outcome).
pub fn conversation_open(status: Status) -> bool {
    matches!(
        status,
        Status::Received | Status::Accepted | Status::Verifying
    )
}

/// No more conversation once a case is closed or merged into another.
pub fn is_finished(status: Status) -> bool {
    matches!(status, Status::Closed | Status::Merged)
}

/// Things done on a case that are recorded without changing its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseEvent {
    /// Handed to the discipline-inspection post (纪检监察工作站).
    TransferredToDisciplinePost,
    /// Reported up to the district civil-affairs bureau.
    ReportedToDistrictBureau,
}

impl CaseEvent {
    pub fn code(self) -> &'static str {
        match self {
            CaseEvent::TransferredToDisciplinePost => "transferred_discipline",
            CaseEvent::ReportedToDistrictBureau => "reported_bureau",
        }
    }

    /// How the audit log names the event.
    pub fn describe(self) -> &'static str {
        match self {
            CaseEvent::TransferredToDisciplinePost => "transferred to the discipline post",
            CaseEvent::ReportedToDistrictBureau => "reported to the district bureau",
        }
    }
}

/// A required free text: trimmed, not empty, at most `TEXT_MAX` characters. The error is the
/// catalog key of the reason.
pub fn required_text(text: &str) -> Result<&str, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        Err("error.required")
    } else if text.chars().count() > TEXT_MAX {
        Err("error.too_long")
    } else {
        Ok(text)
    }
}

/// An optional free text: blank is none.
pub fn optional_text(text: Option<&str>) -> Result<Option<&str>, &'static str> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => required_text(text).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflow_allows_only_the_documented_moves() {
        use Status::*;
        let legal = [
            (Received, Accepted),
            (Received, NotAccepted),
            (Received, Merged),
            (Accepted, Verifying),
            (Accepted, Merged),
            (Verifying, Concluded),
            (Concluded, Closed),
            (NotAccepted, Closed),
        ];
        for from in Status::ALL {
            for to in Status::ALL {
                assert_eq!(
                    is_legal(from, to),
                    legal.contains(&(from, to)),
                    "{} → {}",
                    from.code(),
                    to.code()
                );
            }
        }
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(required_text("  理由  "), Ok("理由"));
        assert_eq!(required_text(" \n "), Err("error.required"));
        assert_eq!(
            required_text(&"字".repeat(TEXT_MAX)).map(str::len),
            Ok(TEXT_MAX * 3)
        );
        assert_eq!(
            required_text(&"字".repeat(TEXT_MAX + 1)),
            Err("error.too_long")
        );
        assert_eq!(optional_text(Some("  ")), Ok(None));
        assert_eq!(optional_text(None), Ok(None));
    }

    #[test]
    fn outcome_codes_round_trip() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.code()), Some(outcome));
        }
        assert_eq!(Outcome::PartlySubstantiated.code(), "partly_substantiated");
    }
}
