//! The sync protocol: push a batch of mutations, pull every visible change since a cursor.
//! See docs/sync-protocol.md for the guarantees.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::cases::{
    Attempt, AttemptKind, AttemptOutcome, CaseStatus, CaseSummary, ClosureReason, FoundBy,
    GeoPoint, Participant, ReasonCategory,
};
use crate::evidence::{Document, Review, ReviewTarget, Verdict};
use crate::hlc::HlcStamp;
use crate::ids::{
    AttemptId, CaseId, ConflictId, DeviceId, DocumentId, MutationId, ReviewId, StudentId, UserId,
};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// The oldest protocol version the server still accepts.
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// A field of a case a field user may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "field", content = "value", rename_all = "snake_case")]
pub enum CaseField {
    /// Moves along the case machine; never decided by clock.
    Status(CaseStatus),
    /// The reason category.
    Reason(ReasonCategory),
    /// The responsible person (专人).
    ResponsibleUserId(UserId),
    /// Asks for the row to be closed for this reason (the closure request, R15–R20).
    ClosureReason(ClosureReason),
}

/// A field of an attempt that may change after it was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "field", content = "value", rename_all = "snake_case")]
pub enum AttemptField {
    /// Whom they met.
    MetWhom(String),
    /// What the guardian said.
    GuardianStatement(String),
    /// The outcome.
    Outcome(AttemptOutcome),
    /// The next step.
    NextStep(String),
    /// Notes.
    Notes(String),
    /// Where it happened.
    Location(Option<GeoPoint>),
}

/// A field of a document's metadata that may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "field", content = "value", rename_all = "snake_case")]
pub enum DocumentField {
    /// Title.
    Title(String),
    /// Issuer.
    IssuedBy(String),
    /// Issue date.
    IssuedOn(Option<NaiveDate>),
    /// Notes.
    Notes(String),
}

/// An unexcused absence reported on a phone (R1): it opens the student's row in `absent`, with
/// the pushing user as the responsible person. If the student's row is open already (another
/// phone reported the same absence first), the server joins this one to it: the id made here
/// then names that row in every later mutation, and pull removes this id from the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// The id the phone made.
    pub id: CaseId,
    /// The student.
    pub student_id: StudentId,
    /// How the absence was found.
    pub found_by: FoundBy,
    /// The first day of the unexcused absence (not after today, China's date).
    pub first_absent_on: NaiveDate,
}

/// A new attempt, as the phone recorded it. Its author is the pushing user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAttempt {
    /// The id the phone made.
    pub id: AttemptId,
    /// The case (fixed at creation).
    pub case_id: CaseId,
    /// The kind of contact (fixed).
    pub kind: AttemptKind,
    /// When it happened (fixed).
    pub occurred_at: DateTime<Utc>,
    /// Where.
    pub location: Option<GeoPoint>,
    /// Who took part.
    pub participants: Vec<Participant>,
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
}

/// A new document's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    /// The id the client made.
    pub id: DocumentId,
    /// The case (fixed).
    pub case_id: CaseId,
    /// The document type (fixed).
    pub doc_type: crate::evidence::DocumentType,
    /// Title.
    pub title: String,
    /// Issuer.
    pub issued_by: String,
    /// Issue date.
    pub issued_on: Option<NaiveDate>,
    /// Notes.
    pub notes: String,
}

/// A new review (supervisors only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    /// The id the client made.
    pub id: ReviewId,
    /// The case.
    pub case_id: CaseId,
    /// What is judged.
    pub target: ReviewTarget,
    /// The attempt's id, or the case's id for a closure.
    pub target_id: uuid::Uuid,
    /// The verdict.
    pub verdict: Verdict,
    /// Why.
    pub reason: String,
}

/// What a mutation does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// Reports an absence: opens a case.
    OpenCase {
        /// The case.
        case: NewCase,
    },
    /// Changes fields of a case.
    UpdateCase {
        /// The case.
        case_id: CaseId,
        /// The changed fields only.
        fields: Vec<CaseField>,
    },
    /// Records an attempt.
    CreateAttempt {
        /// The attempt.
        attempt: NewAttempt,
    },
    /// Changes an attempt; participants are only ever added.
    UpdateAttempt {
        /// The attempt.
        attempt_id: AttemptId,
        /// The changed fields only.
        fields: Vec<AttemptField>,
        /// Participants to add (a union: adding one twice keeps one).
        add_participants: Vec<Participant>,
    },
    /// Records a document's metadata.
    CreateDocument {
        /// The document.
        document: NewDocument,
    },
    /// Changes a document's metadata.
    UpdateDocument {
        /// The document.
        document_id: DocumentId,
        /// The changed fields only.
        fields: Vec<DocumentField>,
    },
    /// Records a review.
    CreateReview {
        /// The review.
        review: NewReview,
    },
    /// Confirms an attempt with the signer's key (R21).
    SignAttempt {
        /// The signature.
        signature: crate::signing::NewSignature,
    },
}

