//! Media evidence: the kinds an upload may declare.

use serde::{Deserialize, Serialize};

use crate::cases::wire_enum;

wire_enum!(
    /// What an uploaded file is, as declared in the tus `Upload-Metadata` (`kind`).
    MediaKind {
        /// A photo of a visit or of a served notice.
        Photo => "photo",
        /// An audio recording of a persuasion attempt.
        Audio => "audio",
        /// A video recording.
        Video => "video",
        /// A scanned paper document.
        Document => "document",
    }
);

impl MediaKind {
    /// The largest file of this kind the server takes by default, in bytes.
    pub fn default_max_size(self) -> u64 {
        const MIB: u64 = 1024 * 1024;
        match self {
            Self::Photo => 30 * MIB,
            Self::Audio => 200 * MIB,
            Self::Video => 2048 * MIB,
            Self::Document => 50 * MIB,
        }
    }
}
