//! What a file's first bytes say it is: its type, which the kind must allow (the declared name
//! and the client's `Content-Type` are not trusted), and for an image its dimensions, read from
//! the header alone so that a decompression bomb is refused before anything is decoded.

use axum::http::StatusCode;
use sync_protocol::ErrorCode;
use sync_protocol::media::MediaKind;

use crate::error::ApiError;

/// The type sniffed from `head` if a file of `kind` may have it (the declared name and the
/// client's Content-Type are not trusted).
pub fn allowed_type(kind: &str, head: &[u8]) -> Result<&'static str, ApiError> {
    let kind: MediaKind = kind.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let sniffed = infer::get(head).map(|t| t.mime_type());
    match sniffed {
        Some(t) if kind.allowed_types().contains(&t) => Ok(t),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            format!(
                "a file of kind `{}` must be one of {}; this file is {}; it was not kept",
                kind.as_str(),
                kind.allowed_types().join(", "),
                sniffed.unwrap_or("of no known type")
            ),
        )),
    }
}

/// Most pixels an image may declare (about 50 megapixels: far above any phone camera).
pub const MAX_PIXELS: u64 = 50_000_000;

/// Longest side an image may declare.
pub const MAX_SIDE: u32 = 20_000;

/// Bytes read to find an image's dimensions (JPEG puts them after EXIF, up to 64 KiB and more).
pub(super) const HEADER_BYTES: u64 = 512 * 1024;

/// Refuses an image whose header declares more pixels than the server will ever decode, from
/// the header alone (nothing is decoded). Types the decoder does not know (HEIC) pass here.
pub fn check_dimensions(content_type: &str, head: &[u8]) -> Result<(), ApiError> {
    let format = match content_type {
        "image/jpeg" => image::ImageFormat::Jpeg,
        "image/png" => image::ImageFormat::Png,
        "image/webp" => image::ImageFormat::WebP,
        _ => return Ok(()),
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(head), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(64 * 1024 * 1024);
    reader.limits(limits);
    let refused = |detail: String| ApiError::invalid(ErrorCode::ImageTooLarge, detail);
    let (width, height) = reader.into_dimensions().map_err(|e| {
        refused(format!(
            "the image's dimensions cannot be read, or exceed {MAX_SIDE} pixels a side: {e}"
        ))
    })?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(refused(format!(
            "the image declares {width}×{height} pixels; at most {MAX_PIXELS} are decoded"
        )));
    }
    Ok(())
}
