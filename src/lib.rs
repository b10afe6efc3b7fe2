//! tipoff: residents report favoritism in social assistance; every report reaches the
//! inspectors sealed at rest.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod entities;
pub mod error;
pub mod i18n;
pub mod mail;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod web;
