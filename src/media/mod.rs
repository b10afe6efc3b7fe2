//! Untrusted files: what each really is, the copy kept without its metadata, and previews.
//!
//! A file is judged by its bytes alone (`sniff`), never by its name or declared type; what
//! could identify its sender is cut out per format without re-encoding (`strip`); an image
//! is shown to inspectors only re-encoded from its pixels (`preview`). The service never
//! parses a file itself: each goes to a worker process with limits of its own (`worker`).

mod prepare;
mod preview;
mod sniff;
mod strip;
pub mod worker;

pub use prepare::{FileProblem, NotPrepared, prepare, prepare_file, preview};
pub use preview::preview_png;
pub use sniff::sniff;
pub use worker::Workers;
