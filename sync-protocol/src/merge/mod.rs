//! The merge rules, as pure functions both the server and the phone apply, so they agree.
//!
//! Each entity declares its rules in a table ([`CASE_RULES`], [`ATTEMPT_RULES`],
//! [`DOCUMENT_RULES`], [`REVIEW_RULES`]):
//! - append-only collections take the union;
//! - scalar fields: the later HLC stamp wins (ties cannot happen: the device id is part of the
//!   stamp); when the two writes were concurrent (neither saw the other) the losing value is kept
//!   in a conflict record, even when it equals the winner (so it survives if the winner's device
//!   later changes its mind). A device's own later write supersedes its earlier one silently:
//!   the user changed their mind;
//! - a case's status moves only along the case machine; an illegal move is rejected, not applied;
//! - fields fixed at creation never change.
//!
//! `records` (private) is the one conversion between the records the API carries and these fields.

mod records;

pub use records::creation_stamps;

use crate::cases::{
    AttemptOutcome, CaseStatus, ClosureReason, GeoPoint, Participant, ReasonCategory,
};
use crate::hlc::HlcStamp;
use crate::ids::UserId;
use crate::sync::{AttemptField, CaseField, DocumentField, FieldStamp, FieldStamps, RejectCode};

/// How one field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The later HLC stamp wins; a concurrent loser is kept in a conflict record.
    LastWriterWins,
    /// Moves only along the case machine, checked against the current status.
    CaseMachine,
    /// Only ever grows: concurrent additions are united.
    Union,
    /// Set when the record is made, never changed.
    FixedAtCreation,
}

/// The rules of a case's fields.
pub const CASE_RULES: &[(&str, Rule)] = &[
    ("status", Rule::CaseMachine),
    ("reason", Rule::LastWriterWins),
    ("responsible_user_id", Rule::LastWriterWins),
    ("closure_reason", Rule::LastWriterWins),
    ("attempts", Rule::Union),
    ("documents", Rule::Union),
    ("student_id", Rule::FixedAtCreation),
    ("found_by", Rule::FixedAtCreation),
    ("opened_on", Rule::FixedAtCreation),
];

/// The rules of an attempt's fields.
pub const ATTEMPT_RULES: &[(&str, Rule)] = &[
    ("met_whom", Rule::LastWriterWins),
    ("guardian_statement", Rule::LastWriterWins),
    ("outcome", Rule::LastWriterWins),
    ("next_step", Rule::LastWriterWins),
    ("notes", Rule::LastWriterWins),
    ("location", Rule::LastWriterWins),
    ("participants", Rule::Union),
    ("media", Rule::Union),
    ("case_id", Rule::FixedAtCreation),
    ("kind", Rule::FixedAtCreation),
    ("occurred_at", Rule::FixedAtCreation),
    ("author_id", Rule::FixedAtCreation),
    ("created_at", Rule::FixedAtCreation),
];

/// The rules of a document's fields.
pub const DOCUMENT_RULES: &[(&str, Rule)] = &[
    ("title", Rule::LastWriterWins),
    ("issued_by", Rule::LastWriterWins),
    ("issued_on", Rule::LastWriterWins),
    ("notes", Rule::LastWriterWins),
    ("case_id", Rule::FixedAtCreation),
    ("doc_type", Rule::FixedAtCreation),
    ("author_id", Rule::FixedAtCreation),
    ("created_at", Rule::FixedAtCreation),
];

/// Reviews are append-only: every field is fixed at creation.
pub const REVIEW_RULES: &[(&str, Rule)] = &[
    ("target", Rule::FixedAtCreation),
    ("target_id", Rule::FixedAtCreation),
    ("verdict", Rule::FixedAtCreation),
    ("reason", Rule::FixedAtCreation),
    ("reviewer_id", Rule::FixedAtCreation),
];

/// A record whose scalar fields merge last-writer-wins.
pub trait Mergeable {
    /// One field with its value.
    type Field: Clone + PartialEq;
    /// The field's name, as in the rules table and the field clock.
    fn name(field: &Self::Field) -> &'static str;
    /// The current value of the field named like `field`, if it has one.
    fn current(&self, like: &Self::Field) -> Option<Self::Field>;
    /// Sets a field.
    fn set(&mut self, field: Self::Field);
}

/// A field whose value lost a concurrent edit.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldLoss<F> {
    /// The field's name.
    pub field: &'static str,
    /// The value kept.
    pub winning: F,
    /// Its stamp.
    pub winning_hlc: HlcStamp,
    /// The value that lost.
    pub losing: F,
    /// Its stamp.
    pub losing_hlc: HlcStamp,
    /// Whether the losing value is the incoming one (else it was the stored one).
    pub incoming_lost: bool,
}

/// A mutation the rules refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Why, as a code.
    pub code: RejectCode,
    /// Why, in words.
    pub reason: String,
}

impl Rejection {
    /// An update that changes nothing: refused on the phone and on the server alike.
    pub fn empty_update() -> Self {
        Self {
            code: RejectCode::Invalid,
            reason: "an update changes at least one field".into(),
        }
    }
}

