//! The one door to object storage (`object_store`): a local directory on the embedded default,
//! any S3-compatible store by configuration. Originals are addressed by their SHA-256, so the
//! same photo sent twice is stored once, and nothing reaches its final key unless its size and
//! hash were checked on the way in.

use std::io::Write as _;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use sha2::{Digest, Sha256};

use crate::config::{ConfigError, Secret};
use crate::digest::hex;

mod streamed;
pub use streamed::Streamed;

/// Where media objects live.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// A directory on this machine (the embedded default: `DATA_DIR/media`).
    Local {
        /// The root directory.
        root: PathBuf,
    },
    /// An S3-compatible store (MinIO, Ceph RGW, AWS S3, Alibaba OSS…).
    S3 {
        /// The endpoint URL, like `http://127.0.0.1:9000`.
        endpoint: String,
        /// The bucket.
        bucket: String,
        /// The region (any value for stores that ignore it).
        region: String,
        /// The access key id.
        access_key_id: String,
        /// The secret key.
        secret_access_key: Secret<String>,
        /// Allow plain HTTP (local servers).
        allow_http: bool,
        /// Address buckets as `bucket.endpoint` instead of `endpoint/bucket`.
        virtual_hosted: bool,
    },
}

impl StorageConfig {
    /// Reads `MEDIA_STORE` (`local`, the default, or `s3`) and the `S3_*` variables.
    pub fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        data_dir: &std::path::Path,
    ) -> Result<Self, ConfigError> {
        let flag = |name: &'static str| -> Result<bool, ConfigError> {
            match get(name).as_deref() {
                None | Some("") | Some("false") | Some("0") => Ok(false),
                Some("true") | Some("1") => Ok(true),
                Some(other) => Err(ConfigError {
                    name,
                    reason: format!("`{other}` is not true or false"),
                }),
            }
        };
        let required = |name: &'static str| {
            get(name).filter(|v| !v.is_empty()).ok_or(ConfigError {
                name,
                reason: "required when MEDIA_STORE=s3".into(),
            })
        };
        match get("MEDIA_STORE").as_deref() {
            None | Some("") | Some("local") => Ok(Self::Local {
                root: data_dir.join("media"),
            }),
            Some("s3") => Ok(Self::S3 {
                endpoint: required("S3_ENDPOINT")?,
                bucket: required("S3_BUCKET")?,
                region: get("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                access_key_id: required("S3_ACCESS_KEY_ID")?,
                secret_access_key: Secret(required("S3_SECRET_ACCESS_KEY")?),
                allow_http: flag("S3_ALLOW_HTTP")?,
                virtual_hosted: flag("S3_VIRTUAL_HOSTED")?,
            }),
            Some(other) => Err(ConfigError {
                name: "MEDIA_STORE",
                reason: format!("`{other}` is neither `local` nor `s3`"),
            }),
        }
    }
}

/// What can go wrong storing or reading an object.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The bytes are not what was declared; nothing was kept.
    #[error(
        "the upload has {actual_size} bytes with SHA-256 {actual_sha256}, not the declared {declared_size} bytes with {declared_sha256}"
    )]
    Mismatch {
        /// Declared size.
        declared_size: u64,
        /// Declared hash.
        declared_sha256: String,
        /// Size received.
        actual_size: u64,
        /// Hash received.
        actual_sha256: String,
    },
    /// The file of an upload in progress in a local store failed.
    #[error("the upload's file: {0}")]
    UploadFile(#[source] std::io::Error),
    /// The store failed.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// The configuration cannot open a store.
    #[error("opening the object store: {0}")]
    Open(String),
    /// A PUT sent while the file arrived (see [`streamed`]) did not store it.
    #[error("streamed upload: {0}")]
    Streamed(String),
}

