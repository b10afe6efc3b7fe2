//! The `tipoff` subcommands that keep data over its lifetime: keys, retention and backups.
//! Each prints what it did for an operator; none prints a secret.

pub mod backup;
pub mod keys;
pub mod retention;
