//! (filled in by the cases work)
