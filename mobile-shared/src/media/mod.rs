//! The media queue: photos and recordings attached to an attempt on the phone, kept in the
//! phone's directory and in its store until the server has them, so they survive restarts.
//!
//! Attaching copies the file into the queue and returns at once. A photo is prepared by the
//! sync, before it is sent: larger than the server's media profile allows, it is scaled down and
//! re-encoded as JPEG with its EXIF (capture time, GPS) carried over, from which the server reads
//! when and where it was taken. A recording is kept as it is. The prepared file's SHA-256 is what
//! the upload declares. Uploading ([`crate::Phone::sync`]) speaks tus and resumes from the last
//! offset the server confirmed.

mod prepare;
pub(crate) mod queue;

pub use prepare::PrepareError;
pub(crate) use prepare::{prepare, preview};

use std::path::{Path, PathBuf};

use sync_protocol::AttemptId;
use sync_protocol::media::MediaKind;
use uuid::Uuid;

/// Where the file of queue entry `id` is kept as attached, until it is prepared.
pub(crate) fn original_path(media_dir: &Path, id: Uuid) -> PathBuf {
    media_dir.join(format!("{id}.original"))
}

/// Where the prepared file of queue entry `id` is kept until the server has it.
pub(crate) fn prepared_path(media_dir: &Path, id: Uuid) -> PathBuf {
    media_dir.join(id.to_string())
}

/// Where a queued file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaState {
    /// Waiting to be sent, or partly sent.
    Queued,
    /// The server has it, linked to its attempt.
    Done,
    /// The server refused it (see [`QueuedMedia::failure`]); it is not sent again.
    Failed,
}

impl MediaState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => Self::Queued,
        }
    }
}

/// Why the server refused a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFailure {
    /// The server's stable error code (`unsupported_media_type`, `too_large`…).
    pub code: String,
    /// The server's words.
    pub detail: String,
}

/// A file in the media queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMedia {
    /// The queue entry.
    pub id: Uuid,
    /// The attempt it is evidence of.
    pub attempt_id: AttemptId,
    /// What it is.
    pub kind: MediaKind,
    /// The name it is sent under.
    pub file_name: String,
    /// Bytes of the prepared file (of the file as attached, until it is prepared).
    pub size: u64,
    /// SHA-256 of the prepared file, lowercase hex (empty until it is prepared).
    pub sha256: String,
    /// Bytes the server has confirmed.
    pub sent: u64,
    /// Where it stands.
    pub state: MediaState,
    /// Why the server refused it (or the phone could not prepare it), if so.
    pub failure: Option<MediaFailure>,
    /// Whether it is ready to send (a photo scaled to the media profile, hashed).
    pub prepared: bool,
    /// For a photo's preview (made when the photo is prepared, sent before it): the SHA-256 of
    /// the photo.
    pub preview_of: Option<String>,
}
