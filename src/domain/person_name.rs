//! Names of people, normalised so that the same person written differently matches.

/// Normalises a name for matching: full-width forms to half-width, spacing and punctuation
/// removed, Latin letters lower-cased.
pub fn normalize_name(name: &str) -> String {
    // Stub: the recusal work replaces this with the full normalisation and its tests.
    name.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The people named in a report's "who is reported" field, each normalised.
pub fn names_in_subject(subject: &str) -> Vec<String> {
    // Stub: the recusal work replaces this.
    vec![normalize_name(subject)]
}
