//! Sending the media queue: each file prepared first (a photo scaled to the server's media
//! profile), then sent by tus, smallest first, in chunks sized to the link's pace.
//!
//! The phone learns a file's upload address before it sends the bulk of it: a file larger than
//! one chunk is created with no body, and every creation carries the queue entry's id as its
//! `client_key`, so a creation repeated after a cut answers with the upload already made and its
//! offset. The confirmed offset is written to the store after every chunk, so a phone killed
//! mid-file sends only what the server does not have yet, and no upload is left behind.

use std::path::Path;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use reqwest::{Method, StatusCode};
use sha2::{Digest as _, Sha256};
use sync_protocol::ErrorCode;
use sync_protocol::media::{CLIENT_KEY_METADATA, MediaProfile, PREVIEW_OF_METADATA};

use super::pace::Pace;
use super::{Engine, SyncError, SyncEvent, SyncReport, UploadProgress, retry};
use crate::api::ClientError;
use crate::media::{self, MediaFailure, QueuedMedia, queue};
use crate::store::meta::{self, Key};

/// Where an upload stands on the server.
struct At {
    url: String,
    offset: u64,
}

/// Where the sending of this sync's files stands, for progress events.
struct Overall {
    files: usize,
    total_size: u64,
    /// Bytes of the files finished (sent or refused) in this sync.
    done: u64,
    /// Which file is going (1 for the first).
    file: usize,
}

