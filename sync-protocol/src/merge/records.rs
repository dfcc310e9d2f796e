//! The one conversion between the records the API carries and the fields the merge rules work
//! on: what of a case, an attempt or a document merges, read from the record and written back,
//! and what a new attempt or document starts with. The phone replays its mutations through it;
//! the server merges and creates through it.

use chrono::{DateTime, Utc};

use super::{AttemptFields, CaseFields, DocumentFields, Mergeable};
use crate::cases::{Attempt, CaseSummary};
use crate::evidence::Document;
use crate::hlc::HlcStamp;
use crate::ids::UserId;
use crate::sync::{AttemptField, DocumentField, FieldStamp, FieldStamps, NewAttempt, NewDocument};

impl From<&CaseSummary> for CaseFields {
    fn from(case: &CaseSummary) -> Self {
        Self {
            status: case.status,
            reason: case.reason,
            responsible_user_id: case.responsible_user_id,
            relapse_count: case.relapse_count,
            closure_reason: case.closure_reason,
        }
    }
}

impl CaseFields {
    /// Writes the merged fields back into `case`.
    pub fn write_to(self, case: &mut CaseSummary) {
        case.status = self.status;
        case.reason = self.reason;
        case.responsible_user_id = self.responsible_user_id;
        case.relapse_count = self.relapse_count;
        case.closure_reason = self.closure_reason;
    }
}

impl From<&Attempt> for AttemptFields {
    /// Which participants came with the creation is not on the wire: the ones `attempt` lists
    /// keep their order, and additions sort after them (the server's order comes with a pull).
    fn from(attempt: &Attempt) -> Self {
        Self {
            met_whom: attempt.met_whom.clone(),
            guardian_statement: attempt.guardian_statement.clone(),
            outcome: attempt.outcome,
            next_step: attempt.next_step.clone(),
            notes: attempt.notes.clone(),
            location: attempt.location,
            participants: attempt.participants.clone(),
            initial_participants: attempt.participants.len(),
        }
    }
}

impl AttemptFields {
    /// Writes the merged fields back into `attempt`.
    pub fn write_to(self, attempt: &mut Attempt) {
        attempt.met_whom = self.met_whom;
        attempt.guardian_statement = self.guardian_statement;
        attempt.outcome = self.outcome;
        attempt.next_step = self.next_step;
        attempt.notes = self.notes;
        attempt.location = self.location;
        attempt.participants = self.participants;
    }
}

impl From<&Document> for DocumentFields {
    fn from(document: &Document) -> Self {
        Self {
            title: document.title.clone(),
            issued_by: document.issued_by.clone(),
            issued_on: document.issued_on,
            notes: document.notes.clone(),
        }
    }
}

impl DocumentFields {
    /// Writes the merged fields back into `document`.
    pub fn write_to(self, document: &mut Document) {
        document.title = self.title;
        document.issued_by = self.issued_by;
        document.issued_on = self.issued_on;
        document.notes = self.notes;
    }
}

impl NewAttempt {
    /// The last-writer-wins fields the attempt is created with, as field values: what a
    /// creation sent again merges as.
    pub fn scalar_fields(&self) -> Vec<AttemptField> {
        vec![
            AttemptField::MetWhom(self.met_whom.clone()),
            AttemptField::GuardianStatement(self.guardian_statement.clone()),
            AttemptField::Outcome(self.outcome),
            AttemptField::NextStep(self.next_step.clone()),
            AttemptField::Notes(self.notes.clone()),
            AttemptField::Location(self.location),
        ]
    }

    /// The attempt as recorded by `author` at `created_at`.
    pub fn recorded(&self, author: UserId, created_at: DateTime<Utc>) -> Attempt {
        Attempt {
            id: self.id,
            case_id: self.case_id,
            kind: self.kind,
            occurred_at: self.occurred_at,
            location: self.location,
            participants: self.participants.clone(),
            met_whom: self.met_whom.clone(),
            guardian_statement: self.guardian_statement.clone(),
            outcome: self.outcome,
            next_step: self.next_step.clone(),
            notes: self.notes.clone(),
            author_id: author,
            created_at,
        }
    }
}

impl NewDocument {
    /// The last-writer-wins fields the document is created with, as field values: what a
    /// creation sent again merges as.
    pub fn scalar_fields(&self) -> Vec<DocumentField> {
        vec![
            DocumentField::Title(self.title.clone()),
            DocumentField::IssuedBy(self.issued_by.clone()),
            DocumentField::IssuedOn(self.issued_on),
            DocumentField::Notes(self.notes.clone()),
        ]
    }

    /// The document as recorded by `author` at `created_at`.
    pub fn recorded(&self, author: UserId, created_at: DateTime<Utc>) -> Document {
        Document {
            id: self.id,
            case_id: self.case_id,
            doc_type: self.doc_type,
            title: self.title.clone(),
            issued_by: self.issued_by.clone(),
            issued_on: self.issued_on,
            notes: self.notes.clone(),
            author_id: author,
            created_at,
        }
    }
}

/// The field clock of a record created with `fields` at `hlc`: each written by version 1.
pub fn creation_stamps<E: Mergeable>(fields: &[E::Field], hlc: HlcStamp) -> FieldStamps {
    fields
        .iter()
        .map(|f| (E::name(f).to_owned(), FieldStamp { version: 1, hlc }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::{AttemptKind, AttemptOutcome, Participant};
    use crate::ids::{AttemptId, CaseId, DeviceId};

    #[test]
    fn an_attempt_read_into_its_fields_and_written_back_is_unchanged() {
        let new = NewAttempt {
            id: AttemptId::new(),
            case_id: CaseId::new(),
            kind: AttemptKind::HomeVisit,
            occurred_at: Utc::now(),
            location: None,
            participants: vec![Participant {
                user_id: None,
                name: "甲".into(),
                unit: "学校".into(),
                department: None,
            }],
            met_whom: "母亲".into(),
            guardian_statement: "同意".into(),
            outcome: AttemptOutcome::AgreedToReturn,
            next_step: "周一返校".into(),
            notes: String::new(),
        };
        let attempt = new.recorded(UserId::new(), Utc::now());
        let mut copy = attempt.clone();
        AttemptFields::from(&attempt).write_to(&mut copy);
        assert_eq!(copy, attempt);
        let stamps = creation_stamps::<AttemptFields>(
            &new.scalar_fields(),
            HlcStamp {
                millis: 1,
                counter: 0,
                device: DeviceId::new(),
            },
        );
        assert_eq!(stamps.len(), 6);
        assert!(stamps.values().all(|s| s.version == 1));
    }
}
