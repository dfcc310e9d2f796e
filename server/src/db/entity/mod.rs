//! sea-orm entities, one module per table. Field docs live on the migration and the wire types.
#![allow(missing_docs)]

pub mod applied_mutation;
pub mod attempt;
pub mod attempt_participant;
pub mod attempt_signature;
pub mod audit_entry;
pub mod audit_head;
pub mod case;
pub mod case_alias;
pub mod case_due;
pub mod case_move;
pub mod change_log;
pub mod conflict;
pub mod console_session;
pub mod device;
pub mod document;
pub mod guardian;
pub mod ledger_event;
pub mod ledger_head;
pub mod login_throttle;
pub mod media_object;
pub mod org_unit;
pub mod plausibility_flag;
pub mod refresh_token;
pub mod review;
pub mod roll_reconciliation;
pub mod signing_key;
pub mod student;
pub mod unenrolled_child;
pub mod upload;
pub mod user;
pub mod work_calendar;
