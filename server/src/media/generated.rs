//! A file the server made itself (the day-5 written report) kept as evidence of a record of a
//! case, as an upload that arrived whole would be: stored under its SHA-256, its media object
//! linked to the record, and the change phones pull.

use bytes::Bytes;
use chrono::Utc;
use sea_orm::TransactionTrait as _;
use sync_protocol::media::MediaKind;
use uuid::Uuid;

use crate::db::entity::{case, media_object};
use crate::error::ApiError;
use crate::media::MediaState;
use crate::media::uploads::record_media;

/// A file made by the server for a record of a case.
#[derive(Debug)]
pub struct Generated {
    /// The bytes.
    pub bytes: Bytes,
    /// Their media type.
    pub content_type: &'static str,
    /// The name it is downloaded under.
    pub file_name: String,
    /// What kind of evidence it is.
    pub kind: MediaKind,
}

/// Stores `file` and links it as evidence of the record (`target_kind`, `target_id`) of `case`,
/// made by `user`; answers its media object.
pub async fn keep(
    state: &MediaState,
    case: &case::Model,
    target: (&str, Uuid),
    user: Uuid,
    file: Generated,
) -> Result<media_object::Model, ApiError> {
    let media = store(&state.storage, case, target, user, file).await?;
    let txn = state.db.write.begin().await?;
    record_media(&txn, &media, case).await?;
    txn.commit().await?;
    Ok(media)
}

/// Stores `file` under its SHA-256 and answers the media object that would link it as evidence
/// of the record (`target_kind`, `target_id`) of `case`, made by `user`, at `Utc::now()`; the
/// caller records it ([`record_media`]) in its own transaction.
pub async fn store(
    storage: &crate::storage::Storage,
    case: &case::Model,
    (target_kind, target_id): (&str, Uuid),
    user: Uuid,
    file: Generated,
) -> Result<media_object::Model, ApiError> {
    let sha256 = crate::digest::sha256_hex(&file.bytes);
    let size = file.bytes.len() as u64;
    storage
        .put_checked(&sha256, size, file.bytes.into(), &sha256)
        .await
        .map_err(|e| anyhow::anyhow!("storing a generated file: {e}"))?;
    Ok(media_object::Model {
        id: Uuid::now_v7(),
        sha256,
        size: i64::try_from(size).unwrap_or(i64::MAX),
        kind: file.kind.as_str().to_owned(),
        content_type: file.content_type.to_owned(),
        file_name: file.file_name,
        target_kind: target_kind.to_owned(),
        target_id,
        case_id: case.id,
        uploaded_by: user,
        created_at: Utc::now(),
        captured_at: None,
        lat: None,
        lon: None,
        duration_ms: None,
        preview_of: None,
        phash: None,
    })
}
