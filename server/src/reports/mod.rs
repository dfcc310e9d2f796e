//! Reports and exports (R5, R9, R22): the ledger (台账) as CSV and .xlsx, streamed; the dropout
//! report form and the day-5 written report to the bureau of one case as printable HTML (the
//! latter filed as a document of the case); monthly and term statistics.
//! What staff read here is in Simplified Chinese (`labels`).

pub mod bureau_report;
pub mod export;
pub mod form;
pub mod labels;
pub mod ledger;
pub mod routes;
pub mod statistics;
pub mod statistics_book;
