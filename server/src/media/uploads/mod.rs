//! The life of a resumable upload, in the order one goes, a file per step: created for a record
//! the caller may see (`create.rs`), held by the request that writes it (`lease.rs`), its body
//! received piece by piece (`receive.rs`), checked and stored when its last byte arrives
//! (`complete.rs`), and linked to its record as evidence (`link.rs`); or its end short of that:
//! terminated, or expired and cleaned up (`end.rs`). The routes ([`super::routes`]) call the
//! entry points re-exported here.

mod complete;
mod create;
mod end;
mod lease;
mod link;
mod receive;

pub use create::{create, repeated};
pub use end::{EXPIRY, expire, sweep_expired, terminate};
pub use lease::{Lease, find, settled};
pub use link::record_media;
pub use receive::receive;

use axum::http::StatusCode;
use sync_protocol::ErrorCode;

use crate::db::entity::upload;
use crate::error::ApiError;
use crate::storage::{Incoming, StorageError};

/// The answer to a failure of the media store.
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

/// The upload `row` as the store keeps it.
pub(super) fn incoming(row: &upload::Model) -> Incoming {
    Incoming {
        id: row.id,
        sha256: row.sha256.clone(),
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
