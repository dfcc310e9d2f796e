//! The rows a case's history is built from, read for many cases at once.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use sync_protocol::cases::AttemptKind;
use sync_protocol::evidence::ReviewTarget;
use uuid::Uuid;

use crate::db::entity::{
    attempt, attempt_participant, attempt_signature, case_move, document, media_object, review,
};

/// What the cases' histories are made of, each in the order it happened.
#[derive(Debug, Default)]
pub struct HistoryRows {
    /// Status moves, by the day they were made, then by when they were recorded.
    pub moves: Vec<case_move::Model>,
    /// Attempts, by when they happened.
    pub attempts: Vec<attempt::Model>,
    /// Documents, by when they were recorded.
    pub documents: Vec<document::Model>,
    /// Reviews of documents, oldest first (the latest verdict wins).
    pub document_reviews: Vec<review::Model>,
    /// The attempts' files, previews left out (a recording is evidence of its attempt).
    pub attempt_files: Vec<media_object::Model>,
    /// Participants of joint persuasions who came for a department.
    pub departments_joined: Vec<attempt_participant::Model>,
    /// The participants' signatures of the attempts (R21).
    pub signatures: Vec<attempt_signature::Model>,
    /// Every participant of the attempts signed at least once, in their order.
    pub signed_participants: Vec<attempt_participant::Model>,
}

/// The history rows of the cases `ids`.
pub async fn of_cases(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<HistoryRows, DbErr> {
    let ids = || ids.iter().copied();
    let moves = case_move::Entity::find()
        .filter(case_move::Column::CaseId.is_in(ids()))
        .order_by_asc(case_move::Column::MovedAt)
        .order_by_asc(case_move::Column::RecordedAt)
        .all(db)
        .await?;
    let attempts = attempt::Entity::find()
        .filter(attempt::Column::CaseId.is_in(ids()))
        .order_by_asc(attempt::Column::OccurredAt)
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
    let attempt_files = media_object::Entity::find()
        .filter(media_object::Column::CaseId.is_in(ids()))
        .filter(media_object::Column::TargetKind.eq("attempt"))
        .filter(media_object::Column::PreviewOf.is_null())
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
    let signatures = attempt_signature::Entity::find()
        .filter(attempt_signature::Column::CaseId.is_in(ids()))
        .all(db)
        .await?;
    let signed: std::collections::HashSet<Uuid> = signatures.iter().map(|s| s.attempt_id).collect();
    let signed_participants = if signed.is_empty() {
        Vec::new()
    } else {
        attempt_participant::Entity::find()
            .filter(attempt_participant::Column::AttemptId.is_in(signed))
            .order_by_asc(attempt_participant::Column::Position)
            .all(db)
            .await?
    };
    Ok(HistoryRows {
        moves,
        attempts,
        documents,
        document_reviews,
        attempt_files,
        departments_joined,
        signatures,
        signed_participants,
    })
}
