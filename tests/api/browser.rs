//! (filled in by the browser work)
