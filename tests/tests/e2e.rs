//! End-to-end tests: the real server on an ephemeral port, driven over HTTP.

#[path = "e2e/audit.rs"]
mod audit;
#[path = "e2e/auth.rs"]
mod auth;
#[path = "e2e/authz.rs"]
mod authz;
#[path = "e2e/bad_input.rs"]
mod bad_input;
#[path = "e2e/calendar.rs"]
mod calendar;
#[path = "e2e/case_detail.rs"]
mod case_detail;
#[path = "e2e/case_life.rs"]
mod case_life;
#[path = "e2e/case_machine.rs"]
mod case_machine;
#[path = "e2e/chain.rs"]
mod chain;
#[path = "e2e/closures.rs"]
mod closures;
#[path = "e2e/console.rs"]
mod console;
#[path = "e2e/console_admin.rs"]
mod console_admin;
#[path = "e2e/convergence.rs"]
mod convergence;
#[path = "e2e/due.rs"]
mod due;
#[path = "e2e/field.rs"]
mod field;
#[path = "e2e/flags.rs"]
mod flags;
#[path = "e2e/jwt.rs"]
mod jwt;
#[path = "e2e/kill.rs"]
mod kill;
#[path = "e2e/ops.rs"]
mod ops;
#[path = "e2e/phone_media.rs"]
mod phone_media;
#[path = "e2e/phones.rs"]
mod phones;
#[path = "e2e/reported_absences.rs"]
mod reported_absences;
#[path = "e2e/reports.rs"]
mod reports;
#[path = "e2e/roll.rs"]
mod roll;
#[path = "e2e/signatures.rs"]
mod signatures;
#[path = "e2e/storage.rs"]
mod storage;
#[path = "e2e/sync_server.rs"]
mod sync_server;
#[path = "e2e/uploads.rs"]
mod uploads;
#[path = "e2e/written_reports.rs"]
mod written_reports;
