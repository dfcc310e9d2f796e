//! How a PATCH body (or the body of a creation) is received: hashed as it arrives, kept in
//! segments as they fill (locally written into the upload's file as it arrives; on S3 a few
//! parts on their way at once, or a whole small file streamed to its final key), or counted
//! all-or-nothing when a checksum is given; the last byte completes the upload.

use std::ops::Range;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use futures::StreamExt as _;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use sync_protocol::ErrorCode;

use super::complete::{Finished, complete};
use super::lease::{LEASE, LEASE_RENEWAL, Lease, hold, set_offset, take_lease};
use super::{incoming, storage_error};
use crate::db::entity::upload;
use crate::digest::hex;
use crate::error::ApiError;
use crate::media::MediaState;
use crate::media::declaration::bad;
use crate::media::sniff::HEADER_BYTES;
use crate::media::upload_hash;
use crate::storage::{Appender, Incoming, SEGMENT, StorageError, Streamed};

/// A running digest of the algorithm `Upload-Checksum` names.
enum Checksum {
    Sha1(Sha1, Vec<u8>),
    Sha256(Sha256, Vec<u8>),
}

impl Checksum {
    fn parse(header: Option<&str>) -> Result<Option<Self>, ApiError> {
        let Some(header) = header else {
            return Ok(None);
        };
        let (algorithm, value) = header
            .split_once(' ')
            .ok_or_else(|| bad("Upload-Checksum is `<algorithm> <base64>`"))?;
        let expected = B64
            .decode(value.trim())
            .map_err(|_| bad("Upload-Checksum value is not base64"))?;
        match algorithm {
            "sha1" => Ok(Some(Self::Sha1(Sha1::new(), expected))),
            "sha256" => Ok(Some(Self::Sha256(Sha256::new(), expected))),
            other => Err(bad(format!(
                "checksum algorithm `{other}` is not supported (sha1, sha256)"
            ))),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha1(h, _) => h.update(bytes),
            Self::Sha256(h, _) => h.update(bytes),
        }
    }

    fn matches(self) -> bool {
        match self {
            Self::Sha1(h, expected) => h.finalize().as_slice() == expected.as_slice(),
            Self::Sha256(h, expected) => h.finalize().as_slice() == expected.as_slice(),
        }
    }
}

/// Receives a PATCH body at the upload's offset. Without a checksum, every segment is kept as
/// soon as it is written, so a cut connection loses nothing that arrived; with one, the whole
/// body counts or none of it. Returns the upload with its new offset.
pub async fn receive(
    state: &MediaState,
    row: upload::Model,
    headers: &HeaderMap,
    body: Body,
    lease: Lease,
) -> Result<upload::Model, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("content-type") != Some("application/offset+octet-stream") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "a PATCH body is `Content-Type: application/offset+octet-stream`",
        ));
    }
    let offset: u64 = header("upload-offset")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("Upload-Offset is required"))?;
    let checksum = Checksum::parse(header("upload-checksum"))?;
    let body_length = header("content-length").and_then(|v| v.parse().ok());
    if lease == Lease::Take {
        take_lease(state, &row, offset).await?;
    }
    let upload = incoming(&row);
    state.background.upload_moved();
    let received = receive_leased(state, row, offset, body_length, checksum, body, lease).await;
    state.background.upload_moved();
    if received.is_err() {
        if lease == Lease::Unsaved {
            // No row will name what arrived.
            state
                .storage
                .delete_segments(&upload, 0)
                .await
                .map_err(storage_error)?;
        } else {
            // The offset already says what was kept; let the next PATCH in.
            hold(state, upload.id, None).await?;
        }
    }
    received
}

/// A PATCH body on its way to the store. In a local folder its bytes go into the upload's file
/// as they arrive (an [`Appender`]), and each piece is synced; on S3 each piece goes up whole,
/// a few at once (parts of one multipart upload). The offset moves (when it moves piece by
/// piece) only past pieces stored, in order, each time with the hash state of the bytes up to it.
struct Writes<'a> {
    state: &'a MediaState,
    upload: Incoming,
    /// Locally, where every byte goes as it arrives.
    appender: Option<Appender>,
    in_flight: std::collections::VecDeque<InFlight>,
    limit: usize,
    move_offset: bool,
    prepared: bool,
}

/// A piece on its way to the store: where it ends, the hash state there, and the write.
struct InFlight {
    end: u64,
    hash_state: Vec<u8>,
    sending: tokio::task::JoinHandle<Result<(), StorageError>>,
}

