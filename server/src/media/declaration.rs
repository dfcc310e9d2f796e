//! What a creation declares (tus `Upload-Length` and `Upload-Metadata`): the kind, the whole
//! file's SHA-256 and length, its name, the attempt or document it is evidence of, when and
//! where the phone says it was made, and the phone's own key for it; refused with a problem that
//! says what is wrong.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use sync_protocol::ErrorCode;
use sync_protocol::media::{CLIENT_KEY_METADATA, MediaKind, PREVIEW_OF_METADATA};
use uuid::Uuid;

use super::probe;
use crate::config::MediaLimits;
use crate::error::ApiError;

pub(super) fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::invalid_parameter(detail)
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs.
pub fn parse_metadata(header: &str) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let bytes = B64
            .decode(value.trim())
            .map_err(|_| bad(format!("Upload-Metadata `{key}` is not base64")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| bad(format!("Upload-Metadata `{key}` is not UTF-8")))?;
        out.insert(key.to_owned(), text);
    }
    Ok(out)
}

/// What a creation declares.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// The kind.
    pub kind: MediaKind,
    /// The SHA-256 of the whole file, lowercase hex.
    pub sha256: String,
    /// The file name.
    pub file_name: String,
    /// `attempt` or `document`.
    pub target_kind: &'static str,
    /// The attempt or document.
    pub target_id: Uuid,
    /// The whole length.
    pub length: u64,
    /// When and where the phone says the file was made (`captured_at` in RFC 3339, `lat`,
    /// `lon`); the file's own EXIF wins.
    pub origin: probe::Origin,
    /// The phone's own key for the file (`client_key`): a creation repeated with it answers the
    /// upload already made (see [`super::uploads::repeated`]).
    pub client_key: Option<String>,
    /// For a photo's preview (`preview_of`): the SHA-256 of the photo it previews.
    pub preview_of: Option<String>,
}

/// The largest preview of a photo, in bytes (one at 320 px is about 10–20 KB).
pub const MAX_PREVIEW_BYTES: u64 = 256 * 1024;

/// The longest `client_key`.
const CLIENT_KEY_MAX: usize = 100;

/// The optional `client_key` of `Upload-Metadata`: 1 to [`CLIENT_KEY_MAX`] characters of
/// printable ASCII (space to `~`).
fn client_key(metadata: &HashMap<String, String>) -> Result<Option<String>, ApiError> {
    let Some(key) = metadata.get(CLIENT_KEY_METADATA) else {
        return Ok(None);
    };
    if !key.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return Err(bad(format!(
            "`{CLIENT_KEY_METADATA}` must be printable ASCII (space to `~`)"
        )));
    }
    // ASCII: as many characters as bytes.
    if key.is_empty() || key.len() > CLIENT_KEY_MAX {
        return Err(bad(format!(
            "`{CLIENT_KEY_METADATA}` must be 1 to {CLIENT_KEY_MAX} characters, not {}",
            key.len()
        )));
    }
    Ok(Some(key.clone()))
}

/// The optional `captured_at`, `lat` and `lon` of `Upload-Metadata`.
fn declared_origin(metadata: &HashMap<String, String>) -> Result<probe::Origin, ApiError> {
    let captured_at = metadata
        .get("captured_at")
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| bad(format!("`captured_at` is not an RFC 3339 time: {e}")))
        })
        .transpose()?;
    let degrees = |key: &str, limit: f64| {
        metadata
            .get(key)
            .map(|v| match v.trim().parse::<f64>() {
                Ok(d) if d.abs() <= limit => Ok(d),
                _ => Err(bad(format!(
                    "`{key}` must be degrees between -{limit} and {limit}, not `{v}`"
                ))),
            })
            .transpose()
    };
    let location = match (degrees("lat", 90.0)?, degrees("lon", 180.0)?) {
        (Some(lat), Some(lon)) => Some((lat, lon)),
        (None, None) => None,
        _ => return Err(bad("`lat` and `lon` come together or not at all")),
    };
    Ok(probe::Origin {
        captured_at,
        location,
    })
}

/// Reads and checks a creation's headers against the size `limits`.
pub fn declaration(headers: &HeaderMap, limits: &MediaLimits) -> Result<Declaration, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let length: u64 = header("upload-length")
        .ok_or_else(|| bad("Upload-Length is required (deferred length is not supported)"))?
        .parse()
        .map_err(|_| bad("Upload-Length is not a whole number"))?;
    if length == 0 {
        return Err(bad("Upload-Length is 0: an empty file is no evidence"));
    }
    let metadata = parse_metadata(header("upload-metadata").unwrap_or_default())?;
    let field = |key: &str| {
        metadata
            .get(key)
            .cloned()
            .ok_or_else(|| bad(format!("Upload-Metadata needs `{key}`")))
    };
    let kind: MediaKind = field("kind")?.parse().map_err(bad)?;
    let sha256 = digest(&field("sha256")?, "sha256")?;
    let file_name = field("filename")?;
    let (target_kind, target) = match (metadata.get("attempt_id"), metadata.get("document_id")) {
        (Some(id), None) => ("attempt", id),
        (None, Some(id)) => ("document", id),
        _ => {
            return Err(bad(
                "Upload-Metadata needs exactly one of `attempt_id` and `document_id`",
            ));
        }
    };
    let target_id = target
        .parse()
        .map_err(|_| bad(format!("`{target_kind}_id` is not a UUID")))?;
    let max = limits.max_size(kind);
    if length > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!(
                "a {} may be at most {max} bytes, not {length}",
                kind.as_str()
            ),
        ));
    }
    let origin = declared_origin(&metadata)?;
    let client_key = client_key(&metadata)?;
    let preview_of = metadata
        .get(PREVIEW_OF_METADATA)
        .map(|of| digest(of, PREVIEW_OF_METADATA))
        .transpose()?;
    if preview_of.is_some() {
        if kind != MediaKind::Photo {
            return Err(bad(format!(
                "`{PREVIEW_OF_METADATA}` is for photos, not a {}",
                kind.as_str()
            )));
        }
        if length > MAX_PREVIEW_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("a preview may be at most {MAX_PREVIEW_BYTES} bytes, not {length}"),
            ));
        }
    }
    Ok(Declaration {
        kind,
        sha256,
        file_name,
        target_kind,
        target_id,
        length,
        origin,
        client_key,
        preview_of,
    })
}

/// A SHA-256 named in `Upload-Metadata` under `key`: 64 hex digits, kept in lowercase.
fn digest(value: &str, key: &str) -> Result<String, ApiError> {
    let value = value.to_lowercase();
    if value.len() != 64 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(format!(
            "Upload-Metadata `{key}` must be 64 hex digits"
        )));
    }
    Ok(value)
}