impl Change {
    /// The case an existing record's change names by id: the case updated, or the case a new
    /// attempt, document or review is made on. `None` for a new case and for edits of attempts
    /// and documents (the server finds their case from the record).
    pub fn named_case(&self) -> Option<CaseId> {
        match self {
            Self::UpdateCase { case_id, .. } => Some(*case_id),
            Self::CreateAttempt { attempt } => Some(attempt.case_id),
            Self::CreateDocument { document } => Some(document.case_id),
            Self::CreateReview { review } => Some(review.case_id),
            Self::SignAttempt { signature } => Some(signature.case_id),
            Self::OpenCase { .. } | Self::UpdateAttempt { .. } | Self::UpdateDocument { .. } => {
                None
            }
        }
    }

    /// The change with [`Change::named_case`] replaced by `case` (a phone's case id joined to
    /// the row that was open already).
    #[must_use]
    pub fn on_case(mut self, case: CaseId) -> Self {
        match &mut self {
            Self::UpdateCase { case_id, .. } => *case_id = case,
            Self::CreateAttempt { attempt } => attempt.case_id = case,
            Self::CreateDocument { document } => document.case_id = case,
            Self::CreateReview { review } => review.case_id = case,
            Self::SignAttempt { signature } => signature.case_id = case,
            Self::OpenCase { .. } | Self::UpdateAttempt { .. } | Self::UpdateDocument { .. } => {}
        }
        self
    }
}

/// One change made on a device, with everything needed to apply it exactly once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// The mutation's own id (UUIDv7, made once; a resend carries the same id).
    pub id: MutationId,
    /// The version of the record the change was made on (0 for a new record).
    pub base_version: i64,
    /// When it was made, on the device's hybrid logical clock.
    pub hlc: HlcStamp,
    /// What it does.
    pub change: Change,
}

/// `POST /api/v1/sync/push`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// The client's protocol version.
    pub protocol_version: u32,
    /// Mutations, applied in this order.
    pub mutations: Vec<Mutation>,
}

/// Why a mutation was not applied. A rejection is final: resending gets the same answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// No such record in the caller's scope.
    NotFound,
    /// The caller's role may not make this change.
    Forbidden,
    /// The case machine does not allow this status move.
    IllegalTransition,
    /// The move is legal but what it requires is not on the case yet (attempts, documents,
    /// reviews); the reason lists what is missing.
    RequirementsUnmet,
    /// A record with this id exists with other fixed fields (student, author, case, kind, time).
    ImmutableField,
    /// The change is malformed (empty, or a value out of range).
    Invalid,
    /// A signature that does not verify with the key it names over the content it names (R21).
    BadSignature,
    /// The signing key was revoked: register a new one and sign again (R21).
    KeyRevoked,
}

/// What became of one mutation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MutationOutcome {
    /// Applied (perhaps only in part: fields that lost to a later edit are in `conflicts`).
    Applied {
        /// The record's version after this mutation.
        version: i64,
        /// Conflict records this mutation made (its own values that lost, or values it beat).
        conflicts: Vec<ConflictId>,
        /// The stamp was too far in the future and was pulled back to the server's time.
        clock_clamped: bool,
    },
    /// Not applied.
    Rejected {
        /// Why, as a code.
        code: RejectCode,
        /// Why, in words.
        reason: String,
    },
}

/// The result of one mutation of a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutationResult {
    /// The mutation.
    pub mutation_id: MutationId,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: MutationOutcome,
}

/// The answer to a push, sent only after everything in it is committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    /// One result per mutation, in request order.
    pub results: Vec<MutationResult>,
    /// The server's clock; the client observes it.
    pub server_hlc: HlcStamp,
}

