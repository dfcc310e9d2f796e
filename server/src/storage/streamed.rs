//! An original sent to S3 while its bytes arrive, so the PUT to the store overlaps the upload
//! instead of following it.
//!
//! The PUT goes to a presigned URL (its payload unsigned: the server hashes the file itself)
//! with the file's `Content-Length`. Its last byte is held back until
//! the caller has checked the whole file's size and hash: a store commits an object only when
//! its whole body has arrived, so a body found wrong, or cut, is never stored. The pieces sent
//! are kept too (they are shared, not copied): completion sniffs their first bytes, and stores
//! them anew should the PUT fail on its way.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::SinkExt as _;
use futures::channel::mpsc;
use object_store::PutPayload;
use object_store::path::Path;
use object_store::signer::Signer;
use reqwest::header::CONTENT_LENGTH;

use super::StorageError;

/// How long a presigned PUT stays valid; it must only start within it.
const URL_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Pieces waiting for the store before the receiver waits in turn.
const QUEUE: usize = 16;
/// How long the store may take a piece, or answer after the last: past it the PUT is abandoned
/// (and the file stored from memory at its end).
const STALLED: Duration = Duration::from_secs(30);

/// How the server reaches an S3 store with PUTs of its own.
#[derive(Clone)]
pub struct Streamer {
    signer: Arc<dyn Signer>,
    client: reqwest::Client,
}

impl Streamer {
    /// PUTs through presigned URLs of `signer`, over HTTPS only unless `allow_http` (as the
    /// store's own client).
    pub fn new(signer: Arc<dyn Signer>, allow_http: bool) -> Result<Self, StorageError> {
        let client = reqwest::Client::builder()
            .https_only(!allow_http)
            .build()
            .map_err(|e| StorageError::Open(format!("the client for streamed PUTs: {e}")))?;
        Ok(Self { signer, client })
    }

    /// Starts the PUT of `size` bytes to `key`; the bytes follow through [`Streamed::send`].
    pub fn start(&self, key: Path, size: u64) -> Streamed {
        let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(QUEUE);
        let (signer, client) = (self.signer.clone(), self.client.clone());
        let put = tokio::spawn(async move {
            let url = signer
                .signed_url(reqwest::Method::PUT, &key, URL_LIFETIME)
                .await?;
            client
                .put(url)
                .header(CONTENT_LENGTH, size)
                .body(reqwest::Body::wrap_stream(receiver))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| StorageError::Streamed(format!("PUT {key}: {e}")))?;
            Ok(())
        });
        Streamed {
            sender,
            put,
            pieces: Vec::new(),
            left: size,
            tail: None,
            failed: false,
        }
    }
}

/// A PUT on its way; dropped before [`Streamed::finish`], it is abandoned and nothing is stored.
pub struct Streamed {
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
    put: tokio::task::JoinHandle<Result<(), StorageError>>,
    /// Every piece received, in order.
    pieces: Vec<Bytes>,
    /// Bytes not sent yet, the tail included.
    left: u64,
    /// The last byte, held back until [`Streamed::finish`].
    tail: Option<Bytes>,
    /// The PUT ended early (the store refused it, went away or stalled): nothing more is sent.
    failed: bool,
}

impl Streamed {
    /// Sends the next `bytes` of the file, keeping its last byte back. A PUT that failed takes
    /// nothing more; [`Streamed::finish`] then reports it.
    pub async fn send(&mut self, mut bytes: Bytes) {
        self.pieces.push(bytes.clone());
        let len = bytes.len() as u64;
        if self.failed || len == 0 || len > self.left {
            self.fail();
            return;
        }
        self.left -= len;
        if self.left == 0 {
            self.tail = Some(bytes.split_off(bytes.len() - 1));
        }
        if !bytes.is_empty() && !self.pass(bytes).await {
            self.fail();
        }
    }

    /// Hands `bytes` to the PUT; false if it ended or stalled.
    async fn pass(&mut self, bytes: Bytes) -> bool {
        matches!(
            tokio::time::timeout(STALLED, self.sender.send(Ok(bytes))).await,
            Ok(Ok(()))
        )
    }

    /// Abandons the PUT.
    fn fail(&mut self) {
        self.failed = true;
        self.put.abort();
    }

    /// The bytes received so far, as pieces.
    pub fn file(&self) -> PutPayload {
        self.pieces.iter().cloned().collect()
    }

    /// The first `n` bytes received (fewer if fewer came).
    pub fn first(&self, n: usize) -> Bytes {
        match self.pieces.first() {
            Some(piece) if piece.len() >= n => piece.slice(..n),
            _ => {
                let mut head = bytes::BytesMut::with_capacity(n);
                for piece in &self.pieces {
                    let wanted = (n - head.len()).min(piece.len());
                    head.extend_from_slice(&piece[..wanted]);
                }
                head.freeze()
            }
        }
    }

    /// Sends the last byte and waits for the store to take the object. Fails, storing nothing,
    /// if the PUT failed on its way or did not get every byte.
    pub async fn finish(mut self) -> Result<(), StorageError> {
        let tail = match self.tail.take() {
            Some(tail) if !self.failed => tail,
            _ => {
                return Err(StorageError::Streamed(
                    "the PUT did not get the whole file".into(),
                ));
            }
        };
        if !self.pass(tail).await {
            self.fail();
        }
        self.sender.close_channel();
        match tokio::time::timeout(STALLED, &mut self.put).await {
            Ok(Ok(put)) => put,
            Ok(Err(e)) => Err(StorageError::Streamed(format!("the PUT's task: {e}"))),
            Err(_) => Err(StorageError::Streamed(format!(
                "the store did not answer within {STALLED:?}"
            ))),
        }
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        // Finished, this is a no-op; otherwise the request goes before its last byte.
        self.put.abort();
    }
}
