//! Uploads in progress, as the store keeps them: in pieces on S3 (parts of one multipart upload
//! and segments), in one file written as it arrives in a local folder; put in place once the
//! whole file is checked.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use object_store::ObjectStoreExt as _;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;

use super::local_upload::{self, Appender};
use super::{Storage, StorageError, Stored};

/// Bytes an upload in progress is kept in at a time: a PATCH body is written in pieces of this
/// size, and on S3 each piece that fills an aligned stretch is a part of the upload's multipart.
pub const SEGMENT: usize = 8 * 1024 * 1024;
const SEGMENT_BYTES: u64 = SEGMENT as u64;
/// S3 takes at most 10,000 parts.
const MAX_PARTS: u64 = 10_000;
/// The largest upload: 10,000 parts of 8 MiB (80 GiB).
pub const MAX_UPLOAD_BYTES: u64 = SEGMENT_BYTES * MAX_PARTS;
// Every S3 part but the last is at least 5 MiB.
const _: () = assert!(SEGMENT_BYTES >= 5 * 1024 * 1024);
/// Bytes of the start of an upload kept readable when its first part is written (to sniff).
const HEAD_COPY: usize = 1024 * 1024;

/// An upload in progress, as the store keeps it.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The upload's id.
    pub id: uuid::Uuid,
    /// The SHA-256 its file declared (lowercase hex): on S3 its multipart is made at the key of
    /// that original.
    pub sha256: String,
}

/// What is kept under `uploads/<id>/` on S3.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kept {
    /// Bytes from this offset, as a plain object (a piece that is not a whole aligned part).
    Segment { start: u64, size: u64 },
    /// The id of part `n` of the multipart (bytes `n × SEGMENT` on), as a marker object.
    Part { n: u64 },
    /// The multipart upload's id.
    Multipart,
    /// A copy of the first bytes, for sniffing while they are only in a part.
    Head,
}

impl Kept {
    fn parse(name: &str, size: u64) -> Option<Self> {
        match name {
            "multipart" => Some(Self::Multipart),
            "head" => Some(Self::Head),
            _ => match name.strip_prefix("part-") {
                Some(n) => n.parse().ok().map(|n| Self::Part { n }),
                None => name.parse().ok().map(|start| Self::Segment { start, size }),
            },
        }
    }

    /// The offset its bytes start at, for what holds bytes.
    fn start(&self) -> Option<u64> {
        match self {
            Self::Segment { start, .. } => Some(*start),
            Self::Part { n } => Some(n * SEGMENT_BYTES),
            Self::Multipart | Self::Head => None,
        }
    }
}

/// Uploads in progress. On S3 an upload is one multipart upload made at the key of the original
/// it declares: a piece that fills an aligned stretch of [`SEGMENT`] bytes goes up as its part at
/// once (its part id kept in a small marker object under `uploads/<id>/`), any other piece as an
/// object of its own until completion makes the missing parts from them. The multipart is
/// completed only once the SHA-256 of the bytes its parts were made of (carried along with the
/// offset as they arrived) matched the declaration, so the original's key only ever receives
/// the declared bytes, and no byte is copied. Any server instance can resume an upload:
/// everything is in the store. In a local folder the bytes go into one file,
/// `uploads/<id>/data`, written as they arrive by an [`Appender`] and synced before the offset
/// moves, and a finished upload is renamed into place: each byte is written once.
impl Storage {
    fn segment_key(upload: uuid::Uuid, start: u64) -> Path {
        Path::from(format!("uploads/{upload}/{start:020}"))
    }

    fn kept_key(upload: uuid::Uuid, name: &str) -> Path {
        Path::from(format!("uploads/{upload}/{name}"))
    }

    fn part_key(upload: uuid::Uuid, n: u64) -> Path {
        Self::kept_key(upload, &format!("part-{n:05}"))
    }

    fn local_file_key(upload: uuid::Uuid) -> Path {
        Path::from(format!("uploads/{upload}/data"))
    }

    /// The folder of `upload` when the store is local.
    fn local_upload_dir(&self, upload: uuid::Uuid) -> Option<PathBuf> {
        self.local_root
            .as_ref()
            .map(|root| root.join("uploads").join(upload.to_string()))
    }

