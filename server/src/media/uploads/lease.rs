//! Who holds an upload: the request writing it holds a lease, renewed as bytes arrive and let go
//! when it ends; another request waits for it (HEAD), is refused (423), or takes it over when
//! the instance holding it no longer runs.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use sync_protocol::ErrorCode;
use uuid::Uuid;

use super::busy;
use crate::auth::AuthUser;
use crate::db::entity::upload;
use crate::db::uploads::Free;
use crate::error::ApiError;
use crate::media::MediaState;

/// The upload `id` of `user` that has not expired.
pub async fn find(
    state: &MediaState,
    user: &AuthUser,
    id: Uuid,
) -> Result<upload::Model, ApiError> {
    lookup(state, user, id)
        .await?
        .ok_or_else(|| ApiError::not_found("upload"))
}

/// The upload `id` of `user` if it has not expired.
async fn lookup(
    state: &MediaState,
    user: &AuthUser,
    id: Uuid,
) -> Result<Option<upload::Model>, sea_orm::DbErr> {
    crate::db::uploads::find_unexpired(&state.db.write, user.id, id, Utc::now()).await
}

/// How long `HEAD` waits for a PATCH that holds the upload.
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The upload `id` of `user` once no PATCH holds it, or as it stands after waiting a few seconds
/// for that.
pub async fn settled(
    state: &MediaState,
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
pub(super) async fn settle(
    state: &MediaState,
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
async fn held_by_a_running_instance(
    state: &MediaState,
    row: &upload::Model,
) -> anyhow::Result<bool> {
    if row.busy_until.is_none_or(|until| until <= Utc::now()) {
        return Ok(false);
    }
    match row.busy_by {
        Some(holder) => state.instance.is_running(holder).await,
        None => Ok(true),
    }
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
    state: &MediaState,
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

/// Holds upload `id` for the request receiving it until `until`; `None` lets it go.
pub(super) async fn hold(
    state: &MediaState,
    id: Uuid,
    until: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    let lease = until.map(|until| (until, state.instance.id()));
    crate::db::uploads::hold(&state.db.write, id, lease).await?;
    Ok(())
}

/// Moves the offset, with `hash_state`, the hash of the bytes up to it (see [`crate::media::upload_hash`]);
/// `release` ends the PATCH's lease, otherwise it is renewed.
pub(super) async fn set_offset(
    state: &MediaState,
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
