//! sea-orm entities, one file per table.

pub mod attachment;
pub mod audit_entry;
pub mod audit_head;
pub mod case_counter;
pub mod case_route;
pub mod digest;
pub mod enrolment;
pub mod message;
pub mod note;
pub mod outbox;
pub mod recusal;
pub mod relative_filing;
pub mod report;
pub mod report_event;
pub mod report_name;
pub mod session;
pub mod site;
pub mod staff_name;
pub mod used_form_token;
pub mod user;
pub mod user_alias;
pub mod user_role;
