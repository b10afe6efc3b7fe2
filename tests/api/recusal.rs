//! (filled in by the recusal work)
