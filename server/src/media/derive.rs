//! What is derived from an original: its thumbnail, made after the upload finishes (or when first
//! asked for, if that comes sooner), and from the thumbnail the photo's perceptual hash, which
//! flags a re-encoded copy of another attempt's photo (`plausibility::raise::perceptual`). Decoding is heavy and runs off the async threads, under
//! `image::Limits`: when asked for, in `spawn_blocking` behind the state's semaphore; in the
//! background, one at a time, once uploads pause, on a thread of the idle scheduling class, so
//! that requests (uploads, syncs) keep the cores. A photo that cannot be decoded is still
//! evidence: it simply has no thumbnail, and is not decoded again.

use std::io::Cursor;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{AcquireError, Semaphore, SemaphorePermit};
use tokio::time::Instant;

use crate::media::MediaState;

/// The longest side of a thumbnail.
pub const THUMBNAIL_SIDE: u32 = 320;

/// How long no upload may have started or ended before background work begins.
const QUIET: Duration = Duration::from_millis(100);
/// The longest background work waits for such a pause: under a steady stream of uploads it
/// still goes on, a piece at least this often.
const LONGEST_WAIT: Duration = Duration::from_secs(5);

/// Turns of background work (thumbnails of finished uploads): one at a time, and only once
/// uploads pause. Even in the idle scheduling class, decoding next to a burst of uploads slows
/// each by 1–2 ms of about 10 on a two-core machine (caches and the host's cores are shared),
/// while a phone on a village link sends for minutes without starting or ending a request:
/// work that can wait for a pause does.
#[derive(Debug)]
pub struct Background {
    turn: Semaphore,
    /// When an upload request last started or ended.
    last_upload: Mutex<Instant>,
}

impl Default for Background {
    fn default() -> Self {
        Self {
            turn: Semaphore::new(1),
            last_upload: Mutex::new(Instant::now()),
        }
    }
}

impl Background {
    /// Notes that an upload request starts or ends now.
    pub fn upload_moved(&self) {
        *self
            .last_upload
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
    }

    /// The turn, once the work before is done.
    async fn turn(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.turn.acquire().await
    }

    /// Returns once no upload request has started or ended for [`QUIET`], or after
    /// [`LONGEST_WAIT`].
    async fn pause(&self) {
        let deadline = Instant::now() + LONGEST_WAIT;
        loop {
            let calm = *self
                .last_upload
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                + QUIET;
            if calm <= Instant::now() || deadline <= Instant::now() {
                return;
            }
            tokio::time::sleep_until(calm.min(deadline)).await;
        }
    }
}

/// Decodes `original` under limits and encodes a JPEG thumbnail.
fn thumbnail_of(original: &[u8]) -> Result<Vec<u8>, image::ImageError> {
    let mut reader = image::ImageReader::new(Cursor::new(original)).with_guessed_format()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(super::sniff::MAX_SIDE);
    limits.max_image_height = Some(super::sniff::MAX_SIDE);
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

/// Stores the thumbnail `made` of the original `sha256`; `None` if the image did not decode,
/// which is remembered as an empty thumbnail (no JPEG is empty), so it is never decoded again.
async fn keep(
    state: &MediaState,
    sha256: &str,
    made: Result<Vec<u8>, image::ImageError>,
) -> anyhow::Result<Option<Bytes>> {
    let jpeg = match made {
        Ok(jpeg) => Bytes::from(jpeg),
        Err(e) => {
            tracing::warn!(sha256, error = %e, "no thumbnail: the image does not decode");
            Bytes::new()
        }
    };
    state.storage.put_thumbnail(sha256, jpeg.clone()).await?;
    if let Ok(picture) = image::load_from_memory(&jpeg) {
        let hash = crate::plausibility::difference_hash(&picture);
        let t = &state.flags;
        if let Err(e) =
            crate::plausibility::raise::perceptual(&state.db.write, t, sha256, hash).await
        {
            tracing::warn!(sha256, error = %e, "no perceptual hash kept for the photo");
        }
    }
    Ok(Some(jpeg).filter(|j| !j.is_empty()))
}

/// The thumbnail of the image original `sha256`: the stored one, else made now and stored.
/// `None` if the image does not decode (found out once, then remembered).
pub async fn thumbnail(state: &MediaState, sha256: &str) -> anyhow::Result<Option<Bytes>> {
    if let Some(jpeg) = state.storage.thumbnail(sha256).await? {
        return Ok(Some(jpeg).filter(|j| !j.is_empty()));
    }
    let original = state.storage.read_all(sha256).await?;
    let _permit = state.heavy.acquire().await?;
    let made = tokio::task::spawn_blocking(move || thumbnail_of(&original)).await?;
    keep(state, sha256, made).await
}

/// Makes the thumbnail of the image original `sha256` in the background, so that an upload's
/// answer does not wait for decoding; a request that comes first makes it itself. The file is
/// read from the store when its turn comes (nothing waits in memory).
pub fn thumbnail_later(state: &MediaState, sha256: &str) {
    let (state, sha256) = (state.clone(), sha256.to_owned());
    tokio::spawn(async move {
        if let Err(e) = make_in_background(&state, &sha256).await {
            tracing::warn!(sha256, error = %e, "making a thumbnail failed; it is made when asked for");
        }
    });
}

async fn make_in_background(state: &MediaState, sha256: &str) -> anyhow::Result<()> {
    let _turn = state.background.turn().await?;
    state.background.pause().await;
    if state.storage.thumbnail(sha256).await?.is_some() {
        return Ok(());
    }
    let original = state.storage.read_all(sha256).await?;
    let (done, made) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("thumbnail".into())
        .spawn(move || {
            lowest_priority();
            let _ = done.send(thumbnail_of(&original));
        })?;
    keep(state, sha256, made.await?).await?;
    Ok(())
}

/// Gives the calling thread the idle scheduling class (`SCHED_IDLE`): it runs only when the cores
/// are not wanted by anything else, and gives way at once to any request's thread that wakes
/// (at nice 19 it would still finish its time slice first). Nothing happens where that cannot
/// be set.
#[allow(unsafe_code)]
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sched_setscheduler reads the parameter only during the call; pid 0 names
        // just the calling thread, which may always move itself to the idle class.
        let lowered = unsafe {
            let param = libc::sched_param { sched_priority: 0 };
            libc::sched_setscheduler(0, libc::SCHED_IDLE, &param)
        };
        if lowered != 0 {
            tracing::debug!("could not lower the thumbnail thread's priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn background_work_waits_for_uploads_to_pause() {
        let background = Background::default();
        background.upload_moved();
        let started = Instant::now();
        background.pause().await;
        assert_eq!(started.elapsed(), QUIET, "it begins once uploads paused");

        tokio::time::sleep(QUIET * 3).await;
        let started = Instant::now();
        background.pause().await;
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "after a pause it begins at once"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn background_work_goes_on_under_a_steady_stream_of_uploads() {
        let background = Background::default();
        let steady = async {
            loop {
                background.upload_moved();
                tokio::time::sleep(QUIET / 2).await;
            }
        };
        let started = Instant::now();
        tokio::select! {
            () = background.pause() => {}
            () = steady => unreachable!("the stream never ends"),
        }
        let waited = started.elapsed();
        assert!(
            waited >= LONGEST_WAIT && waited < LONGEST_WAIT + QUIET,
            "it waited {waited:?}"
        );
    }
}
