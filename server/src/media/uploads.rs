//! The life of a resumable upload: who may create one for which record, its lease while a
//! request writes it, what happens when its last byte arrives (checked, stored and linked to the
//! record as evidence), and its end (terminated, or expired and cleaned up). Bodies are received
//! by [`super::receive`].

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait as _;
use sync_protocol::ErrorCode;
use sync_protocol::sync::EntityKind;
use uuid::Uuid;

use super::declaration::Declaration;
use super::probe;
use super::sniff::{HEADER_BYTES, allowed_type, check_dimensions};
use crate::auth::AuthUser;
use crate::db::chain::LedgerKind;
use crate::db::changes::{ChangeSet, RecordScope};
use crate::db::entity::{case, media_object, upload};
use crate::db::uploads::Free;
use crate::error::ApiError;
use crate::state::AppState;
use bytes::Bytes;

use crate::storage::{Incoming, SEGMENT, StorageError, Stored, Streamed};

/// How long an unfinished upload is kept.
pub const EXPIRY: Duration = Duration::hours(24);

/// The case of the attempt or document `declaration` names, if the caller may see it.
async fn target_case(
    state: &AppState,
    user: &AuthUser,
    declaration: &Declaration,
) -> Result<case::Model, ApiError> {
    crate::db::uploads::target_case(
        &state.db.read,
        user.scope(),
        declaration.target_kind,
        declaration.target_id,
    )
    .await?
    .ok_or_else(|| ApiError::not_found(declaration.target_kind))
}

/// Creates an upload; returns it and how a body that follows (creation-with-upload) holds it.
///
/// A creation that names a `client_key` under which the caller made an upload of the same file
/// for the same record already ([`repeated`]: a phone that never heard the first answer, on a
/// link that cut it) is answered that upload, as it stands once no request holds it (waiting as
/// [`settled`] does): a body that follows is received as a PATCH at 0 would ([`Lease::Take`]:
/// 423 while an earlier request still holds it), which the route does only while the upload
/// stands at 0.
///
/// Until the answer nobody else knows the upload's id (a client whose creation was cut starts
/// a new one), so the body of a file smaller than a segment is received before anything is
/// written (no piece of it can be stored, and so acknowledged, before its end): its
/// row is written when the request ends, with the link or with the offset reached
/// ([`Lease::Unsaved`]). Otherwise the row is written now, leased to the request if a body
/// follows. If the object is stored already, the upload is finished at once. The record must be
/// in the caller's scope (404 otherwise).
pub async fn create(
    state: &AppState,
    user: &AuthUser,
    declaration: &Declaration,
    with_body: bool,
) -> Result<(upload::Model, Lease), ApiError> {
    // Asked together; whether the file is stored, or was being uploaded under the same key,
    // counts only once the record is in scope.
    let (case, readable, made) = tokio::join!(
        target_case(state, user, declaration),
        crate::db::media::readable_size(&state.db.read, user.scope(), &declaration.sha256),
        repeated(&state.db.write, user.id, declaration)
    );
    let case = case?;
    if !crate::cases::rights::records_evidence(user.role) {
        return Err(ApiError::forbidden(
            "an administrator manages accounts and calendars; evidence is attached by case workers",
        ));
    }
    if let Some(made) = made? {
        // Gone meanwhile (refused, or terminated): a new upload is made.
        if let Some(made) = settle(state, user, made).await? {
            return Ok((made, Lease::Take));
        }
    }
    let now = Utc::now();
    let mut row = upload::Model {
        id: Uuid::now_v7(),
        user_id: user.id,
        kind: declaration.kind.as_str().to_owned(),
        sha256: declaration.sha256.clone(),
        length: i64::try_from(declaration.length).unwrap_or(i64::MAX),
        offset: 0,
        file_name: declaration.file_name.clone(),
        target_kind: declaration.target_kind.to_owned(),
        target_id: declaration.target_id,
        case_id: case.id,
        created_at: now,
        expires_at: now + EXPIRY,
        busy_until: None,
        busy_by: None,
        captured_at: declaration.origin.captured_at,
        lat: declaration.origin.location.map(|l| l.0),
        lon: declaration.origin.location.map(|l| l.1),
        hash_state: None,
        client_key: declaration.client_key.clone(),
        preview_of: declaration.preview_of.clone(),
    };
    // Finished at once only for a file the caller may read already, of the length declared:
    // knowing a hash proves nothing, and must not tell whether a file is stored elsewhere.
    if readable? == Some(row.length) {
        let head = state
            .storage
            .read_range(&row.sha256, 0..HEADER_BYTES.min(declaration.length))
            .await
            .map_err(storage_error)?;
        let content_type = allowed_type(&row.kind, &head)?;
        let linked = link(state, row, content_type, &head, Lease::Unsaved).await?;
        return Ok((linked, Lease::Unsaved));
    }
    if with_body && declaration.length < SEGMENT as u64 {
        return Ok((row, Lease::Unsaved));
    }
    row.busy_until = with_body.then(|| now + LEASE);
    row.busy_by = with_body.then(|| state.instance.id());
    save_new(&state.db.write, &row).await?;
    Ok((row, Lease::Held))
}