impl Engine<'_> {
    /// Prepares every file not yet prepared (for the server's media profile, or `long_side` if
    /// the app set one), then sends every queued file, smallest first. A file the server refuses
    /// (or the phone cannot prepare) is marked failed with the reason and not sent again; a
    /// passing failure is retried per the policy, and the sync goes on for as long as chunks keep
    /// going up.
    pub(crate) async fn upload_all(
        &mut self,
        report: &mut SyncReport,
        media_dir: &Path,
        long_side: Option<u32>,
    ) -> Result<(), SyncError> {
        self.prepare_all(media_dir, long_side, report).await?;
        let totals = self.store.read(queue::totals)?;
        let mut overall = Overall {
            files: totals.files,
            total_size: totals.bytes,
            done: 0,
            file: 0,
        };
        let mut pace = Pace::starting_at(self.store.read(|c| meta::get(c, Key::UploadPace))?);
        while let Some((entry, url)) = self.store.read(queue::next)? {
            overall.file += 1;
            let path = media::prepared_path(media_dir, entry.id);
            let outcome = self.upload(&entry, url, &path, &mut pace, &overall).await;
            if let Some(rate) = pace.bytes_per_sec() {
                self.store
                    .write(|tx| meta::set(tx, Key::UploadPace, &rate))?;
            }
            let outcome = outcome?;
            match &outcome {
                None => report.uploaded += 1,
                Some(_) => report.upload_failed += 1,
            }
            overall.done += entry.size;
            self.store
                .write(|tx| queue::finish(tx, entry.id, outcome.as_ref()))?;
            if outcome.is_none() {
                // The server has it; the phone's copy is no longer needed.
                let _gone = std::fs::remove_file(&path);
            }
        }
        Ok(())
    }

    /// The server's media profile: asked when a file waits to be prepared and kept; the one
    /// kept (or the default) when the server cannot say now, so a bad link does not hold files.
    /// `long_side` (set by the app) overrides the profile's.
    async fn media_profile(&mut self, long_side: Option<u32>) -> Result<MediaProfile, SyncError> {
        match self.client.media_profile().await {
            Ok(profile) => {
                self.store
                    .write(|tx| meta::set(tx, Key::MediaProfile, &profile))?;
                Ok(media::with_long_side(profile, long_side))
            }
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) || retry::is_transient(&e) => {
                Ok(self.store.read(|c| media::profile(c, long_side))?)
            }
            Err(e) => Err(SyncError::from_client(e)),
        }
    }

    /// Prepares each queued file attached but not yet prepared, on a blocking thread (decoding
    /// a 12-megapixel photo takes a while on a phone); its original copy goes once the prepared
    /// file is recorded. `long_side` (set by the app) overrides the server's profile.
    async fn prepare_all(
        &mut self,
        media_dir: &Path,
        long_side: Option<u32>,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let waiting = self.store.read(queue::unprepared)?;
        if waiting.is_empty() {
            return Ok(());
        }
        let profile = self.media_profile(long_side).await?;
        for entry in waiting {
            self.progress.event(SyncEvent::Preparing {
                file_name: entry.file_name.clone(),
            });
            let (dir, job) = (media_dir.to_owned(), entry.clone());
            let outcome =
                tokio::task::spawn_blocking(move || media::prepare_entry(&dir, &job, profile))
                    .await
                    .map_err(|e| SyncError::Protocol(format!("preparing a file stopped: {e}")))?;
            let failed = media::settle(self.store, media_dir, &entry, outcome, self.clock.now())?;
            report.upload_failed += usize::from(failed.is_some());
        }
        Ok(())
    }

    /// Sends the prepared file of `entry` at `path` from where the server stands; `None` when the
    /// server has it all, the reason it cannot be sent otherwise.
    async fn upload(
        &mut self,
        entry: &QueuedMedia,
        url: Option<String>,
        path: &Path,
        pace: &mut Pace,
        overall: &Overall,
    ) -> Result<Option<MediaFailure>, SyncError> {
        let mut at = Standing {
            url,
            sent: entry.sent,
            known: false,
        };
        let mut failures = 0;
        let mut last_chunk = None;
        let mut restarted = false;
        loop {
            if at.sent >= entry.size && at.known {
                return Ok(None);
            }
            let chunk_size = pace.chunk(&self.options.upload_chunk, last_chunk);
            let chunk = match at.next_chunk(entry.size, chunk_size, path) {
                Ok(chunk) => chunk,
                Err(failure) => return Ok(Some(failure)),
            };
            let started = Instant::now();
            let confirmed_before = at.sent;
            match self.send(entry, &at, chunk.clone(), pace, overall).await {
                Ok(At { url, offset }) => {
                    failures = 0;
                    if at.known || at.url.is_none() {
                        pace.observe(offset.saturating_sub(confirmed_before), started.elapsed());
                    }
                    if !chunk.is_empty() {
                        last_chunk = Some(chunk.len());
                    }
                    at.known = true;
                    at.sent = offset;
                    self.store
                        .write(|tx| queue::progress(tx, entry.id, Some(&url), at.sent))?;
                    at.url = Some(url);
                    self.progress.event(SyncEvent::Uploading(progress_of(
                        entry, overall, at.sent, at.sent, pace,
                    )));
                }
                // The upload expired on the server (or was never kept): start it again.
                Err(ClientError::Api { status, .. })
                    if at.url.is_some()
                        && (status == StatusCode::NOT_FOUND || status == StatusCode::GONE) =>
                {
                    self.start_again(entry, &mut at)?;
                }
                // The bytes that arrived hash otherwise than the file: damaged on their way (the
                // phone's file is what it hashed). The server dropped the upload; send the file
                // once more from the start, and take a second mismatch as a refusal.
                Err(ClientError::Api { problem, .. })
                    if problem.code == ErrorCode::HashMismatch && !restarted =>
                {
                    restarted = true;
                    self.start_again(entry, &mut at)?;
                }
                Err(ClientError::Api { status, problem }) if is_refusal(status) => {
                    return Ok(Some(refusal(problem)));
                }
                // Our offset is stale, a cut request still holds the upload, the chunk was
                // damaged on the way, or the link failed: ask where it stands and go on.
                Err(e) => {
                    at.known = false;
                    let delay = if is_stale(&e) {
                        self.retry_delay(&mut failures, e)?
                    } else {
                        self.after_failure(&mut failures, e)?
                    };
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One request of `entry`'s upload standing `at`: its creation (carrying `chunk` when the
    /// file is one chunk), a question where it stands, or `chunk` at its offset; the progress of
    /// the bytes written goes out as they go.
    async fn send(
        &mut self,
        entry: &QueuedMedia,
        at: &Standing,
        chunk: Bytes,
        pace: &Pace,
        overall: &Overall,
    ) -> Result<At, ClientError> {
        let confirmed_before = at.sent;
        let progress = &mut *self.progress;
        let mut tick = |written: u64| {
            progress.event(SyncEvent::Uploading(progress_of(
                entry,
                overall,
                confirmed_before,
                confirmed_before + written,
                pace,
            )));
        };
        let client = &mut *self.client;
        match at.url.as_deref() {
            None => create(client, entry, chunk, &mut tick).await,
            Some(url) if !at.known => head(client, url).await,
            Some(url) => patch(client, url, at.sent, chunk, &mut tick).await,
        }
    }

    /// Forgets the upload of `entry` standing `at`, so the file goes again from its start.
    fn start_again(&mut self, entry: &QueuedMedia, at: &mut Standing) -> Result<(), SyncError> {
        at.url = None;
        at.sent = 0;
        at.known = false;
        self.store
            .write(|tx| queue::progress(tx, entry.id, None, 0))?;
        Ok(())
    }
}

/// Where an upload stands as the phone knows it.
struct Standing {
    /// Its address on the server, once created.
    url: Option<String>,
    /// The bytes the server holds.
    sent: u64,
    /// Whether `sent` is what the server said last; after a failure it is asked again.
    known: bool,
}

impl Standing {
    /// The bytes of the file at `path` (of `size` bytes) the next request carries: with a
    /// creation the whole file when it is one chunk of `chunk_size`, else nothing, so the phone
    /// learns where the upload is before the bulk of it goes; nothing with a question; else a
    /// chunk from where the server stands.
    fn next_chunk(&self, size: u64, chunk_size: usize, path: &Path) -> Result<Bytes, MediaFailure> {
        let (from, len) = match (&self.url, self.known) {
            (None, _) if size <= chunk_size as u64 => (0, chunk_size),
            (None, _) | (Some(_), false) => (0, 0),
            (Some(_), true) => (self.sent, chunk_size),
        };
        read_chunk(path, from, len)
            .map(Bytes::from)
            .map_err(|e| MediaFailure {
                code: "file_unreadable".into(),
                detail: format!("the prepared file {} cannot be read: {e}", path.display()),
            })
    }
}

/// Why the server refuses a file, as the media queue keeps it.
fn refusal(problem: sync_protocol::Problem) -> MediaFailure {
    MediaFailure {
        code: problem.code.as_str().to_owned(),
        detail: problem.detail.unwrap_or(problem.title),
    }
}

/// Where the file `entry` stands with `sent` bytes written and `confirmed` confirmed.
fn progress_of(
    entry: &QueuedMedia,
    overall: &Overall,
    confirmed: u64,
    sent: u64,
    pace: &Pace,
) -> UploadProgress {
    let sent = sent.min(entry.size);
    let total_sent = overall.done + sent;
    UploadProgress {
        file_name: entry.file_name.clone(),
        file: overall.file,
        files: overall.files,
        sent,
        confirmed,
        size: entry.size,
        total_sent,
        total_size: overall.total_size,
        time_left: pace.time_for(overall.total_size.saturating_sub(total_sent)),
    }
}

/// Creates the upload, with `body` (the whole file) or none, under the entry's client key.
async fn create(
    client: &mut crate::Client,
    entry: &QueuedMedia,
    body: Bytes,
    tick: crate::api::Tick<'_>,
) -> Result<At, ClientError> {
    let metadata = [
        ("kind", entry.kind.as_str().to_owned()),
        ("sha256", entry.sha256.clone()),
        ("filename", entry.file_name.clone()),
        (entry.of.metadata_key(), entry.of.id().to_string()),
        (CLIENT_KEY_METADATA, entry.id.to_string()),
    ]
    .into_iter()
    .chain(entry.preview_of.clone().map(|of| (PREVIEW_OF_METADATA, of)))
    .map(|(key, value)| format!("{key} {}", B64.encode(&value)))
    .collect::<Vec<_>>()
    .join(",");
    let mut headers = vec![
        ("Upload-Length", entry.size.to_string()),
        ("Upload-Metadata", metadata),
    ];
    let body = (!body.is_empty()).then(|| {
        headers.push(("Upload-Checksum", checksum(&body)));
        body
    });
    let answer = client
        .tus(Method::POST, "/api/v1/uploads", &headers, body, tick)
        .await?;
    let url = answer.location.ok_or_else(|| missing("Location"))?;
    let offset = answer.offset.ok_or_else(|| missing("Upload-Offset"))?;
    Ok(At { url, offset })
}

/// Asks where the upload at `url` stands.
async fn head(client: &mut crate::Client, url: &str) -> Result<At, ClientError> {
    let answer = client
        .tus(Method::HEAD, url, &[], None, &mut |_| {})
        .await?;
    let offset = answer.offset.ok_or_else(|| missing("Upload-Offset"))?;
    Ok(At {
        url: url.to_owned(),
        offset,
    })
}

/// Sends `chunk`, the bytes at `offset`. Without `Upload-Checksum`, so that the server keeps
/// what arrived of a chunk whose connection was cut, and a cut costs only the bytes still on
/// their way; the whole file's SHA-256 is checked when its last byte arrives.
async fn patch(
    client: &mut crate::Client,
    url: &str,
    offset: u64,
    chunk: Bytes,
    tick: crate::api::Tick<'_>,
) -> Result<At, ClientError> {
    let headers = [("Upload-Offset", offset.to_string())];
    let answer = client
        .tus(Method::PATCH, url, &headers, Some(chunk), tick)
        .await?;
    let offset = answer.offset.ok_or_else(|| missing("Upload-Offset"))?;
    Ok(At {
        url: url.to_owned(),
        offset,
    })
}

/// Up to `len` bytes of the file at `path` from `offset` (a file is never held whole: a
/// recording may be hundreds of megabytes on a phone with little memory).
fn read_chunk(path: &Path, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::{Read as _, Seek as _};
    let mut file = std::fs::File::open(path)?;
    file.seek(std::io::SeekFrom::Start(offset))?;
    let mut chunk = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut chunk)?;
    Ok(chunk)
}

/// Whether the answer means the upload moved on or is busy (409 offset mismatch, 423 another
/// request still writing, 460 a damaged chunk): asking where it stands will do.
fn is_stale(error: &ClientError) -> bool {
    error.status().is_some_and(stale_status)
}

fn stale_status(status: StatusCode) -> bool {
    status == StatusCode::CONFLICT
        || status == StatusCode::LOCKED
        || status.as_u16() == CHECKSUM_MISMATCH
}

/// Whether the server refuses the file itself (a bad type, too large, a record out of scope),
/// rather than the session, the moment, or where the upload stands.
fn is_refusal(status: StatusCode) -> bool {
    status.is_client_error()
        && !stale_status(status)
        && ![
            StatusCode::UNAUTHORIZED,
            StatusCode::REQUEST_TIMEOUT,
            StatusCode::UPGRADE_REQUIRED,
            StatusCode::TOO_MANY_REQUESTS,
        ]
        .contains(&status)
}

/// tus: the chunk's checksum did not match what arrived.
const CHECKSUM_MISMATCH: u16 = 460;

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
