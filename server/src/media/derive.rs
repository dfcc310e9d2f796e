//! What is derived from an original: its thumbnail, made after the upload finishes (or when first
//! asked for, if that comes sooner). Decoding is heavy, so it runs in `spawn_blocking` behind the
//! state's semaphore, under `image::Limits`. A photo that cannot be decoded is still evidence: it
//! simply has no thumbnail.

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

/// The thumbnail of the image original `sha256`: the stored one, else made now and stored.
/// `None` if the image does not decode.
pub async fn thumbnail(state: &AppState, sha256: &str) -> anyhow::Result<Option<Bytes>> {
    if let Some(jpeg) = state.storage.thumbnail(sha256).await? {
        return Ok(Some(jpeg));
    }
    let original = state.storage.read_all(sha256).await?;
    let _permit = state.heavy.acquire().await?;
    let made = tokio::task::spawn_blocking(move || thumbnail_of(&original)).await?;
    match made {
        Ok(jpeg) => {
            let jpeg = Bytes::from(jpeg);
            state.storage.put_thumbnail(sha256, jpeg.clone()).await?;
            Ok(Some(jpeg))
        }
        Err(e) => {
            tracing::warn!(sha256, error = %e, "no thumbnail: the image does not decode");
            Ok(None)
        }
    }
}

/// Makes the thumbnail of the image original `sha256` in the background, so that an upload's
/// answer does not wait for decoding; a request that comes first makes it itself.
pub fn thumbnail_later(state: &AppState, sha256: &str) {
    let (state, sha256) = (state.clone(), sha256.to_owned());
    tokio::spawn(async move {
        let Ok(_turn) = state.background.acquire().await else {
            return;
        };
        if let Err(e) = thumbnail(&state, &sha256).await {
            tracing::warn!(sha256, error = %e, "making a thumbnail failed; it is made when asked for");
        }
    });
}
