//! The one door to object storage (`object_store`): a local directory on the embedded default,
//! any S3-compatible store by configuration. Originals are addressed by their SHA-256, so the
//! same photo sent twice is stored once, and nothing reaches its final key unless its size and
//! hash were checked on the way in.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::multipart::MultipartStore;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use sha2::{Digest, Sha256};

use crate::digest::hex;
use crate::secret::{ConfigError, Secret};

mod in_progress;
mod local_upload;
mod streamed;
pub use in_progress::{Incoming, MAX_UPLOAD_BYTES, SEGMENT};
pub use local_upload::Appender;
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
    /// A PUT sent while the file arrived (see [`Streamed`]) did not store it.
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
    /// The root folder when the store is local (see [`in_progress`]).
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

    /// Whether the store answers: a listing of the originals' folder, which a reachable store
    /// answers with what it holds or nothing, and a missing bucket or refused credentials with an
    /// error (a lookup of one missing object would not tell: a missing bucket answers it with 404
    /// too).
    pub async fn check(&self) -> Result<(), StorageError> {
        self.store
            .list_with_delimiter(Some(&Path::from("originals")))
            .await?;
        Ok(())
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

    /// The original with `sha256`, or bytes `range` of it, as a stream of bytes: a download
    /// holds a piece at a time, however long the range.
    pub async fn read_stream(
        &self,
        sha256: &str,
        range: Option<Range<u64>>,
    ) -> Result<impl Stream<Item = Result<Bytes, object_store::Error>> + Send + 'static, StorageError>
    {
        let options = object_store::GetOptions {
            range: range.map(Into::into),
            ..Default::default()
        };
        Ok(self
            .store
            .get_opts(&Self::original_key(sha256), options)
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
