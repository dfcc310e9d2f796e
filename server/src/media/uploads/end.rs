//! An upload's end short of its link: terminated by its client, or expired (tus expiration) and
//! swept with the bytes of uploads that never got a row.

use axum::extract::FromRef;
use chrono::{Duration, Utc};

use super::{incoming, storage_error};
use crate::db::entity::upload;
use crate::error::ApiError;
use crate::media::MediaState;
use crate::storage::Incoming;

/// How long an unfinished upload is kept.
pub const EXPIRY: Duration = Duration::hours(24);

/// Ends an upload and deletes what it had received.
pub async fn terminate(state: &MediaState, row: upload::Model) -> Result<(), ApiError> {
    state
        .storage
        .delete_segments(&incoming(&row), 0)
        .await
        .map_err(storage_error)?;
    crate::db::uploads::delete(&state.db.write, row.id).await?;
    Ok(())
}

/// Deletes every upload past its expiry and its segments, and the bytes of uploads that never
/// got a row (a server stopped while receiving a creation's body: see [`super::Lease::Unsaved`]) left
/// untouched for as long; returns how many uploads went.
pub async fn expire(state: &MediaState) -> Result<usize, ApiError> {
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

/// Every ten minutes, deletes expired uploads (tus expiration); runs for the server's lifetime
/// on the media part of `state`.
pub fn sweep_expired<S>(state: S) -> impl Future<Output = ()> + Send + 'static
where
    MediaState: FromRef<S>,
{
    let state = MediaState::from_ref(&state);
    async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            match expire(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "expired uploads removed"),
                Err(e) => {
                    tracing::warn!(error = ?e, "removing expired uploads failed; will try again")
                }
            }
        }
    }
}
