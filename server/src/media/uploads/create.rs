//! An upload's creation: the record it is for, a creation repeated by a phone that never heard
//! the answer, a file stored already, and the row written now or when the body ends.

use chrono::Utc;
use uuid::Uuid;

use super::end::EXPIRY;
use super::lease::{LEASE, Lease, settle};
use super::link::link;
use super::storage_error;
use crate::auth::AuthUser;
use crate::db::entity::{case, upload};
use crate::error::ApiError;
use crate::media::MediaState;
use crate::media::declaration::Declaration;
use crate::media::sniff::{HEADER_BYTES, allowed_type};
use crate::storage::SEGMENT;

/// The case of the attempt or document `declaration` names, if the caller may see it.
async fn target_case(
    state: &MediaState,
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
/// [`super::settled`] does): a body that follows is received as a PATCH at 0 would ([`super::Lease::Take`]:
/// 423 while an earlier request still holds it), which the route does only while the upload
/// stands at 0.
///
/// Until the answer nobody else knows the upload's id (a client whose creation was cut starts
/// a new one), so the body of a file smaller than a segment is received before anything is
/// written (no piece of it can be stored, and so acknowledged, before its end): its
/// row is written when the request ends, with the link or with the offset reached
/// ([`super::Lease::Unsaved`]). Otherwise the row is written now, leased to the request if a body
/// follows. If the object is stored already, the upload is finished at once. The record must be
/// in the caller's scope (404 otherwise).
pub async fn create(
    state: &MediaState,
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
    crate::db::uploads::insert(&state.db.write, &row).await?;
    Ok((row, Lease::Held))
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