impl<'a> Writes<'a> {
    /// The writes of a body whose first byte goes at `start` (`name_now`: see
    /// [`crate::storage::Storage::appender`]).
    fn new(
        state: &'a MediaState,
        upload: Incoming,
        start: u64,
        move_offset: bool,
        name_now: bool,
    ) -> Self {
        Self {
            state,
            appender: state.storage.appender(&upload, start, name_now),
            upload,
            in_flight: Default::default(),
            limit: if state.storage.takes_parts_at_once() {
                3
            } else {
                0
            },
            move_offset,
            prepared: false,
        }
    }

    /// Whether the store takes the bytes from memory (S3), not as they arrive (locally).
    fn in_memory(&self) -> bool {
        self.appender.is_none()
    }

    /// Takes `bytes` as they arrive: locally they are written at once.
    async fn arrived(&mut self, bytes: &Bytes) -> Result<(), ApiError> {
        if let Some(appender) = self.appender.as_mut() {
            appender.write(bytes.clone()).await.map_err(storage_error)?;
        }
        Ok(())
    }

    /// Stores the bytes `piece` of the upload (in memory as `bytes` but locally, where they are
    /// in its file already; `hash_state` is the hash up to their end), waiting while too many
    /// are on their way; locally, syncs what arrived.
    async fn put(
        &mut self,
        piece: Range<u64>,
        bytes: Bytes,
        hash_state: Vec<u8>,
    ) -> Result<(), ApiError> {
        if let Some(appender) = self.appender.as_mut() {
            appender.sync().await.map_err(storage_error)?;
            return self.stored(piece.end, hash_state).await;
        }
        if !self.prepared && self.limit > 0 {
            self.state
                .storage
                .prepare_upload(&self.upload)
                .await
                .map_err(storage_error)?;
            self.prepared = true;
        }
        let (storage, upload) = (self.state.storage.clone(), self.upload.clone());
        let start = piece.start;
        let sending = tokio::spawn(async move { storage.put_segment(&upload, start, bytes).await });
        self.in_flight.push_back(InFlight {
            end: piece.end,
            hash_state,
            sending,
        });
        while self.in_flight.len() > self.limit {
            self.settle_one().await?;
        }
        Ok(())
    }

    async fn settle_one(&mut self) -> Result<(), ApiError> {
        let Some(piece) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let stored = piece
            .sending
            .await
            .map_err(|e| anyhow::anyhow!("storing a piece of upload {}: {e}", self.upload.id))?;
        if let Err(e) = stored {
            // Nothing after a failed piece counts: stop the rest before anyone deletes them.
            for later in self.in_flight.drain(..) {
                later.sending.abort();
                let _ = later.sending.await;
            }
            return Err(storage_error(e));
        }
        self.stored(piece.end, piece.hash_state).await
    }

    /// Every byte up to `end` is stored: the offset moves there (when it moves piece by piece),
    /// with `hash_state`, the hash up to it.
    async fn stored(&self, end: u64, hash_state: Vec<u8>) -> Result<(), ApiError> {
        if self.move_offset {
            set_offset(self.state, self.upload.id, end, hash_state, false).await?;
        }
        Ok(())
    }

    /// Waits for every piece on its way; locally, syncs every byte that arrived.
    async fn settle(&mut self) -> Result<(), ApiError> {
        if let Some(appender) = self.appender.as_mut() {
            appender.sync().await.map_err(storage_error)?;
        }
        while !self.in_flight.is_empty() {
            self.settle_one().await?;
        }
        Ok(())
    }

    /// Stores the last bytes of the body, `bytes` from `start`, which fill no whole piece, once
    /// everything before is settled (locally they are in the file and synced already).
    async fn put_last(&mut self, start: u64, bytes: Bytes) -> Result<(), ApiError> {
        if self.appender.is_none() && !bytes.is_empty() {
            self.state
                .storage
                .put_segment(&self.upload, start, bytes)
                .await
                .map_err(storage_error)?;
        }
        Ok(())
    }
}

