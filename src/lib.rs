//! tipoff: residents report favoritism in social assistance; every report reaches the
//! inspectors sealed at rest.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod backup;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod entities;
pub mod error;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod i18n;
pub mod mail;
pub mod media;
pub mod qr;
pub mod services;
pub mod sqlite_reads;
pub mod startup;
pub mod telemetry;
pub mod web;
