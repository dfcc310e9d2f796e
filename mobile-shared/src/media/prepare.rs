//! Preparing a file for the queue: photos scaled down to a long edge with their EXIF kept,
//! everything else copied as it is; either way hashed.

use std::io::Cursor;
use std::path::Path;

use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use image::{DynamicImage, ImageDecoder as _, ImageEncoder as _};
use sha2::{Digest as _, Sha256};
use sync_protocol::media::{MediaKind, MediaProfile};

/// Why a file could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// The file could not be read or the copy written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A photo larger than the long edge that is not a JPEG that decodes.
    #[error("{path}: not a photo this phone can scale down: {source}")]
    Image {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: image::ImageError,
    },
}

/// A prepared file: its bytes are at the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prepared {
    /// Bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// Prepares `source` of `kind` into `dest` for `profile`: a JPEG photo whose long side exceeds
/// the profile's is scaled down and re-encoded at its quality with its EXIF; any other file is
/// copied byte for byte.
pub(crate) fn prepare(
    source: &Path,
    dest: &Path,
    kind: MediaKind,
    profile: MediaProfile,
) -> Result<Prepared, PrepareError> {
    let original = std::fs::read(source).map_err(io_error(source))?;
    let bytes = match kind {
        MediaKind::Photo if is_jpeg(&original) => scaled_down(
            &original,
            profile.photo_long_side,
            profile.photo_quality,
            true,
        )
        .map_err(image_error(source))?,
        _ => None,
    }
    .unwrap_or(original);
    write(dest, &bytes)
}

/// Quality of a preview: small matters more than fine detail.
const PREVIEW_QUALITY: u8 = 70;

/// A photo of at most this many bytes gets no preview: it goes up about as fast as one would.
const PREVIEW_WORTH: usize = 64 * 1024;

/// Makes a preview of the prepared photo at `photo` into `dest`: scaled to `long_side`, without
/// its EXIF (the photo carries it). `None` when a preview is not worth it (not a JPEG, no larger
/// than a preview, or small enough to go up as fast as one).
pub(crate) fn preview(
    photo: &Path,
    dest: &Path,
    long_side: u32,
) -> Result<Option<Prepared>, PrepareError> {
    let bytes = std::fs::read(photo).map_err(io_error(photo))?;
    if long_side == 0 || bytes.len() <= PREVIEW_WORTH || !is_jpeg(&bytes) {
        return Ok(None);
    }
    match scaled_down(&bytes, long_side, PREVIEW_QUALITY, false).map_err(image_error(photo))? {
        Some(small) => write(dest, &small).map(Some),
        None => Ok(None),
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PrepareError {
    let path = path.display().to_string();
    move |source| PrepareError::Io { path, source }
}

fn image_error(path: &Path) -> impl FnOnce(image::ImageError) -> PrepareError {
    let path = path.display().to_string();
    move |source| PrepareError::Image { path, source }
}

/// Writes `bytes` to `dest` (making its folder) and hashes them.
fn write(dest: &Path, bytes: &[u8]) -> Result<Prepared, PrepareError> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    std::fs::write(dest, bytes).map_err(io_error(dest))?;
    Ok(Prepared {
        size: bytes.len() as u64,
        sha256: hex(&Sha256::digest(bytes)),
    })
}

fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// The JPEG `original` scaled down so its long side is `long_side`, at `quality`, with its
/// EXIF if `keep_exif`; `None` if it is small enough already.
fn scaled_down(
    original: &[u8],
    long_side: u32,
    quality: u8,
    keep_exif: bool,
) -> image::ImageResult<Option<Vec<u8>>> {
    let long_edge = long_side.max(1);
    let mut decoder = JpegDecoder::new(Cursor::new(original))?;
    let (width, height) = decoder.dimensions();
    if width.max(height) <= long_edge {
        return Ok(None);
    }
    let exif = if keep_exif {
        decoder.exif_metadata()?
    } else {
        None
    };
    let picture = DynamicImage::from_decoder(decoder)?
        .resize(long_edge, long_edge, image::imageops::FilterType::Triangle)
        .into_rgb8();
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100));
    if let Some(exif) = exif {
        // Only fails for formats without EXIF; JPEG has it.
        let _ = encoder.set_exif_metadata(exif);
    }
    encoder.write_image(
        picture.as_raw(),
        picture.width(),
        picture.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(Some(out))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbImage::from_pixel(width, height, image::Rgb([90, 140, 200]));
        let mut out = Cursor::new(Vec::new());
        picture
            .write_to(&mut out, image::ImageFormat::Jpeg)
            .expect("encoding in memory");
        out.into_inner()
    }

    fn prepared(bytes: &[u8], kind: MediaKind) -> (Prepared, Vec<u8>) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (source, dest) = (dir.path().join("in"), dir.path().join("queue").join("out"));
        std::fs::write(&source, bytes).expect("writing the source");
        let profile = MediaProfile {
            photo_long_side: 100,
            photo_quality: 85,
            preview_long_side: 20,
        };
        let done = prepare(&source, &dest, kind, profile).expect("preparing");
        (
            done,
            std::fs::read(&dest).expect("reading the prepared file"),
        )
    }

    #[test]
    fn a_preview_is_the_photo_at_the_preview_side_and_none_for_a_small_one() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (photo, small) = (dir.path().join("photo"), dir.path().join("preview"));
        // Noise, so that the photo is as large as a camera's.
        let mut state = 7u32;
        let noisy = image::RgbImage::from_fn(400, 200, |_, _| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let [r, g, b, _] = state.to_le_bytes();
            image::Rgb([r, g, b])
        });
        let mut encoded = Cursor::new(Vec::new());
        noisy
            .write_to(&mut encoded, image::ImageFormat::Jpeg)
            .expect("encoding in memory");
        let encoded = encoded.into_inner();
        assert!(encoded.len() > PREVIEW_WORTH, "{} bytes", encoded.len());
        std::fs::write(&photo, &encoded).expect("writing the photo");
        let done = preview(&photo, &small, 20)
            .expect("previewing")
            .expect("a preview of a larger photo");
        let bytes = std::fs::read(&small).expect("reading the preview");
        let size = image::load_from_memory(&bytes).expect("decodes");
        assert_eq!((size.width(), size.height()), (20, 10));
        assert_eq!(done.sha256, hex(&Sha256::digest(&bytes)));
        assert_eq!(preview(&photo, &small, 400).expect("previewing"), None);
        assert_eq!(preview(&photo, &small, 0).expect("previewing"), None);
        std::fs::write(&photo, jpeg(400, 200)).expect("writing a small photo");
        assert_eq!(
            preview(&photo, &small, 20).expect("previewing"),
            None,
            "a photo as small as a preview goes without one"
        );
    }

    #[test]
    fn a_large_photo_is_scaled_to_the_long_edge_keeping_its_shape() {
        let (done, bytes) = prepared(&jpeg(400, 200), MediaKind::Photo);
        let size = image::load_from_memory(&bytes).expect("decodes");
        assert_eq!((size.width(), size.height()), (100, 50));
        assert_eq!(done.size, bytes.len() as u64);
        assert_eq!(done.sha256, hex(&Sha256::digest(&bytes)));
    }

    #[test]
    fn small_photos_and_recordings_are_kept_byte_for_byte() {
        let small = jpeg(80, 60);
        assert_eq!(prepared(&small, MediaKind::Photo).1, small);
        let large_as_audio = jpeg(400, 200);
        assert_eq!(
            prepared(&large_as_audio, MediaKind::Audio).1,
            large_as_audio,
            "only photos are scaled"
        );
    }
}