/// Receives `body` (of `body_length` bytes, if the request said) at `offset`.
async fn receive_leased(
    state: &MediaState,
    row: upload::Model,
    offset: u64,
    body_length: Option<u64>,
    checksum: Option<Checksum>,
    body: Body,
    lease: Lease,
) -> Result<upload::Model, ApiError> {
    let mut receiving = Receiving::start(state, &row, offset, body_length, checksum, lease)?;
    let cut = receiving.read(row.id, body, lease).await?;
    receiving.writes.settle().await?;
    receiving.check(cut).await?;
    // Completion moves the offset with the link; until then a retry may send the end again.
    receiving.finish(row, lease).await
}

/// A body on its way in: what arrived of it, and where its bytes go.
struct Receiving<'a> {
    state: &'a MediaState,
    writes: Writes<'a>,
    /// The whole file's length.
    length: u64,
    /// Where the body starts.
    offset: u64,
    /// With a checksum, the body counts whole or not at all.
    all_or_nothing: bool,
    checksum: Option<Checksum>,
    /// The hash of every byte received, continued from the state saved with the offset.
    hash: Sha256,
    /// On S3, a whole small file on its way to its final key as it arrives.
    streamed: Option<Streamed>,
    /// Every byte before `written` is in a piece handed to the store; `pending` more are in
    /// the piece being filled.
    written: u64,
    pending: usize,
    /// Where the bytes received end.
    received: u64,
    /// Whether the piece being filled is kept in `buffer` (where the store takes its bytes from
    /// memory: on S3, unless streamed).
    buffered: bool,
    buffer: BytesMut,
    /// Locally, the file's first bytes if this body starts it: what completion sniffs.
    head: Option<BytesMut>,
}

impl<'a> Receiving<'a> {
    /// Prepares to receive a body of the upload `row` from `offset`.
    fn start(
        state: &'a MediaState,
        row: &upload::Model,
        offset: u64,
        body_length: Option<u64>,
        checksum: Option<Checksum>,
        lease: Lease,
    ) -> Result<Self, ApiError> {
        let length = u64::try_from(row.length).unwrap_or(0);
        let all_or_nothing = checksum.is_some();
        let hash = upload_hash::resume(row.hash_state.as_deref(), offset)
            .map_err(|e| anyhow::anyhow!("upload {}: {e}", row.id))?;
        let writes = Writes::new(
            state,
            incoming(row),
            offset,
            !all_or_nothing,
            lease != Lease::Unsaved,
        );
        // On S3, a whole file that fits one piece goes up to its final key as it arrives, and is
        // stored only if completion finds it right (not when the body is one chunk of several,
        // as a phone on a slow link sends them).
        let whole = offset == 0 && body_length.is_none_or(|n| n == length);
        let streamed = if whole && length < SEGMENT as u64 {
            state.storage.stream_original(&row.sha256, length)
        } else {
            None
        };
        // The piece being filled: its bytes where the store takes them from memory (locally
        // they are in the upload's file as they arrive; streamed, they are kept as sent).
        let buffered = writes.in_memory() && streamed.is_none();
        let buffer = if buffered {
            let left = usize::try_from(length - offset).unwrap_or(SEGMENT);
            BytesMut::with_capacity(SEGMENT.min(left))
        } else {
            BytesMut::new()
        };
        let head = (offset == 0 && !writes.in_memory()).then(BytesMut::new);
        Ok(Self {
            state,
            writes,
            length,
            offset,
            all_or_nothing,
            checksum,
            hash,
            streamed,
            written: offset,
            pending: 0,
            received: offset,
            buffered,
            buffer,
            head,
        })
    }

