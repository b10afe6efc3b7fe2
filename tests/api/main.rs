//! Integration tests: the real application on port 0, a fresh database per test, on SQLite
//! always and on PostgreSQL when TIPOFF_TEST_POSTGRES_URL is set.

mod helpers;

mod abuse;
mod accounts;
mod api_contract;
mod at_rest;
mod attachments;
mod audit;
mod backup_drill;
mod browser;
mod browser_axe;
mod browser_campaign;
mod browser_desk;
mod browser_flows;
mod browser_statistics;

mod bureau;
mod campaign;
mod case_events;
mod case_forms;
mod case_reads;
mod cases;
mod confirmations;
mod deadlines;
mod digest;
mod flood_shares;
mod group_commit;
mod hostile_files;
mod key_rotation;
mod ledger;
mod mail;
mod merges;
mod privacy;
mod public_pages;
mod rate_limits;
mod rectification;
mod recusal;
mod recusal_later;
mod recusal_safety;
mod relatives_register;
mod results;
mod retention;
mod sites;
mod staff;
mod staff_enrolment;
mod staff_mail;
mod startup;
mod statistics;
mod time_of_day;
mod track_reasons;
mod triage;
mod wording;
