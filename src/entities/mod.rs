//! sea-orm entities, one file per table.

pub mod case_counter;
pub mod report;
