//! Evidence on a case: typed documents and supervisors' reviews.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::cases::wire_enum;
use crate::ids::{CaseId, DocumentId, ReviewId, UserId};

/// A typed evidence document (notice served, police confirmation, death certificate…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Document {
    /// The document id.
    pub id: DocumentId,
    /// The case it belongs to.
    pub case_id: CaseId,
    /// The document type, for example `return_notice` or `police_confirmation`.
    pub doc_type: String,
    /// Title as written on the paper.
    pub title: String,
    /// Who issued it.
    pub issued_by: String,
    /// When it was issued.
    pub issued_on: Option<NaiveDate>,
    /// Notes.
    pub notes: String,
    /// Who recorded it.
    pub author_id: UserId,
    /// When the server first stored it.
    pub created_at: DateTime<Utc>,
}

wire_enum!(
    /// What a review judges.
    ReviewTarget {
        /// An attempt's evidence.
        Attempt => "attempt",
        /// A request to close the ledger row.
        Closure => "closure",
    }
);

wire_enum!(
    /// A supervisor's verdict.
    Verdict {
        /// Approved.
        Approved => "approved",
        /// Rejected, with a reason.
        Rejected => "rejected",
        /// More evidence is needed.
        MoreEvidence => "more_evidence",
    }
);

/// A supervisor's review of an attempt or a closure request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    /// The review id.
    pub id: ReviewId,
    /// The case.
    pub case_id: CaseId,
    /// What is judged.
    pub target: ReviewTarget,
    /// The attempt's id, or the case's own id for a closure.
    pub target_id: uuid::Uuid,
    /// The verdict.
    pub verdict: Verdict,
    /// Why (required unless approved).
    pub reason: String,
    /// The reviewer.
    pub reviewer_id: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
}
