//! A case's ledger checked for tampering: `GET /api/v1/cases/{id}/verify` recomputes the hash
//! chain of its events and compares its records and evidence files with what the chain recorded.

use serde::{Deserialize, Serialize};

/// Something in a case that does not match its ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Finding {
    /// The event (link) concerned, when there is one.
    pub seq: Option<i64>,
    /// What kind of record: `attempt`, `document`, `review`, `move`, `media`, or `case`.
    pub entity_kind: String,
    /// The record.
    pub entity_id: uuid::Uuid,
    /// What is wrong, in words.
    pub problem: String,
}

/// The result of verifying one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verification {
    /// The case.
    pub case_id: uuid::Uuid,
    /// Events in its chain.
    pub events: u64,
    /// The chain's last hash (64 zeros for an empty chain): note it to detect a rewrite later.
    pub head: String,
    /// Whether nothing was found.
    pub intact: bool,
    /// Everything found, the earliest link first.
    pub findings: Vec<Finding>,
}