    /// Reads `body` to its end, renewing the lease of upload `id` as it goes; whether the body
    /// was cut, or silent for the idle time (a connection that died without closing): what
    /// arrived is then kept as from a cut body.
    async fn read(&mut self, id: uuid::Uuid, body: Body, lease: Lease) -> Result<bool, ApiError> {
        let mut stream = body.into_data_stream();
        let mut renewed = tokio::time::Instant::now();
        loop {
            let idle = self.state.upload_idle;
            let piece = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(Ok(piece))) => piece,
                Ok(None) => return Ok(false),
                Ok(Some(Err(_))) | Err(_) => return Ok(true),
            };
            // An upload nobody else knows has no row to hold yet.
            if lease != Lease::Unsaved && renewed.elapsed() >= LEASE_RENEWAL {
                hold(self.state, id, Some(Utc::now() + LEASE)).await?;
                renewed = tokio::time::Instant::now();
            }
            self.arrived(piece).await?;
        }
    }

    /// Takes a piece of the body as it arrives.
    async fn arrived(&mut self, piece: Bytes) -> Result<(), ApiError> {
        if self.received + piece.len() as u64 > self.length {
            self.writes.settle().await?;
            // Without a checksum the segments already written stand; with one, none of this
            // body does.
            let from = if self.all_or_nothing {
                self.offset
            } else {
                self.written
            };
            self.delete_from(from).await?;
            return Err(bad(format!(
                "the body goes past Upload-Length {}",
                self.length
            )));
        }
        if let Some(c) = self.checksum.as_mut() {
            c.update(&piece);
        }
        self.writes.arrived(&piece).await?;
        if let Some(streamed) = self.streamed.as_mut() {
            streamed.send(piece.clone()).await;
        }
        self.received += piece.len() as u64;
        self.split(piece).await
    }

    /// Hashes `rest` and stores it in pieces that end on the store's segment boundaries (on S3
    /// each whole one is a part), each with the hash state at its end.
    async fn split(&mut self, mut rest: Bytes) -> Result<(), ApiError> {
        while !rest.is_empty() {
            let end = self.written + self.pending as u64;
            let room = SEGMENT - usize::try_from(end % SEGMENT as u64).unwrap_or(0);
            let bytes = rest.split_to(rest.len().min(room));
            let fills = bytes.len() == room;
            self.hash.update(&bytes);
            self.pending += bytes.len();
            if self.buffered {
                self.buffer.extend_from_slice(&bytes);
            } else if let Some(head) = self.head.as_mut() {
                let wanted = (HEADER_BYTES as usize)
                    .saturating_sub(head.len())
                    .min(bytes.len());
                head.extend_from_slice(&bytes[..wanted]);
            }
            if fills {
                let piece = self.written..self.written + self.pending as u64;
                let hash_state = upload_hash::save(&self.hash);
                let bytes = self.buffer.split().freeze();
                self.writes.put(piece.clone(), bytes, hash_state).await?;
                (self.written, self.pending) = (piece.end, 0);
            }
        }
        Ok(())
    }

    /// Deletes what the store keeps of the upload from `from` on.
    async fn delete_from(&self, from: u64) -> Result<(), ApiError> {
        self.state
            .storage
            .delete_segments(&self.writes.upload, from)
            .await
            .map_err(storage_error)
    }

    /// With a checksum, a body that was cut or does not match it counts for nothing (460).
    async fn check(&mut self, cut: bool) -> Result<(), ApiError> {
        if !self.all_or_nothing || !cut && self.checksum.take().is_some_and(Checksum::matches) {
            return Ok(());
        }
        self.delete_from(self.offset).await?;
        Err(ApiError::new(
            StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
            ErrorCode::ChecksumMismatch,
            if cut {
                "the body was cut; send it again"
            } else {
                "Upload-Checksum does not match the body; the offset did not move"
            },
        ))
    }

    /// Stores the last bytes of the body, and completes the upload `row` if they end the file;
    /// otherwise saves the offset reached and lets the upload go.
    async fn finish(mut self, row: upload::Model, lease: Lease) -> Result<upload::Model, ApiError> {
        let state = self.state;
        let last = match self.streamed.take() {
            // The whole file came in this request, on its way to the store but for its last
            // byte.
            Some(put) if self.received == self.length => {
                let sha256 = hex(&self.hash.finalize());
                return complete(state, row, Finished::Streamed { put, sha256 }, lease).await;
            }
            // Cut: what arrived is kept as a segment (the PUT is abandoned).
            Some(put) => Bytes::from(put.file()),
            None => self.buffer.split().freeze(),
        };
        self.writes.put_last(self.written, last).await?;
        if self.received == self.length {
            let sha256 = hex(&self.hash.finalize());
            let head = self.head.map(BytesMut::freeze);
            return complete(state, row, Finished::Kept { sha256, head }, lease).await;
        }
        let hash_state = upload_hash::save(&self.hash);
        let row = upload::Model {
            offset: i64::try_from(self.received).unwrap_or(i64::MAX),
            hash_state: Some(hash_state.clone()),
            busy_until: None,
            busy_by: None,
            ..row
        };
        if lease == Lease::Unsaved {
            state
                .storage
                .keep_upload_name(&self.writes.upload)
                .await
                .map_err(storage_error)?;
            crate::db::uploads::insert(&state.db.write, &row).await?;
        } else {
            set_offset(state, row.id, self.received, hash_state, true).await?;
        }
        Ok(row)
    }
}
