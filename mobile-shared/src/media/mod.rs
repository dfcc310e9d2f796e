//! The media queue: photos and recordings attached to an attempt on the phone, kept in the
//! phone's directory and in its store until the server has them, so they survive restarts.
//!
//! Attaching copies the file into the queue and returns at once. A photo is prepared by the
//! sync, before it is sent: larger than the server's media profile allows, it is scaled down and
//! re-encoded as JPEG with its EXIF (capture time, GPS) carried over, from which the server reads
//! when and where it was taken. A recording is kept as it is. The prepared file's SHA-256 is what
//! the upload declares. Uploading ([`crate::Phone::sync`]) speaks tus and resumes from the last
//! offset the server confirmed.

mod entry;
mod prepare;
pub(crate) mod queue;

pub(crate) use entry::{prepare_entry, profile, settle, with_long_side};
pub use prepare::PrepareError;
pub(crate) use prepare::{prepare, preview};

use std::path::{Path, PathBuf};

use sync_protocol::media::MediaKind;
use sync_protocol::{AttemptId, DocumentId};
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

/// What a queued file is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceOf {
    /// A persuasion attempt (a photo of the visit, a recording of the talk).
    Attempt(AttemptId),
    /// A document (a photo or scan of the paper).
    Document(DocumentId),
}

impl EvidenceOf {
    /// The record's kind as the server names it (`attempt`, `document`).
    pub fn kind(self) -> &'static str {
        match self {
            Self::Attempt(_) => "attempt",
            Self::Document(_) => "document",
        }
    }

    /// The upload metadata key that names the record (`attempt_id`, `document_id`).
    pub fn metadata_key(self) -> &'static str {
        match self {
            Self::Attempt(_) => "attempt_id",
            Self::Document(_) => "document_id",
        }
    }

    /// The record's id.
    pub fn id(self) -> Uuid {
        match self {
            Self::Attempt(id) => id.0,
            Self::Document(id) => id.0,
        }
    }

    /// The record of `kind` with `id`, as stored (an unknown kind is an attempt, as every entry
    /// was before documents had files).
    pub(crate) fn stored(kind: &str, id: Uuid) -> Self {
        match kind {
            "document" => Self::Document(DocumentId(id)),
            _ => Self::Attempt(AttemptId(id)),
        }
    }
}

/// A file in the media queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMedia {
    /// The queue entry.
    pub id: Uuid,
    /// The attempt or document it is evidence of.
    pub of: EvidenceOf,
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