/// Merges `fields`, written at `hlc` on a record the writer saw at `base_version`, into `record`
/// whose field clock is `stamps`; the record's version becomes `new_version`. Returns the values
/// that lost a concurrent edit.
pub fn merge_scalars<E: Mergeable>(
    record: &mut E,
    stamps: &mut FieldStamps,
    base_version: i64,
    hlc: HlcStamp,
    fields: &[E::Field],
    new_version: i64,
) -> Vec<FieldLoss<E::Field>> {
    let mut losses = Vec::new();
    for field in fields {
        let name = E::name(field);
        let current = record.current(field);
        match stamps.get(name).copied() {
            Some(stamp) if hlc < stamp.hlc => {
                // The stored value is later: the incoming one loses and is kept. Even an equal value
                // is kept: its writer's intent must survive if the winner later changes its mind.
                if let Some(current) = current {
                    losses.push(FieldLoss {
                        field: name,
                        winning: current,
                        winning_hlc: stamp.hlc,
                        losing: field.clone(),
                        losing_hlc: hlc,
                        incoming_lost: true,
                    });
                }
            }
            stored => {
                // The incoming value wins. If the writer never saw the stored value, that one lost.
                // A device's own earlier write was seen by its later one, whatever the base version says
                // (several offline edits of one field all carry the same base).
                let concurrent = stored.filter(|s| {
                    s.version > base_version && s.hlc != hlc && s.hlc.device != hlc.device
                });
                if let (Some(stamp), Some(current)) = (concurrent, current) {
                    losses.push(FieldLoss {
                        field: name,
                        winning: field.clone(),
                        winning_hlc: hlc,
                        losing: current,
                        losing_hlc: stamp.hlc,
                        incoming_lost: false,
                    });
                }
                record.set(field.clone());
                stamps.insert(
                    name.to_owned(),
                    FieldStamp {
                        version: new_version,
                        hlc,
                    },
                );
            }
        }
    }
    losses
}

/// The fields of a case that sync may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFields {
    /// Status.
    pub status: CaseStatus,
    /// Reason category.
    pub reason: Option<ReasonCategory>,
    /// Responsible person.
    pub responsible_user_id: Option<UserId>,
    /// Relapses so far.
    pub relapse_count: i32,
    /// The reason closing is asked for.
    pub closure_reason: Option<ClosureReason>,
}

impl Mergeable for CaseFields {
    type Field = CaseField;

    fn name(field: &CaseField) -> &'static str {
        match field {
            CaseField::Status(_) => "status",
            CaseField::Reason(_) => "reason",
            CaseField::ResponsibleUserId(_) => "responsible_user_id",
            CaseField::ClosureReason(_) => "closure_reason",
        }
    }

    fn current(&self, like: &CaseField) -> Option<CaseField> {
        match like {
            CaseField::Status(_) => Some(CaseField::Status(self.status)),
            CaseField::Reason(_) => self.reason.map(CaseField::Reason),
            CaseField::ResponsibleUserId(_) => {
                self.responsible_user_id.map(CaseField::ResponsibleUserId)
            }
            CaseField::ClosureReason(_) => self.closure_reason.map(CaseField::ClosureReason),
        }
    }

    fn set(&mut self, field: CaseField) {
        match field {
            CaseField::Status(s) => self.status = s,
            CaseField::Reason(r) => self.reason = Some(r),
            CaseField::ResponsibleUserId(u) => self.responsible_user_id = Some(u),
            CaseField::ClosureReason(r) => self.closure_reason = Some(r),
        }
    }
}

/// Applies a case update: status moves are checked against the case machine first (an illegal
/// move rejects the whole mutation), then the other fields merge last-writer-wins.
pub fn apply_case_update(
    case: &mut CaseFields,
    stamps: &mut FieldStamps,
    base_version: i64,
    hlc: HlcStamp,
    fields: &[CaseField],
    new_version: i64,
) -> Result<Vec<FieldLoss<CaseField>>, Rejection> {
    if fields.is_empty() {
        return Err(Rejection::empty_update());
    }
    let moves = fields
        .iter()
        .filter(|f| matches!(f, CaseField::Status(_)))
        .count();
    if moves > 1 {
        // Each move is checked, counted and kept on its own.
        return Err(Rejection {
            code: RejectCode::Invalid,
            reason: "a mutation makes at most one move; send each move as its own mutation".into(),
        });
    }
    let mut status = case.status;
    let mut relapses = 0;
    for field in fields {
        if let CaseField::Status(to) = field {
            if *to == status {
                continue;
            }
            status.check_move(*to).map_err(|e| Rejection {
                code: RejectCode::IllegalTransition,
                reason: e.to_string(),
            })?;
            relapses += i32::from(to.is_relapse_from(status));
            status = *to;
        }
    }
    if status != case.status {
        case.status = status;
        case.relapse_count += relapses;
        stamps.insert(
            "status".into(),
            FieldStamp {
                version: new_version,
                hlc,
            },
        );
    }
    let scalars: Vec<CaseField> = fields
        .iter()
        .filter(|f| !matches!(f, CaseField::Status(_)))
        .cloned()
        .collect();
    Ok(merge_scalars(
        case,
        stamps,
        base_version,
        hlc,
        &scalars,
        new_version,
    ))
}

