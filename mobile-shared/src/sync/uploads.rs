//! Sending the media queue: each file by tus, in checksummed chunks, resumed from the offset the
//! server confirmed. The confirmed offset is written to the store after every chunk, so a phone
//! killed mid-file sends only what the server does not have yet.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::{Method, StatusCode};
use sha2::{Digest as _, Sha256};

use super::{Engine, SyncError, SyncEvent, SyncReport};
use crate::api::ClientError;
use crate::media::queue;
use crate::media::{MediaFailure, QueuedMedia};

/// Where an upload stands on the server.
struct At {
    url: String,
    offset: u64,
}

impl Engine<'_> {
    /// Sends every queued file, oldest first. A file the server refuses is marked failed with the
    /// server's reason and not sent again; a passing failure is retried per the policy.
    pub(crate) async fn upload_all(
        &mut self,
        report: &mut SyncReport,
        media_dir: &Path,
    ) -> Result<(), SyncError> {
        while let Some((entry, url)) = self.store.read(queue::next)? {
            let path = media_dir.join(entry.id.to_string());
            let outcome = self.upload(&entry, url, &path).await?;
            match &outcome {
                None => report.uploaded += 1,
                Some(_) => report.upload_failed += 1,
            }
            self.store
                .write(|tx| queue::finish(tx, entry.id, outcome.as_ref()))?;
            if outcome.is_none() {
                // The server has it; the phone's copy is no longer needed.
                let _gone = std::fs::remove_file(&path);
            }
        }
        Ok(())
    }

    /// Sends the prepared file of `entry` at `path` from where the server stands; `None` when the
    /// server has it all, the reason it cannot be sent otherwise.
    async fn upload(
        &mut self,
        entry: &QueuedMedia,
        mut url: Option<String>,
        path: &Path,
    ) -> Result<Option<MediaFailure>, SyncError> {
        // Whether `sent` is what the server said last; after a failure it is asked again.
        let mut sent = entry.sent;
        let mut known = false;
        let mut failures = 0;
        loop {
            if sent >= entry.size && known {
                return Ok(None);
            }
            let from = if url.is_some() { sent } else { 0 };
            let chunk = match url {
                Some(_) if !known => Ok(Vec::new()),
                _ => read_chunk(path, from, self.options.upload_chunk),
            };
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    return Ok(Some(MediaFailure {
                        code: "file_unreadable".into(),
                        detail: format!("the prepared file {} cannot be read: {e}", path.display()),
                    }));
                }
            };
            let step = match url.as_deref() {
                None => self.create(entry, &chunk).await,
                Some(at) if !known => self.head(at).await,
                Some(at) => self.patch(at, sent, &chunk).await,
            };
            match step {
                Ok(At { url: at, offset }) => {
                    failures = 0;
                    known = true;
                    sent = offset;
                    self.store
                        .write(|tx| queue::progress(tx, entry.id, Some(&at), sent))?;
                    url = Some(at);
                    self.progress.event(SyncEvent::Uploading {
                        file_name: entry.file_name.clone(),
                        sent,
                        size: entry.size,
                    });
                }
                // The upload expired on the server (or was never kept): start it again.
                Err(ClientError::Api { status, .. })
                    if url.is_some()
                        && (status == StatusCode::NOT_FOUND || status == StatusCode::GONE) =>
                {
                    url = None;
                    sent = 0;
                    known = false;
                    self.store
                        .write(|tx| queue::progress(tx, entry.id, None, 0))?;
                }
                // Our offset is stale, a cut request still holds the upload, or the chunk was
                // damaged on the way: ask where it stands and go on from there.
                Err(e @ ClientError::Api { status, .. }) if is_stale(status) => {
                    known = false;
                    failures += 1;
                    let delay =
                        self.options
                            .retry
                            .delay_after(failures)
                            .ok_or(SyncError::Unreachable {
                                attempts: failures,
                                source: e,
                            })?;
                    tokio::time::sleep(delay).await;
                }
                Err(ClientError::Api { status, problem }) if is_refusal(status) => {
                    return Ok(Some(MediaFailure {
                        code: problem.code.as_str().to_owned(),
                        detail: problem.detail.unwrap_or(problem.title),
                    }));
                }
                Err(e) => {
                    known = false;
                    let delay = self.after_failure(&mut failures, e)?;
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Creates the upload with its first chunk (creation-with-upload).
    async fn create(&mut self, entry: &QueuedMedia, first: &[u8]) -> Result<At, ClientError> {
        let metadata = [
            ("kind", entry.kind.as_str().to_owned()),
            ("sha256", entry.sha256.clone()),
            ("filename", entry.file_name.clone()),
            ("attempt_id", entry.attempt_id.0.to_string()),
        ]
        .iter()
        .map(|(key, value)| format!("{key} {}", B64.encode(value)))
        .collect::<Vec<_>>()
        .join(",");
        let answer = self
            .client
            .tus(
                Method::POST,
                "/api/v1/uploads",
                &[
                    ("Upload-Length", entry.size.to_string()),
                    ("Upload-Metadata", metadata),
                    ("Upload-Checksum", checksum(first)),
                ],
                Some(first),
            )
            .await?;
        let url = answer.location.ok_or_else(|| missing("Location"))?;
        let offset = answer.offset.ok_or_else(|| missing("Upload-Offset"))?;
        Ok(At { url, offset })
    }

    /// Asks where the upload at `url` stands.
    async fn head(&mut self, url: &str) -> Result<At, ClientError> {
        let answer = self.client.tus(Method::HEAD, url, &[], None).await?;
        let offset = answer.offset.ok_or_else(|| missing("Upload-Offset"))?;
        Ok(At {
            url: url.to_owned(),
            offset,
        })
    }

    /// Sends `chunk`, the bytes at `offset`.
    async fn patch(&mut self, url: &str, offset: u64, chunk: &[u8]) -> Result<At, ClientError> {
        let answer = self
            .client
            .tus(
                Method::PATCH,
                url,
                &[
                    ("Upload-Offset", offset.to_string()),
                    ("Upload-Checksum", checksum(chunk)),
                ],
                Some(chunk),
            )
            .await?;
        let offset = answer.offset.ok_or_else(|| missing("Upload-Offset"))?;
        Ok(At {
            url: url.to_owned(),
            offset,
        })
    }
}

/// Up to `len` bytes of the file at `path` from `offset` (a file is never held whole: a
/// recording may be hundreds of megabytes on a phone with little memory).
fn read_chunk(path: &Path, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::{Read as _, Seek as _};
    let mut file = std::fs::File::open(path)?;
    file.seek(std::io::SeekFrom::Start(offset))?;
    let mut chunk = Vec::with_capacity(len.max(1));
    file.take(len.max(1) as u64).read_to_end(&mut chunk)?;
    Ok(chunk)
}

/// tus: the chunk's checksum did not match what arrived.
const CHECKSUM_MISMATCH: u16 = 460;

/// Whether the answer means the upload moved on or is busy (409 offset mismatch, 423 another
/// request still writing, 460 a damaged chunk): asking again will do.
fn is_stale(status: StatusCode) -> bool {
    status == StatusCode::CONFLICT
        || status == StatusCode::LOCKED
        || status.as_u16() == CHECKSUM_MISMATCH
}

/// Whether the server refuses the file itself (a bad type, too large, a record out of scope),
/// rather than the session or the moment.
fn is_refusal(status: StatusCode) -> bool {
    status.is_client_error()
        && ![
            StatusCode::UNAUTHORIZED,
            StatusCode::REQUEST_TIMEOUT,
            StatusCode::UPGRADE_REQUIRED,
            StatusCode::TOO_MANY_REQUESTS,
        ]
        .contains(&status)
}

/// `Upload-Checksum` of `chunk`.
fn checksum(chunk: &[u8]) -> String {
    format!("sha256 {}", B64.encode(Sha256::digest(chunk)))
}

fn missing(header: &str) -> ClientError {
    ClientError::Unexpected {
        status: StatusCode::OK,
        body: format!("a tus answer without {header}"),
    }
}
