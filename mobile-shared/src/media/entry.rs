//! Preparing one queued file where it waits: the file made ready for the media profile, a
//! photo's preview queued beside it, and the outcome recorded. The sync does it before it sends
//! a file (on a blocking thread); a signature does it first, offline, so that it covers each file
//! as it will be sent.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use sync_protocol::media::{MediaKind, MediaProfile};
use uuid::Uuid;

use super::prepare::Prepared;
use super::{MediaFailure, PrepareError, QueuedMedia, prepare, preview, queue};
use crate::store::meta::{self, Key};
use crate::store::{Store, StoreError};

/// A queued file prepared: the file itself, and a photo's preview (with its queue entry's id)
/// when one is worth it.
#[derive(Debug)]
pub(crate) struct PreparedEntry {
    file: Prepared,
    preview: Option<(Uuid, Prepared)>,
}

/// The media profile files are prepared for: the server's as last heard (the default before
/// it was), with the long side the app set, if it set one.
pub(crate) fn profile(
    conn: &Connection,
    long_side: Option<u32>,
) -> Result<MediaProfile, StoreError> {
    let kept: Option<MediaProfile> = meta::get(conn, Key::MediaProfile)?;
    Ok(with_long_side(kept.unwrap_or_default(), long_side))
}

/// `profile` with the long side the app set, if it set one.
pub(crate) fn with_long_side(profile: MediaProfile, long_side: Option<u32>) -> MediaProfile {
    MediaProfile {
        photo_long_side: long_side.unwrap_or(profile.photo_long_side),
        ..profile
    }
}

/// Prepares the file of `entry`, kept in `media_dir` as attached, for `profile`, with a preview
/// of a photo. Blocking: decoding a 12-megapixel photo takes a while on a phone.
pub(crate) fn prepare_entry(
    media_dir: &Path,
    entry: &QueuedMedia,
    profile: MediaProfile,
) -> Result<PreparedEntry, PrepareError> {
    let dest = super::prepared_path(media_dir, entry.id);
    let original = super::original_path(media_dir, entry.id);
    let file = prepare(&original, &dest, entry.kind, profile)?;
    let preview_id = Uuid::now_v7();
    let preview_dest = super::prepared_path(media_dir, preview_id);
    // A preview is a courtesy: a photo that cannot be previewed goes without one.
    let preview = (entry.kind == MediaKind::Photo)
        .then(|| preview(&dest, &preview_dest, profile.preview_long_side))
        .and_then(Result::ok)
        .flatten()
        .map(|small| (preview_id, small));
    Ok(PreparedEntry { file, preview })
}

/// Records what preparing `entry` came to: the prepared file, with its preview queued and its
/// original copy gone; or the failure, for which the file is not tried again. Returns the
/// failure, if there was one.
pub(crate) fn settle(
    store: &Store,
    media_dir: &Path,
    entry: &QueuedMedia,
    outcome: Result<PreparedEntry, PrepareError>,
    now: DateTime<Utc>,
) -> Result<Option<MediaFailure>, StoreError> {
    let done = match outcome {
        Ok(done) => done,
        Err(e) => {
            let failure = MediaFailure {
                code: "unpreparable".into(),
                detail: e.to_string(),
            };
            store.write(|tx| queue::finish(tx, entry.id, Some(&failure)))?;
            return Ok(Some(failure));
        }
    };
    store.write(|tx| {
        queue::prepared(tx, entry.id, done.file.size, &done.file.sha256)?;
        if let Some((id, small)) = done.preview {
            let preview = QueuedMedia {
                id,
                file_name: format!("preview-{}", entry.file_name),
                size: small.size,
                sha256: small.sha256,
                prepared: true,
                preview_of: Some(done.file.sha256.clone()),
                ..entry.clone()
            };
            queue::add(tx, &preview, now)?;
        }
        Ok::<_, StoreError>(())
    })?;
    let _gone = std::fs::remove_file(super::original_path(media_dir, entry.id));
    Ok(None)
}