/// `POST /api/v1/sync/pull`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    /// The client's protocol version.
    pub protocol_version: u32,
    /// The cursor of the last page applied; absent on a first sync.
    pub cursor: Option<String>,
    /// Most records in one page (default 500, at most 2000).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2000))]
    pub limit: Option<u32>,
}

/// The kinds of record sync carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A case.
    Case,
    /// An attempt.
    Attempt,
    /// A document.
    Document,
    /// A review.
    Review,
    /// A conflict record.
    Conflict,
    /// A media object (evidence file).
    Media,
    /// A participant's signature of an attempt.
    Signature,
}

impl EntityKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Case => "case",
            Self::Attempt => "attempt",
            Self::Document => "document",
            Self::Review => "review",
            Self::Conflict => "conflict",
            Self::Media => "media",
            Self::Signature => "signature",
        }
    }
}

impl std::str::FromStr for EntityKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Case,
            Self::Attempt,
            Self::Document,
            Self::Review,
            Self::Conflict,
            Self::Media,
            Self::Signature,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| format!("unknown entity kind `{s}`"))
    }
}

/// The per-field clock of a record: for each field, the version and stamp of its last write.
pub type FieldStamps = std::collections::BTreeMap<String, FieldStamp>;

/// When a field was last written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldStamp {
    /// The record's version that write made.
    pub version: i64,
    /// The write's stamp.
    pub hlc: HlcStamp,
}

/// A value that lost (or won) a concurrent edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum FieldValue {
    /// A case field.
    Case(CaseField),
    /// An attempt field.
    Attempt(AttemptField),
    /// A document field.
    Document(DocumentField),
}

/// Two edits of the same field that neither saw: the later stamp won, the other value is kept here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    /// The conflict record's id.
    pub id: ConflictId,
    /// The kind of record edited.
    pub entity_kind: EntityKind,
    /// The record edited.
    pub entity_id: uuid::Uuid,
    /// The case it belongs to.
    pub case_id: CaseId,
    /// The field's name.
    pub field: String,
    /// The value kept.
    pub winning_value: FieldValue,
    /// Its stamp.
    pub winning_hlc: HlcStamp,
    /// The value that lost.
    pub losing_value: FieldValue,
    /// Its stamp.
    pub losing_hlc: HlcStamp,
    /// The mutation that wrote the losing value.
    pub losing_mutation_id: Option<MutationId>,
    /// The device that wrote the losing value.
    pub losing_device_id: DeviceId,
    /// The account signed in on that device, if the server knows the device.
    #[serde(default)]
    pub losing_user_id: Option<UserId>,
    /// That account's display name, for a phone to say who changed what.
    #[serde(default)]
    pub losing_user_name: Option<String>,
    /// When the server recorded the conflict.
    pub created_at: DateTime<Utc>,
}

/// A record as pull carries it: its current state, version and field clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PulledRecord {
    /// A case.
    Case {
        /// Its state.
        case: CaseSummary,
        /// Its version.
        version: i64,
        /// Its field clock.
        stamps: FieldStamps,
    },
    /// An attempt.
    Attempt {
        /// Its state.
        attempt: Attempt,
        /// Its version.
        version: i64,
        /// Its field clock.
        stamps: FieldStamps,
    },
    /// A document.
    Document {
        /// Its state.
        document: Document,
        /// Its version.
        version: i64,
        /// Its field clock.
        stamps: FieldStamps,
    },
    /// A review.
    Review {
        /// The review.
        review: Review,
    },
    /// A conflict record.
    Conflict {
        /// The conflict.
        conflict: Conflict,
    },
    /// A media object linked to an attempt or document.
    Media {
        /// The reference.
        media: crate::media::MediaRef,
    },
    /// A participant's signature of an attempt.
    Signature {
        /// The signature.
        signature: crate::signing::Signature,
    },
    /// A record that left the caller's scope (or was removed): drop it.
    Removed {
        /// Its kind.
        entity_kind: EntityKind,
        /// Its id.
        id: uuid::Uuid,
    },
}

/// The answer to a pull.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    /// Changed records, oldest change first; each record appears once per page, in its latest state.
    pub records: Vec<PulledRecord>,
    /// Pass back as `cursor` for the next pull. Opaque.
    pub cursor: String,
    /// More changes are waiting: pull again at once.
    pub more: bool,
    /// The server's clock; the client observes it.
    pub server_hlc: HlcStamp,
}
