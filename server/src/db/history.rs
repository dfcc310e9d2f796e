//! The rows a case's history is built from, read for many cases at once.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};
use sync_protocol::cases::AttemptKind;
use sync_protocol::evidence::ReviewTarget;
use uuid::Uuid;

use crate::db::entity::{
    attempt, attempt_participant, attempt_signature, case_move, document, media_object, review,
};

/// An attempt as the rules count it: no free text, nothing sealed.
#[derive(Debug, Clone, FromQueryResult)]
pub struct AttemptRow {
    /// The attempt.
    pub id: Uuid,
    /// Its case.
    pub case_id: Uuid,
    /// Its kind (`AttemptKind`).
    pub kind: String,
    /// When it happened.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// What came of it (`AttemptOutcome`).
    pub outcome: String,
}

/// What the cases' histories are made of, each in the order it happened.
#[derive(Debug, Default)]
pub struct HistoryRows {
    /// Status moves, by the day they were made, then by when they were recorded.
    pub moves: Vec<case_move::Model>,
    /// Attempts, by when they happened.
    pub attempts: Vec<AttemptRow>,
    /// Documents, by when they were recorded.
    pub documents: Vec<document::Model>,
    /// Reviews of documents, oldest first (the latest verdict wins).
    pub document_reviews: Vec<review::Model>,
    /// The attempts' files, previews left out (a recording is evidence of its attempt); with
    /// evidence only.
    pub attempt_files: Vec<media_object::Model>,
    /// Participants of joint persuasions who came for a department.
    pub departments_joined: Vec<attempt_participant::Model>,
    /// The participants' signatures of the attempts (R21); with evidence only.
    pub signatures: Vec<attempt_signature::Model>,
    /// The attempts signed at least once, whole (what their signatures cover).
    pub signed_attempts: Vec<attempt::Model>,
    /// Every participant of the attempts signed at least once, in their order.
    pub signed_participants: Vec<attempt_participant::Model>,
}

/// The history rows of the cases `ids`; with `evidence`, also the attempts' files and
/// signatures (what R20 and R21 check before a move, not what is due).
pub async fn of_cases(
    db: &impl ConnectionTrait,
    case_ids: &[Uuid],
    evidence: bool,
) -> Result<HistoryRows, DbErr> {
    let ids = || case_ids.iter().copied();
    let moves = case_move::Entity::find()
        .filter(case_move::Column::CaseId.is_in(ids()))
        .order_by_asc(case_move::Column::MovedAt)
        .order_by_asc(case_move::Column::RecordedAt)
        .all(db)
        .await?;
    let attempts = attempt::Entity::find()
        .select_only()
        .columns([
            attempt::Column::Id,
            attempt::Column::CaseId,
            attempt::Column::Kind,
            attempt::Column::OccurredAt,
            attempt::Column::Outcome,
        ])
        .filter(attempt::Column::CaseId.is_in(ids()))
        .order_by_asc(attempt::Column::OccurredAt)
        .into_model::<AttemptRow>()
        .all(db)
        .await?;
    let documents = document::Entity::find()
        .filter(document::Column::CaseId.is_in(ids()))
        .order_by_asc(document::Column::CreatedAt)
        .all(db)
        .await?;
    let document_reviews = review::Entity::find()
        .filter(review::Column::CaseId.is_in(ids()))
        .filter(review::Column::TargetKind.eq(ReviewTarget::Document.as_str()))
        .order_by_asc(review::Column::CreatedAt)
        .all(db)
        .await?;
    let joint = attempts
        .iter()
        .filter(|a| a.kind == AttemptKind::JointPersuasion.as_str())
        .map(|a| a.id);
    let departments_joined = attempt_participant::Entity::find()
        .filter(attempt_participant::Column::AttemptId.is_in(joint))
        .filter(attempt_participant::Column::Department.is_not_null())
        .all(db)
        .await?;
    let evidence = if evidence {
        evidence_of(db, case_ids).await?
    } else {
        Evidence::default()
    };
    Ok(HistoryRows {
        moves,
        attempts,
        documents,
        document_reviews,
        attempt_files: evidence.files,
        departments_joined,
        signatures: evidence.signatures,
        signed_attempts: evidence.signed_attempts,
        signed_participants: evidence.signed_participants,
    })
}

/// The attempts' files and signatures, with the signed attempts whole and their participants.
#[derive(Debug, Default)]
struct Evidence {
    files: Vec<media_object::Model>,
    signatures: Vec<attempt_signature::Model>,
    signed_attempts: Vec<attempt::Model>,
    signed_participants: Vec<attempt_participant::Model>,
}

async fn evidence_of(db: &impl ConnectionTrait, case_ids: &[Uuid]) -> Result<Evidence, DbErr> {
    let ids = || case_ids.iter().copied();
    let files = media_object::Entity::find()
        .filter(media_object::Column::CaseId.is_in(ids()))
        .filter(media_object::Column::TargetKind.eq("attempt"))
        .filter(media_object::Column::PreviewOf.is_null())
        .all(db)
        .await?;
    let signatures = attempt_signature::Entity::find()
        .filter(attempt_signature::Column::CaseId.is_in(ids()))
        .all(db)
        .await?;
    let signed: std::collections::HashSet<Uuid> = signatures.iter().map(|s| s.attempt_id).collect();
    if signed.is_empty() {
        return Ok(Evidence {
            files,
            signatures,
            ..Evidence::default()
        });
    }
    let signed_attempts = attempt::Entity::find()
        .filter(attempt::Column::Id.is_in(signed.iter().copied()))
        .all(db)
        .await?;
    let signed_participants = attempt_participant::Entity::find()
        .filter(attempt_participant::Column::AttemptId.is_in(signed))
        .order_by_asc(attempt_participant::Column::Position)
        .all(db)
        .await?;
    Ok(Evidence {
        files,
        signatures,
        signed_attempts,
        signed_participants,
    })
}
