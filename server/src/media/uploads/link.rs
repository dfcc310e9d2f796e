//! A stored file becomes evidence of its attempt or document: its media object, what its bytes
//! say (EXIF, a recording's duration), the change phones pull, the plausibility flags it raises,
//! and the upload marked done.

use chrono::Utc;
use sea_orm::TransactionTrait as _;
use sync_protocol::sync::EntityKind;
use uuid::Uuid;

use super::lease::Lease;
use crate::db::chain::ChainKind;
use crate::db::changes::{ChangeSet, RecordScope};
use crate::db::entity::{case, media_object, upload};
use crate::error::ApiError;
use crate::media::MediaState;
use crate::media::probe;

/// Records the stored object as evidence of its attempt or document, with what its bytes say
/// (`head` is its first bytes), and marks the upload done (writing its row if `lease` says it
/// is not written yet). The same file sent again for the same record (a phone that did not
/// hear the answer sends it again) links nothing new.
pub(super) async fn link(
    state: &MediaState,
    row: upload::Model,
    content_type: &str,
    head: &[u8],
    lease: Lease,
) -> Result<upload::Model, ApiError> {
    let record = (row.target_kind.as_str(), row.target_id);
    let exif = if content_type.starts_with("image/") {
        probe::exif(head)
    } else {
        probe::Origin::default()
    };
    // Probing reads a recording whole: not for a file the record already has.
    let duration_ms = if content_type.starts_with("audio/")
        && !crate::db::media::is_evidence(&state.db.write, &row.sha256, record).await?
    {
        let length = u64::try_from(row.length).unwrap_or(0);
        probe::stored_duration_ms(state, &row.sha256, length).await
    } else {
        None
    };
    let location = exif.location.or(row.lat.zip(row.lon));
    let txn = state.db.write.begin().await?;
    // The record's case, locked until commit: two uploads of the same file for the same record
    // finishing together take turns here, so the second sees the first's link (PostgreSQL;
    // SQLite has one writer at a time anyway).
    let case = crate::db::media::lock_case(&txn, row.case_id)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    let linked = insert_media(
        &txn,
        &row,
        &case,
        content_type,
        &exif,
        location,
        duration_ms,
    )
    .await?;
    if let Some(media) = linked {
        crate::plausibility::raise::on_media(&txn, &state.flags, &media).await?;
    }
    let done = upload::Model {
        offset: row.length,
        busy_until: None,
        busy_by: None,
        ..row
    };
    if lease == Lease::Unsaved {
        crate::db::uploads::insert(&txn, &done).await?;
    } else {
        crate::db::uploads::mark_done(&txn, done.id, done.offset).await?;
    }
    txn.commit().await?;
    Ok(done)
}

/// Inserts the media object of the finished upload `row` and its change-log entry, so phones of
/// the scope of its `case` pull the reference, unless the file is evidence of the same record
/// already (one statement: the insert's own snapshot, taken after the case's lock, sees a link
/// committed by whoever held it before). Answers the media object if it linked it.
async fn insert_media(
    txn: &sea_orm::DatabaseTransaction,
    row: &upload::Model,
    case: &case::Model,
    content_type: &str,
    exif: &probe::Origin,
    location: Option<(f64, f64)>,
    duration_ms: Option<u64>,
) -> Result<Option<media_object::Model>, ApiError> {
    let media = media_object::Model {
        id: Uuid::now_v7(),
        sha256: row.sha256.clone(),
        size: row.length,
        kind: row.kind.clone(),
        content_type: content_type.to_owned(),
        file_name: row.file_name.clone(),
        target_kind: row.target_kind.clone(),
        target_id: row.target_id,
        case_id: row.case_id,
        uploaded_by: row.user_id,
        created_at: Utc::now(),
        captured_at: exif.captured_at.or(row.captured_at),
        lat: location.map(|l| l.0),
        lon: location.map(|l| l.1),
        duration_ms: duration_ms.and_then(|d| i64::try_from(d).ok()),
        preview_of: row.preview_of.clone(),
        phash: None,
    };
    Ok(record_media(txn, &media, case).await?.then_some(media))
}

/// Inserts `media`, evidence of a record of `case`, and its change-log entry and chain event, so
/// phones of the case's scope pull the reference; nothing if the file is evidence of the same
/// record already. Answers whether it linked the file.
pub async fn record_media(
    txn: &sea_orm::DatabaseTransaction,
    media: &media_object::Model,
    case: &case::Model,
) -> Result<bool, ApiError> {
    if !crate::db::media::insert_unless_linked(txn, media).await? {
        return Ok(false);
    }
    // Phones of the case's scope pull the reference with their next sync.
    let mut changes = ChangeSet::default();
    changes.upsert(EntityKind::Media, media.id, RecordScope::from(case), true);
    changes.known_content(
        ChainKind::Media,
        media.id,
        media.case_id,
        crate::db::chain::media_content(media),
    );
    // A file changes no count or date the rules read: what is due stays as it was.
    let _linked = changes.append(txn).await?;
    Ok(true)
}