    /// Where the bytes of `upload` from `start` on go as they arrive when the store is local
    /// (replacing any kept from there on); `None` on S3, where they go up in pieces with
    /// [`Storage::put_segment`]. A new upload file's name is made durable at once if
    /// `name_now`, otherwise only by [`Storage::keep_upload_name`] (an upload nobody may
    /// resume yet needs no name that outlives a power cut).
    pub fn appender(&self, upload: &Incoming, start: u64, name_now: bool) -> Option<Appender> {
        self.local_upload_dir(upload.id)
            .map(|dir| Appender::start(dir, start, name_now))
    }

    /// Makes the name of `upload`'s file outlive a power cut, when the store is local and the
    /// appender was told not to.
    pub async fn keep_upload_name(&self, upload: &Incoming) -> Result<(), StorageError> {
        match self.local_upload_dir(upload.id) {
            Some(dir) => blocking(move || local_upload::sync_name(&dir)).await,
            None => Ok(()),
        }
    }

    /// Stores the bytes of `upload` that start at `start` on S3, replacing any kept from there
    /// on (locally they go through the upload's [`Appender`]).
    pub async fn put_segment(
        &self,
        upload: &Incoming,
        start: u64,
        bytes: Bytes,
    ) -> Result<(), StorageError> {
        if self.local_root.is_some() {
            return Err(StorageError::Open(
                "a local upload's bytes go through its appender".into(),
            ));
        }
        let n = start / SEGMENT_BYTES;
        if start.is_multiple_of(SEGMENT_BYTES) && bytes.len() == SEGMENT {
            self.put_part(upload, n, bytes).await?;
        } else {
            self.store
                .put(&Self::segment_key(upload.id, start), bytes.into())
                .await?;
        }
        Ok(())
    }

    /// Whether pieces of an upload may be stored concurrently (S3 parts; a local upload is one
    /// file, extended in order).
    pub fn takes_parts_at_once(&self) -> bool {
        self.multipart.is_some()
    }

    /// Makes sure `upload` has its S3 multipart before pieces go up concurrently (so that two
    /// of them never start one each); nothing on a local store.
    pub async fn prepare_upload(&self, upload: &Incoming) -> Result<(), StorageError> {
        if self.multipart.is_some() {
            self.multipart_id(upload).await?;
        }
        Ok(())
    }

    /// The S3 multipart API (only S3 stores keep uploads this way).
    fn multipart(&self) -> Result<&Arc<dyn MultipartStore>, StorageError> {
        self.multipart
            .as_ref()
            .ok_or_else(|| StorageError::Open("multipart parts on a local store".into()))
    }