/// Writes the row of an upload not saved before.
pub(super) async fn save_new(
    db: &impl sea_orm::ConnectionTrait,
    row: &upload::Model,
) -> Result<(), sea_orm::DbErr> {
    crate::db::uploads::insert(db, row).await
}

pub(super) fn storage_error(e: StorageError) -> ApiError {
    match e {
        StorageError::UploadFile(e) if e.kind() == std::io::ErrorKind::WouldBlock => busy(),
        // The store's own words name it (its URL or folder) and say why; the phone is told to
        // come back, which loses nothing: what was received before is kept.
        StorageError::Store(e) => {
            tracing::error!(error = %e, "the media store failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "the media store cannot be reached; nothing received is lost, try again later",
            )
        }
        e => ApiError::Internal(anyhow::anyhow!(e)),
    }
}

/// 423: another request is still writing the upload.
fn busy() -> ApiError {
    ApiError::new(
        StatusCode::LOCKED,
        ErrorCode::UploadBusy,
        "another request is still writing this upload; ask again with HEAD shortly",
    )
}

/// The upload `row` as the store keeps it.
pub(super) fn incoming(row: &upload::Model) -> Incoming {
    Incoming {
        id: row.id,
        sha256: row.sha256.clone(),
    }
}

/// The upload `id` of `user` that has not expired.
pub async fn find(state: &AppState, user: &AuthUser, id: Uuid) -> Result<upload::Model, ApiError> {
    lookup(state, user, id)
        .await?
        .ok_or_else(|| ApiError::not_found("upload"))
}

/// The upload `id` of `user` if it has not expired.
async fn lookup(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
) -> Result<Option<upload::Model>, sea_orm::DbErr> {
    crate::db::uploads::find_unexpired(&state.db.write, user.id, id, Utc::now()).await
}

/// The unexpired upload that the user `user_id` made for the file and record `declaration`
/// names (SHA-256, length, kind, attempt or document) under the same `client_key`, if it names
/// one: what a creation repeated by a phone that never heard the first answer is answered
/// (found by the index `uploads_user_client_key`). If there are several (creations with bodies
/// in parallel, each written when its request ended), the one furthest along.
pub async fn repeated(
    db: &impl sea_orm::ConnectionTrait,
    user_id: Uuid,
    declaration: &Declaration,
) -> Result<Option<upload::Model>, sea_orm::DbErr> {
    let Some(key) = declaration.client_key.as_deref() else {
        return Ok(None);
    };
    let same = crate::db::uploads::SameFile {
        user_id,
        client_key: key,
        sha256: &declaration.sha256,
        length: i64::try_from(declaration.length).unwrap_or(i64::MAX),
        kind: declaration.kind.as_str(),
        target_kind: declaration.target_kind,
        target_id: declaration.target_id,
    };
    crate::db::uploads::repeated(db, same, Utc::now()).await
}

/// How long `HEAD` waits for a PATCH that holds the upload.
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The upload `id` of `user` once no PATCH holds it, or as it stands after waiting a few seconds
/// for that.
pub async fn settled(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
) -> Result<upload::Model, ApiError> {
    let row = find(state, user, id).await?;
    settle(state, user, row)
        .await?
        .ok_or_else(|| ApiError::not_found("upload"))
}

