//! Untrusted files: what each really is, the copy kept without its metadata, and previews.
//!
//! A file is judged by its bytes alone (`sniff`), never by its name or declared type; what
//! could identify its sender is cut out per format without re-encoding (`strip`); an image
//! is shown to inspectors only re-encoded from its pixels (`preview`).

mod prepare;
mod preview;
mod sniff;
mod strip;

pub use prepare::{FileProblem, prepare, prepare_file};
pub use preview::preview_png;
pub use sniff::sniff;