/// The fields of an attempt that may change after it is recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptFields {
    /// Whom they met.
    pub met_whom: String,
    /// What the guardian said.
    pub guardian_statement: String,
    /// The outcome.
    pub outcome: AttemptOutcome,
    /// The next step.
    pub next_step: String,
    /// Notes.
    pub notes: String,
    /// Where.
    pub location: Option<GeoPoint>,
    /// Who took part: those recorded at creation in their order, then additions in a fixed order.
    pub participants: Vec<Participant>,
    /// How many of `participants` were recorded at creation.
    pub initial_participants: usize,
}

impl Mergeable for AttemptFields {
    type Field = AttemptField;

    fn name(field: &AttemptField) -> &'static str {
        match field {
            AttemptField::MetWhom(_) => "met_whom",
            AttemptField::GuardianStatement(_) => "guardian_statement",
            AttemptField::Outcome(_) => "outcome",
            AttemptField::NextStep(_) => "next_step",
            AttemptField::Notes(_) => "notes",
            AttemptField::Location(_) => "location",
        }
    }

    fn current(&self, like: &AttemptField) -> Option<AttemptField> {
        Some(match like {
            AttemptField::MetWhom(_) => AttemptField::MetWhom(self.met_whom.clone()),
            AttemptField::GuardianStatement(_) => {
                AttemptField::GuardianStatement(self.guardian_statement.clone())
            }
            AttemptField::Outcome(_) => AttemptField::Outcome(self.outcome),
            AttemptField::NextStep(_) => AttemptField::NextStep(self.next_step.clone()),
            AttemptField::Notes(_) => AttemptField::Notes(self.notes.clone()),
            AttemptField::Location(_) => AttemptField::Location(self.location),
        })
    }

    fn set(&mut self, field: AttemptField) {
        match field {
            AttemptField::MetWhom(v) => self.met_whom = v,
            AttemptField::GuardianStatement(v) => self.guardian_statement = v,
            AttemptField::Outcome(v) => self.outcome = v,
            AttemptField::NextStep(v) => self.next_step = v,
            AttemptField::Notes(v) => self.notes = v,
            AttemptField::Location(v) => self.location = v,
        }
    }
}

/// Unites `add` into the participants: nobody is listed twice, and additions are kept in one
/// fixed order (by name, unit, account) so every replica lists them alike.
pub fn unite_participants(attempt: &mut AttemptFields, add: &[Participant]) -> bool {
    let before = attempt.participants.len();
    for p in add {
        if !attempt.participants.contains(p) {
            attempt.participants.push(p.clone());
        }
    }
    let initial = attempt.initial_participants.min(attempt.participants.len());
    attempt.participants[initial..]
        .sort_by(|a, b| (&a.name, &a.unit, a.user_id).cmp(&(&b.name, &b.unit, b.user_id)));
    attempt.participants.len() != before
}

/// Applies an attempt update: its scalar fields merge last-writer-wins, and `add` is united into
/// the participants. Returns the values that lost a concurrent edit, and whether anyone was added.
pub fn apply_attempt_update(
    attempt: &mut AttemptFields,
    stamps: &mut FieldStamps,
    base_version: i64,
    hlc: HlcStamp,
    fields: &[AttemptField],
    add: &[Participant],
    new_version: i64,
) -> (Vec<FieldLoss<AttemptField>>, bool) {
    let losses = merge_scalars(attempt, stamps, base_version, hlc, fields, new_version);
    let grew = unite_participants(attempt, add);
    (losses, grew)
}

/// The fields of a document's metadata that may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentFields {
    /// Title.
    pub title: String,
    /// Issuer.
    pub issued_by: String,
    /// Issue date.
    pub issued_on: Option<chrono::NaiveDate>,
    /// Notes.
    pub notes: String,
}

impl Mergeable for DocumentFields {
    type Field = DocumentField;

    fn name(field: &DocumentField) -> &'static str {
        match field {
            DocumentField::Title(_) => "title",
            DocumentField::IssuedBy(_) => "issued_by",
            DocumentField::IssuedOn(_) => "issued_on",
            DocumentField::Notes(_) => "notes",
        }
    }

    fn current(&self, like: &DocumentField) -> Option<DocumentField> {
        Some(match like {
            DocumentField::Title(_) => DocumentField::Title(self.title.clone()),
            DocumentField::IssuedBy(_) => DocumentField::IssuedBy(self.issued_by.clone()),
            DocumentField::IssuedOn(_) => DocumentField::IssuedOn(self.issued_on),
            DocumentField::Notes(_) => DocumentField::Notes(self.notes.clone()),
        })
    }

    fn set(&mut self, field: DocumentField) {
        match field {
            DocumentField::Title(v) => self.title = v,
            DocumentField::IssuedBy(v) => self.issued_by = v,
            DocumentField::IssuedOn(v) => self.issued_on = v,
            DocumentField::Notes(v) => self.notes = v,
        }
    }
}

#[cfg(test)]
mod tests;
