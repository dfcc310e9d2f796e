//! What is derived from an original: its thumbnail. Decoding is heavy, so it runs in
//! `spawn_blocking` behind the state's semaphore, under `image::Limits`. A photo that cannot be
//! decoded is still evidence: it simply has no thumbnail.

use std::io::Cursor;

use bytes::Bytes;

use crate::state::AppState;

/// The longest side of a thumbnail.
pub const THUMBNAIL_SIDE: u32 = 320;

/// Decodes `original` under limits and encodes a JPEG thumbnail.
fn thumbnail_of(original: &[u8]) -> Result<Vec<u8>, image::ImageError> {
    let mut reader = image::ImageReader::new(Cursor::new(original)).with_guessed_format()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(super::uploads::MAX_SIDE);
    limits.max_image_height = Some(super::uploads::MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let picture = reader
        .decode()?
        .thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
        .into_rgb8();
    let mut out = Cursor::new(Vec::new());
    picture.write_to(&mut out, image::ImageFormat::Jpeg)?;
    Ok(out.into_inner())
}

/// Makes and stores the thumbnail of the image original `sha256`, unless it has one.
pub async fn make_thumbnail(state: &AppState, sha256: &str) -> anyhow::Result<()> {
    if state.storage.thumbnail(sha256).await?.is_some() {
        return Ok(());
    }
    let original = state.storage.read_all(sha256).await?;
    let _permit = state.heavy.acquire().await?;
    let made = tokio::task::spawn_blocking(move || thumbnail_of(&original)).await?;
    match made {
        Ok(jpeg) => {
            state
                .storage
                .put_thumbnail(sha256, Bytes::from(jpeg))
                .await?
        }
        Err(e) => tracing::warn!(sha256, error = %e, "no thumbnail: the image does not decode"),
    }
    Ok(())
}
