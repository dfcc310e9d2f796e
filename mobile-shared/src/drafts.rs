//! What the app fills in to record something new; the phone adds the ids and the clock stamp.

use chrono::{DateTime, NaiveDate, Utc};
use sync_protocol::CaseId;
use sync_protocol::cases::{AttemptKind, AttemptOutcome, GeoPoint, Participant};
use sync_protocol::evidence::DocumentType;

/// A persuasion attempt as the field worker entered it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptDraft {
    /// The case.
    pub case_id: CaseId,
    /// The kind of contact.
    pub kind: AttemptKind,
    /// What came of it.
    pub outcome: AttemptOutcome,
    /// When it happened (`None`: now, on the phone's clock).
    pub occurred_at: Option<DateTime<Utc>>,
    /// Where it happened.
    pub location: Option<GeoPoint>,
    /// Who took part.
    pub participants: Vec<Participant>,
    /// Whom they met.
    pub met_whom: String,
    /// What the guardian said.
    pub guardian_statement: String,
    /// The next step agreed.
    pub next_step: String,
    /// Free notes.
    pub notes: String,
}

impl AttemptDraft {
    /// A draft with the required fields; the rest start empty.
    pub fn new(case_id: CaseId, kind: AttemptKind, outcome: AttemptOutcome) -> Self {
        Self {
            case_id,
            kind,
            outcome,
            occurred_at: None,
            location: None,
            participants: Vec::new(),
            met_whom: String::new(),
            guardian_statement: String::new(),
            next_step: String::new(),
            notes: String::new(),
        }
    }
}

/// An evidence document's metadata as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentDraft {
    /// The case.
    pub case_id: CaseId,
    /// The document type.
    pub doc_type: DocumentType,
    /// Title as written on the paper.
    pub title: String,
    /// Who issued it.
    pub issued_by: String,
    /// When it was issued.
    pub issued_on: Option<NaiveDate>,
    /// Notes.
    pub notes: String,
}

impl DocumentDraft {
    /// A draft with the required fields; the rest start empty.
    pub fn new(case_id: CaseId, doc_type: DocumentType, title: impl Into<String>) -> Self {
        Self {
            case_id,
            doc_type,
            title: title.into(),
            issued_by: String::new(),
            issued_on: None,
            notes: String::new(),
        }
    }
}
