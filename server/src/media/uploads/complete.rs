//! An upload's last byte has arrived: its type and size are checked from its first bytes, the
//! file is stored under its hash (or refused, and removed, if it is not what was declared), and
//! linked.

use bytes::Bytes;
use sync_protocol::ErrorCode;

use super::lease::Lease;
use super::link::link;
use super::{end::terminate, incoming, storage_error};
use crate::db::entity::upload;
use crate::error::ApiError;
use crate::media::MediaState;
use crate::media::sniff::{HEADER_BYTES, allowed_type, check_dimensions};
use crate::storage::{StorageError, Stored, Streamed};

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
    state: &MediaState,
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
                crate::media::derive::thumbnail_later(state, &linked.sha256);
            }
            Ok(linked)
        }
        Err(StorageError::Mismatch { actual_sha256, .. }) => {
            crate::db::uploads::delete(&state.db.write, row.id).await?;
            Err(ApiError::invalid(
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
