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
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| PrepareError::Io { path, source }
    };
    let original = std::fs::read(source).map_err(io(source))?;
    let bytes = match kind {
        MediaKind::Photo if is_jpeg(&original) => {
            scaled_down(&original, profile).map_err(|e| PrepareError::Image {
                path: source.display().to_string(),
                source: e,
            })?
        }
        _ => None,
    }
    .unwrap_or(original);
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::write(dest, &bytes).map_err(io(dest))?;
    Ok(Prepared {
        size: bytes.len() as u64,
        sha256: hex(&Sha256::digest(&bytes)),
    })
}

fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// The JPEG `original` scaled down so its long side is the profile's, with its EXIF; `None` if
/// it is small enough already.
fn scaled_down(original: &[u8], profile: MediaProfile) -> image::ImageResult<Option<Vec<u8>>> {
    let long_edge = profile.photo_long_side.max(1);
    let mut decoder = JpegDecoder::new(Cursor::new(original))?;
    let (width, height) = decoder.dimensions();
    if width.max(height) <= long_edge {
        return Ok(None);
    }
    let exif = decoder.exif_metadata()?;
    let picture = DynamicImage::from_decoder(decoder)?
        .resize(long_edge, long_edge, image::imageops::FilterType::Triangle)
        .into_rgb8();
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, profile.photo_quality.clamp(1, 100));
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
        };
        let done = prepare(&source, &dest, kind, profile).expect("preparing");
        (
            done,
            std::fs::read(&dest).expect("reading the prepared file"),
        )
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