/// The upload `row` of `user` once no PATCH holds it, or as it stands after waiting a few
/// seconds for that; `None` if it is gone meanwhile.
async fn settle(
    state: &AppState,
    user: &AuthUser,
    mut row: upload::Model,
) -> Result<Option<upload::Model>, ApiError> {
    let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
    loop {
        let held = held_by_a_running_instance(state, &row).await?;
        if !held || tokio::time::Instant::now() >= deadline {
            return Ok(Some(row));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        match lookup(state, user, row.id).await? {
            Some(now) => row = now,
            None => return Ok(None),
        }
    }
}

/// How long a request holds an upload ([`crate::config::UPLOAD_LEASE_SECS`]).
pub(super) const LEASE: Duration = Duration::seconds(crate::config::UPLOAD_LEASE_SECS as i64);
/// How often a request receiving bytes renews its hold.
pub(super) const LEASE_RENEWAL: std::time::Duration =
    std::time::Duration::from_secs(crate::config::UPLOAD_LEASE_RENEWAL_SECS);

/// Whether a request still holds `row`: its lease runs, and the instance holding it runs (a
/// lease of a killed server is let go at once; see [`crate::instance`]).
async fn held_by_a_running_instance(state: &AppState, row: &upload::Model) -> anyhow::Result<bool> {
    if row.busy_until.is_none_or(|until| until <= Utc::now()) {
        return Ok(false);
    }
    match row.busy_by {
        Some(holder) => state.instance.is_running(holder).await,
        None => Ok(true),
    }
}

/// Holds upload `id` for the request receiving it until `until`; `None` lets it go.
pub(super) async fn hold(
    state: &AppState,
    id: Uuid,
    until: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    let lease = until.map(|until| (until, state.instance.id()));
    crate::db::uploads::hold(&state.db.write, id, lease).await?;
    Ok(())
}

/// Moves the offset, with `hash_state`, the hash of the bytes up to it (see [`upload_hash`]);
/// `release` ends the PATCH's lease, otherwise it is renewed.
pub(super) async fn set_offset(
    state: &AppState,
    id: Uuid,
    offset: u64,
    hash_state: Vec<u8>,
    release: bool,
) -> Result<(), ApiError> {
    let lease = (!release).then(|| (Utc::now() + LEASE, state.instance.id()));
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    crate::db::uploads::set_offset(&state.db.write, id, offset, hash_state, lease).await?;
    Ok(())
}

/// Whether a request receiving a body must take the upload's lease, holds it already, or
/// holds an upload nobody else knows yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// A PATCH, or a creation repeated for an upload made already: take it (409 or 423 if the
    /// upload stands elsewhere or is held).
    Take,
    /// The creating request, whose new row was made leased.
    Held,
    /// The creating request, whose row is not written yet: it is written when the request
    /// ends (nothing is, if the upload is refused or cut while all-or-nothing).
    Unsaved,
}

/// Takes the upload for one PATCH at `offset`: refused with 409 if the upload stands elsewhere,
/// 423 while another PATCH is still receiving (a client retrying after a cut may arrive while
/// the server is still keeping what the cut connection sent). A lease whose holding instance no
/// longer runs is taken over at once.
pub(super) async fn take_lease(
    state: &AppState,
    row: &upload::Model,
    offset: u64,
) -> Result<(), ApiError> {
    let now = Utc::now();
    let at = i64::try_from(offset).unwrap_or(i64::MAX);
    let lease = (now + LEASE, state.instance.id());
    let take = |free| crate::db::uploads::take(&state.db.write, row.id, at, lease, free);
    if take(Free::At(now)).await? {
        return Ok(());
    }
    let current = crate::db::uploads::find(&state.db.write, row.id)
        .await?
        .ok_or_else(|| ApiError::not_found("upload"))?;
    if current.offset != at {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::OffsetMismatch,
            format!("the upload stands at {}, not {offset}", current.offset),
        ));
    }
    if let Some(holder) = current.busy_by
        && !held_by_a_running_instance(state, &current).await?
    {
        // Only from that holder: another request may have taken it meanwhile.
        if take(Free::From(holder)).await? {
            tracing::info!(upload = %row.id, %holder, "took over an upload whose server is gone");
            return Ok(());
        }
    }
    Err(busy())
}

/// Where the bytes of a finished upload are.
pub(super) enum Finished {
    /// All of them arrived in the last request and went to the store as they came (on S3;
    /// locally they are in the upload's file as they arrive), but for the last byte.
    Streamed {
        /// The PUT, which keeps the bytes sent.
        put: Streamed,
        /// Their SHA-256, lowercase hex.
        sha256: String,
    },
    /// Kept in the upload's storage.
    Kept {
        /// Their SHA-256, lowercase hex.
        sha256: String,
        /// The file's first bytes (up to [`HEADER_BYTES`]) if they are in memory.
        head: Option<Bytes>,
    },
}

