//! Reports and exports for supervisors (R9, R22): the ledger (台账) as CSV and .xlsx, streamed.
//! What staff read here is in Simplified Chinese (`labels`).

pub mod export;
pub mod labels;
pub mod ledger;
pub mod routes;
