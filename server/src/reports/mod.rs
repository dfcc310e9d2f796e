//! Reports and exports (R9, R22): the ledger (台账) as CSV and .xlsx, streamed; the dropout
//! report form of one case as printable HTML; monthly and term statistics.
//! What staff read here is in Simplified Chinese (`labels`).

pub mod export;
pub mod form;
pub mod labels;
pub mod ledger;
pub mod routes;
pub mod statistics;
