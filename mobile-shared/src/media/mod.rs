//! The media queue: photos and recordings attached to an attempt on the phone, kept in the
//! phone's directory and in its store until the server has them, so they survive restarts.
//!
//! A photo is prepared when it is attached: larger than the long edge, it is scaled down and
//! re-encoded as JPEG with its EXIF (capture time, GPS) carried over, from which the server reads
//! when and where it was taken. A recording is kept as it is. The prepared file's SHA-256 is what
//! the upload declares. Uploading ([`crate::Phone::sync`]) speaks tus and resumes from the last
//! offset the server confirmed.

mod prepare;
pub(crate) mod queue;

pub(crate) use prepare::prepare;
pub use prepare::{DEFAULT_LONG_EDGE, PrepareError};

use sync_protocol::AttemptId;
use sync_protocol::media::MediaKind;
use uuid::Uuid;

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
    /// Bytes of the prepared file.
    pub size: u64,
    /// SHA-256 of the prepared file, lowercase hex.
    pub sha256: String,
    /// Bytes the server has confirmed.
    pub sent: u64,
    /// Where it stands.
    pub state: MediaState,
    /// Why the server refused it, if it did.
    pub failure: Option<MediaFailure>,
}