impl StorageError {
    /// A [`StorageError::Mismatch`] unless the actual hash and size are the declared ones.
    fn check(
        declared_sha256: &str,
        declared_size: u64,
        actual_sha256: &str,
        actual_size: u64,
    ) -> Result<(), Self> {
        if actual_sha256 == declared_sha256 && actual_size == declared_size {
            return Ok(());
        }
        Err(Self::Mismatch {
            declared_size,
            declared_sha256: declared_sha256.to_owned(),
            actual_size,
            actual_sha256: actual_sha256.to_owned(),
        })
    }
}

/// How an object was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// The bytes were new and are now stored.
    New,
    /// An object with this hash was already stored; the new bytes were dropped.
    Duplicate,
}

/// The object store, behind the operations the server needs.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// The same store's multipart API, when it is S3 (uploads in progress are kept as parts).
    multipart: Option<Arc<dyn MultipartStore>>,
    /// The root folder when the store is local (see the uploads section below).
    local_root: Option<PathBuf>,
    /// On S3, how an original goes up while it arrives.
    streamer: Option<streamed::Streamer>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("store", &self.store)
            .field("local_root", &self.local_root)
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Opens the store `config` names; a local root is created if missing.
    pub fn open(config: &StorageConfig) -> Result<Self, StorageError> {
        let local_root = match config {
            StorageConfig::Local { root } => Some(root.clone()),
            StorageConfig::S3 { .. } => None,
        };
        type Opened = (
            Arc<dyn ObjectStore>,
            Option<Arc<dyn MultipartStore>>,
            Option<streamed::Streamer>,
        );
        let (store, multipart, streamer): Opened = match config {
            StorageConfig::Local { root } => {
                std::fs::create_dir_all(root)
                    .map_err(|e| StorageError::Open(format!("creating {}: {e}", root.display())))?;
                // An acknowledged segment or original must survive a power cut: fsync each write.
                (
                    Arc::new(LocalFileSystem::new_with_prefix(root)?.with_fsync(true)),
                    None,
                    None,
                )
            }
            StorageConfig::S3 {
                endpoint,
                bucket,
                region,
                access_key_id,
                secret_access_key,
                allow_http,
                virtual_hosted,
            } => {
                let s3 = Arc::new(
                    AmazonS3Builder::new()
                        .with_endpoint(endpoint)
                        .with_bucket_name(bucket)
                        .with_region(region)
                        .with_access_key_id(access_key_id)
                        .with_secret_access_key(&secret_access_key.0)
                        .with_allow_http(*allow_http)
                        .with_virtual_hosted_style_request(*virtual_hosted)
                        .build()?,
                );
                let streamer = streamed::Streamer::new(s3.clone(), *allow_http)?;
                (s3.clone(), Some(s3), Some(streamer))
            }
        };
        Ok(Self {
            store,
            multipart,
            local_root,
            streamer,
        })
    }

    /// The key of the original with SHA-256 `sha256` (lowercase hex).
    pub fn original_key(sha256: &str) -> Path {
        let prefix = sha256.get(..2).unwrap_or("xx");
        Path::from(format!("originals/sha256/{prefix}/{sha256}"))
    }

    /// Whether the original with `sha256` is stored.
    pub async fn contains(&self, sha256: &str) -> Result<bool, StorageError> {
        match self.store.head(&Self::original_key(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// On S3, starts storing the original with `sha256` of `size` bytes while they arrive, for
    /// [`Storage::finish_streamed`] to finish; `None` on a local store.
    pub fn stream_original(&self, sha256: &str, size: u64) -> Option<Streamed> {
        let streamer = self.streamer.as_ref()?;
        Some(streamer.start(Self::original_key(sha256), size))
    }

    /// Stores `bytes`, whose SHA-256 the caller computed as `actual_sha256`, as the original with
    /// `sha256` of `size` bytes if both match; nothing is written otherwise.
    pub async fn put_checked(
        &self,
        sha256: &str,
        size: u64,
        bytes: PutPayload,
        actual_sha256: &str,
    ) -> Result<Stored, StorageError> {
        StorageError::check(sha256, size, actual_sha256, bytes.content_length() as u64)?;
        if self.contains(sha256).await? {
            return Ok(Stored::Duplicate);
        }
        self.store.put(&Self::original_key(sha256), bytes).await?;
        Ok(Stored::New)
    }

    /// Finishes `streamed`, the original with `sha256` of `size` bytes sent to the store as it
    /// arrived, whose SHA-256 the caller computed as `actual_sha256`, if both match; nothing is
    /// stored otherwise. Should its PUT have failed on its way (a store that timed out on a slow
    /// phone), the bytes are stored anew.
    pub async fn finish_streamed(
        &self,
        streamed: Streamed,
        sha256: &str,
        size: u64,
        actual_sha256: &str,
    ) -> Result<Stored, StorageError> {
        let file = streamed.file();
        StorageError::check(sha256, size, actual_sha256, file.content_length() as u64)?;
        match streamed.finish().await {
            Ok(()) => Ok(Stored::New),
            Err(e) => {
                tracing::warn!(error = %e, sha256, "storing the original again from memory");
                self.put_checked(sha256, size, file, actual_sha256).await
            }
        }
    }

    /// Bytes `range` of the original with `sha256`.
    pub async fn read_range(&self, sha256: &str, range: Range<u64>) -> Result<Bytes, StorageError> {
        Ok(self
            .store
            .get_range(&Self::original_key(sha256), range)
            .await?)
    }

    /// The key of the thumbnail derived from the original with `sha256` (marked as derived).
    fn thumbnail_key(sha256: &str) -> Path {
        Path::from(format!("derived/thumbnails/{sha256}.jpg"))
    }

    /// Stores the thumbnail of the original with `sha256`.
    pub async fn put_thumbnail(&self, sha256: &str, jpeg: Bytes) -> Result<(), StorageError> {
        self.store
            .put(&Self::thumbnail_key(sha256), jpeg.into())
            .await?;
        Ok(())
    }

    /// The thumbnail of the original with `sha256`, if one was made.
    pub async fn thumbnail(&self, sha256: &str) -> Result<Option<Bytes>, StorageError> {
        match self.store.get(&Self::thumbnail_key(sha256)).await {
            Ok(got) => Ok(Some(got.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The whole original with `sha256` in memory (callers bound the size).
    pub async fn read_all(&self, sha256: &str) -> Result<Bytes, StorageError> {
        Ok(self
            .store
            .get(&Self::original_key(sha256))
            .await?
            .bytes()
            .await?)
    }

    /// The original with `sha256` as a stream of bytes.
    pub async fn read_stream(
        &self,
        sha256: &str,
    ) -> Result<impl Stream<Item = Result<Bytes, object_store::Error>> + Send + 'static, StorageError>
    {
        Ok(self
            .store
            .get(&Self::original_key(sha256))
            .await?
            .into_stream())
    }

    /// Reads the original with `sha256` back whole, streaming, and returns its SHA-256 and size,
    /// to prove what is stored is what was accepted.
    pub async fn rehash(&self, sha256: &str) -> Result<(String, u64), StorageError> {
        self.hash_object(&Self::original_key(sha256)).await
    }

    /// The SHA-256 and size of the object at `key`, read back whole, streaming.
    async fn hash_object(&self, key: &Path) -> Result<(String, u64), StorageError> {
        let mut stream = self.store.get(key).await?.into_stream();
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(piece) = stream.next().await {
            let piece = piece?;
            size += piece.len() as u64;
            hasher.update(&piece);
        }
        Ok((hex(&hasher.finalize()), size))
    }
}

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

/// Bytes an [`Appender`] writes before it starts writing them back: the disk works while the
/// rest arrives.
const APPEND_WRITEBACK_BYTES: usize = 1024 * 1024;

/// Writes the bytes of one request into a local upload's file as they arrive, on a blocking
/// thread of its own, starting to write each MiB back to disk at once without waiting for it
/// (`sync_file_range`): the disk works while the rest of the body is still arriving and being
/// hashed, and the sync asked for at a piece's end has little left to wait for.
pub struct Appender {
    sender: tokio::sync::mpsc::Sender<Append>,
    worker: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// What an [`Appender`]'s thread is asked to do.
enum Append {
    /// Write these bytes next.
    Bytes(Bytes),
    /// Answer once every byte written before is on disk.
    Sync(tokio::sync::oneshot::Sender<()>),
}

impl Appender {
    /// Starts the thread writing into the file of the upload folder `dir` from `start` on (a new
    /// file's name made durable at once if `name_now`).
    fn start(dir: PathBuf, start: u64, name_now: bool) -> Self {
        // A few pieces of a body in flight: the receiver waits while the disk is behind.
        let (sender, mut asked) = tokio::sync::mpsc::channel(16);
        let worker = tokio::task::spawn_blocking(move || {
            let mut file = local_upload::open_at(&dir, start, name_now)?;
            // Bytes since writing back last began, and whether any are not synced yet.
            let (mut since_writeback, mut dirty) = (0, false);
            while let Some(what) = asked.blocking_recv() {
                match what {
                    Append::Bytes(bytes) => {
                        file.write_all(&bytes)?;
                        since_writeback += bytes.len();
                        if since_writeback >= APPEND_WRITEBACK_BYTES {
                            local_upload::start_writeback(&file)?;
                            since_writeback = 0;
                        }
                        dirty = true;
                    }
                    Append::Sync(done) => {
                        if dirty {
                            file.sync_data()?;
                            (since_writeback, dirty) = (0, false);
                        }
                        let _ = done.send(());
                    }
                }
            }
            Ok(())
        });
        Self {
            sender,
            worker: Some(worker),
        }
    }

    /// Writes `bytes` next (waiting while the disk is behind).
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), StorageError> {
        if self.sender.send(Append::Bytes(bytes)).await.is_err() {
            return Err(self.failure().await);
        }
        Ok(())
    }

    /// Returns once every byte written so far is on disk.
    pub async fn sync(&mut self) -> Result<(), StorageError> {
        let (done, synced) = tokio::sync::oneshot::channel();
        if self.sender.send(Append::Sync(done)).await.is_err() || synced.await.is_err() {
            return Err(self.failure().await);
        }
        Ok(())
    }

    /// Why the thread stopped.
    async fn failure(&mut self) -> StorageError {
        let stopped = match self.worker.take() {
            Some(worker) => worker.await.map_err(std::io::Error::other).and_then(|r| r),
            None => Ok(()),
        };
        StorageError::UploadFile(
            stopped.err().unwrap_or_else(|| {
                std::io::Error::other("the upload's file writer stopped earlier")
            }),
        )
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

/// The file of an upload in progress in a local store.
mod local_upload {
    use std::fs::{File, OpenOptions, TryLockError};
    use std::io::{Seek as _, SeekFrom};
    use std::path::Path;
    use std::time::{Duration, Instant};

    fn data(dir: &Path) -> std::path::PathBuf {
        dir.join("data")
    }

    /// How long a writer waits for the one before it to close the file (the request before
    /// answers just before its writer thread closes it).
    const LOCK_WAIT: Duration = Duration::from_secs(2);

    /// Locks `file` for this writer, waiting up to [`LOCK_WAIT`] for the one before.
    fn lock(file: &File) -> std::io::Result<()> {
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(()),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::WouldBlock,
                        "another request is writing this upload",
                    ));
                }
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
    }

    /// The file of the upload folder `dir`, made if missing (its name made durable if
    /// `name_now`), to write at `start`: anything after `start` (bytes written but never
    /// acknowledged) is dropped first. The file stays locked while it is open, so one request at
    /// a time writes it (another, even one whose lease on the upload outlived a stalled first,
    /// gets [`std::io::ErrorKind::WouldBlock`]).
    pub fn open_at(dir: &Path, start: u64, name_now: bool) -> std::io::Result<File> {
        let created = !data(dir).exists();
        std::fs::create_dir_all(dir)?;
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data(dir))?;
        lock(&file)?;
        if created && name_now {
            sync_name(dir)?;
        }
        let len = file.metadata()?.len();
        if len < start {
            return Err(std::io::Error::other(format!(
                "{} holds {len} bytes, fewer than the upload's offset {start}",
                dir.display()
            )));
        }
        if len > start {
            file.set_len(start)?;
        }
        file.seek(SeekFrom::Start(start))?;
        Ok(file)
    }

    /// Puts the finished upload in folder `dir` at `original` if its `size` and SHA-256,
    /// `hashed` (carried along as its bytes arrived), are the `declared` ones, then removes the
    /// folder whatever the outcome. Its bytes are synced already; the rename is made durable
    /// with the folder that lists the original (the upload's folder goes, so it is not synced).
    pub fn place(
        dir: &Path,
        original: &Path,
        size: u64,
        declared: &str,
        hashed: &str,
    ) -> std::io::Result<Result<super::Stored, super::StorageError>> {
        let placed = (|| {
            let kept = std::fs::metadata(data(dir))?.len();
            if let Err(mismatch) = super::StorageError::check(declared, size, hashed, kept) {
                return Ok(Err(mismatch));
            }
            if original.exists() {
                return Ok(Ok(super::Stored::Duplicate));
            }
            let folder = original
                .parent()
                .ok_or_else(|| std::io::Error::other("an original's key has a folder"))?;
            make_folder(folder)?;
            std::fs::rename(data(dir), original)?;
            File::open(folder)?.sync_all()?;
            Ok(Ok(super::Stored::New))
        })();
        truncate(dir, 0)?;
        placed
    }

    /// Makes `folder` and any missing folder above it, each listed durably in its parent.
    fn make_folder(folder: &Path) -> std::io::Result<()> {
        if folder.is_dir() {
            return Ok(());
        }
        let parent = folder
            .parent()
            .ok_or_else(|| std::io::Error::other("the store's root is missing"))?;
        make_folder(parent)?;
        match std::fs::create_dir(folder) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        File::open(parent)?.sync_all()
    }

    /// Makes the name of the file in the upload folder `dir` outlive a power cut as its synced
    /// bytes do: syncs the folders that list it (the upload's, and `uploads/` that lists that).
    pub fn sync_name(dir: &Path) -> std::io::Result<()> {
        for folder in [Some(dir), dir.parent()].into_iter().flatten() {
            File::open(folder)?.sync_all()?;
        }
        Ok(())
    }

    /// Starts writing `file`'s dirty pages to disk without waiting for them, so that the sync
    /// that follows has little left to wait for.
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    pub fn start_writeback(file: &File) -> std::io::Result<()> {
        use std::os::fd::AsRawFd as _;
        // SAFETY: the descriptor is open for as long as `file` is borrowed; the call takes no
        // pointers.
        let started =
            unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
        if started == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// Elsewhere the sync that follows writes everything.
    #[cfg(not(target_os = "linux"))]
    pub fn start_writeback(_file: &File) -> std::io::Result<()> {
        Ok(())
    }

    /// Drops the bytes from `from` on; from 0, the whole upload folder.
    pub fn truncate(dir: &Path, from: u64) -> std::io::Result<()> {
        let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
        if from == 0 {
            return std::fs::remove_dir_all(dir)
                .or_else(|e| if gone(&e) { Ok(()) } else { Err(e) });
        }
        match File::options().write(true).open(data(dir)) {
            Ok(file) if file.metadata()?.len() > from => {
                file.set_len(from)?;
                file.sync_data()
            }
            Ok(_) => Ok(()),
            Err(e) if gone(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_needs_its_variables_and_local_is_the_default() {
        let dir = std::path::Path::new("/data");
        let local = StorageConfig::from_lookup(&|_: &str| None, dir).expect("default");
        assert!(matches!(local, StorageConfig::Local { root } if root == dir.join("media")));
        let missing = StorageConfig::from_lookup(
            &|n: &str| (n == "MEDIA_STORE").then(|| "s3".to_owned()),
            dir,
        );
        assert!(missing.is_err());
    }
}