/// Checks and stores a finished upload and links it to its record. A type the kind does not
/// allow, or a size or hash that differs from the declaration, removes the bytes and the upload.
pub(super) async fn complete(
    state: &AppState,
    row: upload::Model,
    finished: Finished,
    lease: Lease,
) -> Result<upload::Model, ApiError> {
    let length = u64::try_from(row.length).unwrap_or(0);
    // One read serves both: the type from the first bytes, an image's size from its header.
    let head = match &finished {
        Finished::Streamed { put, .. } => put.first(HEADER_BYTES as usize),
        Finished::Kept {
            head: Some(head), ..
        } => head.clone(),
        Finished::Kept { head: None, .. } => state
            .storage
            .upload_head(row.id, HEADER_BYTES)
            .await
            .map_err(storage_error)?,
    };
    let checked = match allowed_type(&row.kind, &head) {
        Ok(t) if t.starts_with("image/") => check_dimensions(t, &head).map(|()| t),
        other => other,
    };
    let content_type = match checked {
        Ok(t) => t,
        Err(refused) => {
            terminate(state, row).await?;
            return Err(refused);
        }
    };
    let stored = match finished {
        Finished::Streamed { put, sha256 } => {
            state
                .storage
                .finish_streamed(put, &row.sha256, length, &sha256)
                .await
        }
        Finished::Kept { sha256, .. } => {
            state
                .storage
                .finish_upload(&incoming(&row), length, &sha256)
                .await
        }
    };
    match stored {
        Ok(Stored::New | Stored::Duplicate) => {
            let linked = link(state, row, content_type, &head, lease).await?;
            if content_type.starts_with("image/") {
                super::derive::thumbnail_later(state, &linked.sha256);
            }
            Ok(linked)
        }
        Err(StorageError::Mismatch { actual_sha256, .. }) => {
            crate::db::uploads::delete(&state.db.write, row.id).await?;
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::HashMismatch,
                format!(
                    "the file's SHA-256 is {actual_sha256}, not the declared {}; it was not kept",
                    row.sha256
                ),
            ))
        }
        Err(e) => Err(storage_error(e)),
    }
}

/// Records the stored object as evidence of its attempt or document, with what its bytes say
/// (`head` is its first bytes), and marks the upload done (writing its row if `lease` says it
/// is not written yet). The same file sent again for the same record (a phone that did not
/// hear the answer sends it again) links nothing new.
async fn link(
    state: &AppState,
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
    insert_media(
        &txn,
        &row,
        &case,
        content_type,
        &exif,
        location,
        duration_ms,
    )
    .await?;
    let done = upload::Model {
        offset: row.length,
        busy_until: None,
        busy_by: None,
        ..row
    };
    if lease == Lease::Unsaved {
        save_new(&txn, &done).await?;
    } else {
        crate::db::uploads::mark_done(&txn, done.id, done.offset).await?;
    }
    txn.commit().await?;
    Ok(done)
}

/// Inserts the media object of the finished upload `row` and its change-log entry, so phones of
/// the scope of its `case` pull the reference, unless the file is evidence of the same record
/// already (one statement: the insert's own snapshot, taken after the case's lock, sees a link
/// committed by whoever held it before).
async fn insert_media(
    txn: &sea_orm::DatabaseTransaction,
    row: &upload::Model,
    case: &case::Model,
    content_type: &str,
    exif: &probe::Origin,
    location: Option<(f64, f64)>,
    duration_ms: Option<u64>,
) -> Result<(), ApiError> {
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
    };
    if !crate::db::media::insert_unless_linked(txn, &media).await? {
        return Ok(());
    }
    // Phones of the case's scope pull the reference with their next sync.
    let mut changes = ChangeSet::default();
    changes.upsert(EntityKind::Media, media.id, RecordScope::from(case), true);
    changes.known_content(
        LedgerKind::Media,
        media.id,
        media.case_id,
        crate::db::chain::media_content(&media),
    );
    changes.append(txn).await?;
    Ok(())
}

/// Ends an upload and deletes what it had received.
pub async fn terminate(state: &AppState, row: upload::Model) -> Result<(), ApiError> {
    state
        .storage
        .delete_segments(&incoming(&row), 0)
        .await
        .map_err(storage_error)?;
    crate::db::uploads::delete(&state.db.write, row.id).await?;
    Ok(())
}

/// Deletes every upload past its expiry and its segments, and the bytes of uploads that never
/// got a row (a server stopped while receiving a creation's body: see [`Lease::Unsaved`]) left
/// untouched for as long; returns how many uploads went.
pub async fn expire(state: &AppState) -> Result<usize, ApiError> {
    let now = Utc::now();
    let expired = crate::db::uploads::expired(&state.db.write, now).await?;
    let mut count = expired.len();
    for row in expired {
        terminate(state, row).await?;
    }
    let idle = state
        .storage
        .uploads_idle_since(now - EXPIRY)
        .await
        .map_err(storage_error)?;
    let known = crate::db::uploads::known(&state.db.write, idle.iter().copied()).await?;
    for id in idle.into_iter().filter(|id| !known.contains(id)) {
        // Such an upload fitted in one segment, so it has no S3 multipart to abort (whose key
        // would need the hash).
        let orphan = Incoming {
            id,
            sha256: String::new(),
        };
        state
            .storage
            .delete_segments(&orphan, 0)
            .await
            .map_err(storage_error)?;
        count += 1;
    }
    Ok(count)
}

/// Every ten minutes, deletes expired uploads (tus expiration); runs for the server's lifetime.
pub async fn sweep_expired(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tick.tick().await;
        match expire(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired uploads removed"),
            Err(e) => tracing::warn!(error = ?e, "removing expired uploads failed; will try again"),
        }
    }
}
