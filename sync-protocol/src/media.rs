//! Media evidence: the kinds an upload may declare.

use serde::{Deserialize, Serialize};

use crate::cases::{GeoPoint, wire_enum};
use crate::ids::{CaseId, MediaId, UserId};

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
    /// The types (sniffed from the bytes) a file of this kind may have.
    pub fn allowed_types(self) -> &'static [&'static str] {
        match self {
            Self::Photo => &["image/jpeg", "image/png", "image/webp", "image/heif"],
            Self::Audio => &[
                "audio/aac",
                "audio/m4a",
                "audio/amr",
                "audio/mpeg",
                "audio/ogg",
                "audio/opus",
                "audio/x-wav",
            ],
            Self::Document => &["application/pdf", "image/jpeg", "image/png"],
            Self::Video => &["video/mp4"],
        }
    }

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

/// A media object as pull carries it: what it is and where it belongs; the bytes are fetched
/// with `GET /api/v1/media/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaRef {
    /// The media object's id.
    pub id: MediaId,
    /// The SHA-256 of the original, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The declared kind.
    pub kind: MediaKind,
    /// The type sniffed from the bytes.
    pub content_type: String,
    /// The file name as sent.
    pub file_name: String,
    /// `attempt` or `document`.
    pub target_kind: String,
    /// The attempt or document.
    pub target_id: uuid::Uuid,
    /// The case.
    pub case_id: CaseId,
    /// Who uploaded it.
    pub uploaded_by: UserId,
    /// When it was stored.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the photo was taken: from its EXIF, else as the phone declared it.
    #[serde(default)]
    pub captured_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Where the photo was taken: from its EXIF GPS, else as the phone declared it.
    #[serde(default)]
    pub location: Option<GeoPoint>,
    /// A recording's length in milliseconds, probed from its bytes.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// For a photo's preview: the SHA-256 of the photo it previews, which follows (show the
    /// preview until a reference to that photo arrives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_of: Option<String>,
}

/// How the phones of this server prepare photos before they go up (`GET /api/v1/media/profile`):
/// a district on slow networks sets a smaller long side or quality, and every phone follows at its
/// next sync. Recordings and documents are sent as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaProfile {
    /// The longest side of a photo, in pixels: a larger one is scaled down to it.
    pub photo_long_side: u32,
    /// The JPEG quality (1–100) a scaled photo is encoded at.
    pub photo_quality: u8,
    /// The longest side of a photo's preview, sent before the photo itself so a supervisor sees
    /// the visit first (0: no previews).
    #[serde(default)]
    pub preview_long_side: u32,
}

impl Default for MediaProfile {
    /// 2048 px at quality 85: a 12-megapixel photo becomes about 400 KB; previews of 320 px,
    /// about 15 KB.
    fn default() -> Self {
        Self {
            photo_long_side: 2048,
            photo_quality: 85,
            preview_long_side: 320,
        }
    }
}

/// The `Upload-Metadata` key of a creation that names the phone's own key for the file (its
/// queue entry): a creation repeated with the same key by the same account, for the same file,
/// answers with the upload already made and its offset instead of starting another.
pub const CLIENT_KEY_METADATA: &str = "client_key";

/// The `Upload-Metadata` key of a photo's preview: the SHA-256 of the photo it previews.
pub const PREVIEW_OF_METADATA: &str = "preview_of";