    /// The id of `upload`'s multipart, made on first use.
    async fn multipart_id(&self, upload: &Incoming) -> Result<String, StorageError> {
        let marker = Self::kept_key(upload.id, "multipart");
        match self.store.get(&marker).await {
            Ok(got) => Ok(String::from_utf8_lossy(&got.bytes().await?).into_owned()),
            Err(object_store::Error::NotFound { .. }) => {
                let id = self
                    .multipart()?
                    .create_multipart(&Self::original_key(&upload.sha256))
                    .await?;
                self.store
                    .put(&marker, Bytes::from(id.clone()).into())
                    .await?;
                Ok(id)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Sends `bytes` as part `n` of `upload` and keeps its id.
    async fn put_part(
        &self,
        upload: &Incoming,
        n: u64,
        bytes: Bytes,
    ) -> Result<PartId, StorageError> {
        let id = self.multipart_id(upload).await?;
        if n == 0 {
            let head = bytes.slice(..bytes.len().min(HEAD_COPY));
            self.store
                .put(&Self::kept_key(upload.id, "head"), head.into())
                .await?;
        }
        let idx = usize::try_from(n).map_err(|e| StorageError::Open(e.to_string()))?;
        let part = self
            .multipart()?
            .put_part(&Self::original_key(&upload.sha256), &id, idx, bytes.into())
            .await?;
        self.store
            .put(
                &Self::part_key(upload.id, n),
                Bytes::from(part.content_id.clone()).into(),
            )
            .await?;
        Ok(part)
    }

    /// What is kept of `upload` on S3, with each object's key.
    async fn kept(&self, upload: uuid::Uuid) -> Result<Vec<(Kept, Path)>, StorageError> {
        let mut listing = self
            .store
            .list(Some(&Path::from(format!("uploads/{upload}"))));
        let mut kept = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            if let Some(what) = meta
                .location
                .filename()
                .and_then(|name| Kept::parse(name, meta.size))
            {
                kept.push((what, meta.location));
            }
        }
        kept.sort_by_key(|(what, _)| what.start());
        Ok(kept)
    }

    /// The keys of everything uploads in progress (or abandoned) keep, under `uploads/`.
    pub async fn uploads_kept(&self) -> Result<Vec<String>, StorageError> {
        let mut listing = self.store.list(Some(&Path::from("uploads")));
        let mut keys = Vec::new();
        while let Some(meta) = listing.next().await {
            keys.push(meta?.location.to_string());
        }
        Ok(keys)
    }

    /// The uploads whose kept bytes were all last written before `before`, by id.
    pub async fn uploads_idle_since(
        &self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<uuid::Uuid>, StorageError> {
        let mut listing = self.store.list(Some(&Path::from("uploads")));
        let mut newest = std::collections::HashMap::new();
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            let Some(id) = meta
                .location
                .parts()
                .nth(1)
                .and_then(|part| part.as_ref().parse::<uuid::Uuid>().ok())
            else {
                continue;
            };
            let last = newest.entry(id).or_insert(meta.last_modified);
            *last = (*last).max(meta.last_modified);
        }
        Ok(newest
            .into_iter()
            .filter(|(_, last)| *last < before)
            .map(|(id, _)| id)
            .collect())
    }

    /// Up to `n` first bytes of `upload`, to sniff its type.
    pub async fn upload_head(&self, upload: uuid::Uuid, n: u64) -> Result<Bytes, StorageError> {
        let first = if self.local_root.is_some() {
            Self::local_file_key(upload)
        } else {
            let kept = self.kept(upload).await?;
            let head = kept.iter().find(|(what, _)| *what == Kept::Head);
            let first = kept
                .iter()
                .find(|(what, _)| matches!(what, Kept::Segment { start: 0, .. }));
            match head.or(first) {
                Some((_, key)) => key.clone(),
                None => return Ok(Bytes::new()),
            }
        };
        let size = match self.store.head(&first).await {
            Ok(meta) => meta.size,
            Err(object_store::Error::NotFound { .. }) => return Ok(Bytes::new()),
            Err(e) => return Err(e.into()),
        };
        Ok(self.store.get_range(&first, 0..n.min(size)).await?)
    }

    /// Deletes the bytes of `upload` from offset `from` on; from 0, everything of it (an S3
    /// multipart is aborted; an original already at its key is not touched). A part already
    /// sent stays in the multipart until it is sent again or the upload ends: only its marker
    /// goes, so it no longer counts.
    pub async fn delete_segments(&self, upload: &Incoming, from: u64) -> Result<(), StorageError> {
        if let Some(dir) = self.local_upload_dir(upload.id) {
            return blocking(move || local_upload::truncate(&dir, from)).await;
        }
        for (what, key) in self.kept(upload.id).await? {
            let goes = match what.start() {
                Some(start) => start >= from,
                None => from == 0,
            };
            if !goes {
                continue;
            }
            if what == Kept::Multipart {
                let id = self.store.get(&key).await?.bytes().await?;
                let id = String::from_utf8_lossy(&id).into_owned();
                match self
                    .multipart()?
                    .abort_multipart(&Self::original_key(&upload.sha256), &id)
                    .await
                {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            self.store.delete(&key).await?;
        }
        Ok(())
    }

    /// Puts a finished upload of `size` bytes in place if its SHA-256, `hashed` (carried along
    /// as its bytes arrived), is the declared one, then deletes what is left of it whatever the
    /// outcome.
    pub async fn finish_upload(
        &self,
        upload: &Incoming,
        size: u64,
        hashed: &str,
    ) -> Result<Stored, StorageError> {
        if let (Some(root), Some(dir)) = (&self.local_root, self.local_upload_dir(upload.id)) {
            let original = root.join(Self::original_key(&upload.sha256).as_ref());
            let (declared, hashed) = (upload.sha256.clone(), hashed.to_owned());
            return blocking(move || {
                local_upload::place(&dir, &original, size, &declared, &hashed)
            })
            .await?;
        }
        let stored = self.place_upload(upload, size, hashed).await;
        self.delete_segments(upload, 0).await?;
        stored
    }

    /// Completes the S3 multipart of a finished upload at its original's key if the hash is the
    /// declared one (whole parts are whole segments, and completion checks the length of the
    /// others).
    async fn place_upload(
        &self,
        upload: &Incoming,
        size: u64,
        hashed: &str,
    ) -> Result<Stored, StorageError> {
        StorageError::check(&upload.sha256, size, hashed, size)?;
        if self.contains(&upload.sha256).await? {
            return Ok(Stored::Duplicate);
        }
        self.complete_parts(upload, size).await?;
        Ok(Stored::New)
    }

    /// Completes the S3 multipart of `upload`, `size` bytes, at its original's key, making the
    /// parts that came as smaller pieces from them.
    async fn complete_parts(&self, upload: &Incoming, size: u64) -> Result<(), StorageError> {
        let kept = self.kept(upload.id).await?;
        // The ids of the parts sent, read a few at a time.
        let markers: Vec<(u64, Path)> = kept
            .iter()
            .filter_map(|(what, key)| match what {
                Kept::Part { n } => Some((*n, key.clone())),
                _ => None,
            })
            .collect();
        let mut sent: std::collections::HashMap<u64, PartId> = futures::stream::iter(markers)
            .map(|(n, key)| async move {
                let id = self.store.get(&key).await?.bytes().await?;
                Ok::<_, StorageError>((
                    n,
                    PartId {
                        content_id: String::from_utf8_lossy(&id).into_owned(),
                    },
                ))
            })
            .buffer_unordered(8)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        let mut parts = Vec::new();
        for n in 0..size.div_ceil(SEGMENT_BYTES).max(1) {
            let part = match sent.remove(&n) {
                Some(part) => part,
                None => {
                    let stretch = n * SEGMENT_BYTES..((n + 1) * SEGMENT_BYTES).min(size);
                    let bytes = self.gather(&kept, stretch).await?;
                    self.put_part(upload, n, bytes).await?
                }
            };
            parts.push(part);
        }
        let id = self.multipart_id(upload).await?;
        self.multipart()?
            .complete_multipart(&Self::original_key(&upload.sha256), &id, parts)
            .await?;
        // Completed: there is nothing left to abort.
        self.store
            .delete(&Self::kept_key(upload.id, "multipart"))
            .await?;
        Ok(())
    }

    /// The bytes of `stretch` from the segments kept (each read only where it overlaps).
    async fn gather(
        &self,
        kept: &[(Kept, Path)],
        stretch: Range<u64>,
    ) -> Result<Bytes, StorageError> {
        let mut bytes =
            Vec::with_capacity(usize::try_from(stretch.end - stretch.start).unwrap_or(0));
        for (what, key) in kept {
            let Kept::Segment { start, size } = *what else {
                continue;
            };
            let (from, to) = (start.max(stretch.start), (start + size).min(stretch.end));
            if from < to {
                let piece = self.store.get_range(key, from - start..to - start).await?;
                bytes.extend_from_slice(&piece);
            }
        }
        let want = stretch.end - stretch.start;
        if bytes.len() as u64 != want {
            return Err(StorageError::Open(format!(
                "an upload's bytes {}..{} are not all kept ({} of {want})",
                stretch.start,
                stretch.end,
                bytes.len()
            )));
        }
        Ok(Bytes::from(bytes))
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StorageError::UploadFile(std::io::Error::other(e)))?
        .map_err(StorageError::UploadFile)
}
