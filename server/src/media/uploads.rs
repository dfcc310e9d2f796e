//! The rules of a resumable upload: what a creation must declare, who may upload to which
//! record, how a PATCH body is received (kept in segments as it arrives, or all-or-nothing when a
//! checksum is given), and what happens when the last byte arrives.

use std::collections::HashMap;
use std::ops::Range;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt as _;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ColumnTrait, ConnectionTrait as _, EntityTrait, Iterable as _,
    QueryFilter, QuerySelect, QueryTrait as _, TransactionTrait,
};
use sync_protocol::sync::EntityKind;

use crate::db::changes::{ChangeSet, RecordScope};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use sync_protocol::ErrorCode;
use sync_protocol::media::MediaKind;
use uuid::Uuid;

use super::{probe, upload_hash};
use crate::auth::AuthUser;
use crate::config::MediaLimits;
use crate::db::entity::{attempt, case, document, media_object, upload};
use crate::digest::hex;
use crate::error::ApiError;
use crate::ledger::LedgerKind;
use crate::state::AppState;
use crate::storage::{Appender, Incoming, SEGMENT, StorageError, Stored, Streamed};

/// How long an unfinished upload is kept.
pub const EXPIRY: Duration = Duration::hours(24);

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidParameter, detail)
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs.
pub fn parse_metadata(header: &str) -> Result<HashMap<String, String>, ApiError> {
    let mut out = HashMap::new();
    for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let bytes = B64
            .decode(value.trim())
            .map_err(|_| bad(format!("Upload-Metadata `{key}` is not base64")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| bad(format!("Upload-Metadata `{key}` is not UTF-8")))?;
        out.insert(key.to_owned(), text);
    }
    Ok(out)
}

/// What a creation declares.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// The kind.
    pub kind: MediaKind,
    /// The SHA-256 of the whole file, lowercase hex.
    pub sha256: String,
    /// The file name.
    pub file_name: String,
    /// `attempt` or `document`.
    pub target_kind: &'static str,
    /// The attempt or document.
    pub target_id: Uuid,
    /// The whole length.
    pub length: u64,
    /// When and where the phone says the file was made (`captured_at` in RFC 3339, `lat`,
    /// `lon`); the file's own EXIF wins.
    pub origin: probe::Origin,
}

/// The optional `captured_at`, `lat` and `lon` of `Upload-Metadata`.
fn declared_origin(metadata: &HashMap<String, String>) -> Result<probe::Origin, ApiError> {
    let captured_at = metadata
        .get("captured_at")
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| bad(format!("`captured_at` is not an RFC 3339 time: {e}")))
        })
        .transpose()?;
    let degrees = |key: &str, limit: f64| {
        metadata
            .get(key)
            .map(|v| match v.trim().parse::<f64>() {
                Ok(d) if d.abs() <= limit => Ok(d),
                _ => Err(bad(format!(
                    "`{key}` must be degrees between -{limit} and {limit}, not `{v}`"
                ))),
            })
            .transpose()
    };
    let location = match (degrees("lat", 90.0)?, degrees("lon", 180.0)?) {
        (Some(lat), Some(lon)) => Some((lat, lon)),
        (None, None) => None,
        _ => return Err(bad("`lat` and `lon` come together or not at all")),
    };
    Ok(probe::Origin {
        captured_at,
        location,
    })
}

/// Reads and checks a creation's headers against the size `limits`.
pub fn declaration(headers: &HeaderMap, limits: &MediaLimits) -> Result<Declaration, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let length: u64 = header("upload-length")
        .ok_or_else(|| bad("Upload-Length is required (deferred length is not supported)"))?
        .parse()
        .map_err(|_| bad("Upload-Length is not a whole number"))?;
    let metadata = parse_metadata(header("upload-metadata").unwrap_or_default())?;
    let field = |key: &str| {
        metadata
            .get(key)
            .cloned()
            .ok_or_else(|| bad(format!("Upload-Metadata needs `{key}`")))
    };
    let kind: MediaKind = field("kind")?.parse().map_err(bad)?;
    let sha256 = field("sha256")?.to_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("Upload-Metadata `sha256` must be 64 hex digits"));
    }
    let file_name = field("filename")?;
    let (target_kind, target) = match (metadata.get("attempt_id"), metadata.get("document_id")) {
        (Some(id), None) => ("attempt", id),
        (None, Some(id)) => ("document", id),
        _ => {
            return Err(bad(
                "Upload-Metadata needs exactly one of `attempt_id` and `document_id`",
            ));
        }
    };
    let target_id = target
        .parse()
        .map_err(|_| bad(format!("`{target_kind}_id` is not a UUID")))?;
    let max = limits.max_size(kind);
    if length > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!(
                "a {} may be at most {max} bytes, not {length}",
                kind.as_str()
            ),
        ));
    }
    let origin = declared_origin(&metadata)?;
    Ok(Declaration {
        kind,
        sha256,
        file_name,
        target_kind,
        target_id,
        length,
        origin,
    })
}

/// The case of the attempt or document `declaration` names, if the caller may see it.
async fn target_case(
    state: &AppState,
    user: &AuthUser,
    declaration: &Declaration,
) -> Result<case::Model, ApiError> {
    // The record's case, in one query.
    let owner = match declaration.target_kind {
        "attempt" => Query::select()
            .column(attempt::Column::CaseId)
            .from(attempt::Entity)
            .and_where(attempt::Column::Id.eq(declaration.target_id))
            .to_owned(),
        _ => Query::select()
            .column(document::Column::CaseId)
            .from(document::Entity)
            .and_where(document::Column::Id.eq(declaration.target_id))
            .to_owned(),
    };
    case::Entity::find()
        .filter(case::Column::Id.in_subquery(owner))
        .filter(user.scope().condition::<case::Entity>())
        .one(&state.db.read)
        .await?
        .ok_or_else(|| ApiError::not_found(declaration.target_kind))
}

/// Creates an upload; returns it and how a body that follows (creation-with-upload) holds it.
///
/// Until the answer nobody else knows the upload's id (a client whose creation was cut starts
/// a new one), so the body of a file smaller than a segment is received before anything is
/// written (no piece of it can be stored, and so acknowledged, before its end): its
/// row is written when the request ends, with the link or with the offset reached
/// ([`Lease::Unsaved`]). Otherwise the row is written now, leased to the request if a body
/// follows. If the object is stored already, the upload is finished at once. The record must be
/// in the caller's scope (404 otherwise).
pub async fn create(
    state: &AppState,
    user: &AuthUser,
    declaration: &Declaration,
    with_body: bool,
) -> Result<(upload::Model, Lease), ApiError> {
    // Asked together; whether the file is stored counts only once the record is in scope.
    let (case, stored) = tokio::join!(
        target_case(state, user, declaration),
        is_evidence(&state.db.read, &declaration.sha256, None)
    );
    let case = case?;
    let now = Utc::now();
    let mut row = upload::Model {
        id: Uuid::now_v7(),
        user_id: user.id,
        kind: declaration.kind.as_str().to_owned(),
        sha256: declaration.sha256.clone(),
        length: i64::try_from(declaration.length).unwrap_or(i64::MAX),
        offset: 0,
        file_name: declaration.file_name.clone(),
        target_kind: declaration.target_kind.to_owned(),
        target_id: declaration.target_id,
        case_id: case.id,
        created_at: now,
        expires_at: now + EXPIRY,
        busy_until: None,
        captured_at: declaration.origin.captured_at,
        lat: declaration.origin.location.map(|l| l.0),
        lon: declaration.origin.location.map(|l| l.1),
        hash_state: None,
    };
    if stored? {
        let head = state
            .storage
            .read_range(&row.sha256, 0..HEADER_BYTES.min(declaration.length))
            .await
            .map_err(storage_error)?;
        let content_type = allowed_type(&row.kind, &head)?;
        let linked = link(state, row, content_type, &head, Lease::Unsaved).await?;
        return Ok((linked, Lease::Unsaved));
    }
    if with_body && declaration.length < SEGMENT as u64 {
        return Ok((row, Lease::Unsaved));
    }
    row.busy_until = with_body.then(|| now + LEASE);
    save_new(&state.db.write, &row).await?;
    Ok((row, Lease::Held))
}

/// Writes the row of an upload not saved before.
async fn save_new(
    db: &impl sea_orm::ConnectionTrait,
    row: &upload::Model,
) -> Result<(), sea_orm::DbErr> {
    upload::ActiveModel::from(row.clone())
        .reset_all()
        .insert(db)
        .await?;
    Ok(())
}

fn storage_error(e: StorageError) -> ApiError {
    match e {
        StorageError::UploadFile(e) if e.kind() == std::io::ErrorKind::WouldBlock => busy(),
        e => ApiError::Internal(anyhow::anyhow!(e)),
    }
}

/// 423: another request is still writing the upload.
fn busy() -> ApiError {
    ApiError::new(
        StatusCode::LOCKED,
        ErrorCode::UploadBusy,
        "another request is still writing this upload; ask again with HEAD shortly",
    )
}

/// The upload `row` as the store keeps it.
fn incoming(row: &upload::Model) -> Incoming {
    Incoming {
        id: row.id,
        sha256: row.sha256.clone(),
    }
}

/// The upload `id` of `user` that has not expired.
pub async fn find(state: &AppState, user: &AuthUser, id: Uuid) -> Result<upload::Model, ApiError> {
    upload::Entity::find_by_id(id)
        .filter(upload::Column::UserId.eq(user.id))
        .filter(upload::Column::ExpiresAt.gt(Utc::now()))
        .one(&state.db.write)
        .await?
        .ok_or_else(|| ApiError::not_found("upload"))
}

/// How long `HEAD` waits for a PATCH that holds the upload.
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The upload `id` of `user` once no PATCH holds it, or as it stands after [`SETTLE_WAIT`].
pub async fn settled(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
) -> Result<upload::Model, ApiError> {
    let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
    loop {
        let row = find(state, user, id).await?;
        let held = row.busy_until.is_some_and(|until| until > Utc::now());
        if !held || tokio::time::Instant::now() >= deadline {
            return Ok(row);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

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

/// Seconds a request holds an upload after it took it or last renewed it; another may take
/// over after that. A request renews it while its body's bytes keep coming, and a body silent
/// for `UPLOAD_IDLE_SECS` ends as cut, letting the upload go.
const LEASE_SECS: u64 = 60;
const LEASE: Duration = Duration::seconds(LEASE_SECS as i64);
/// Seconds between renewals of the hold by a request receiving bytes.
const LEASE_RENEWAL_SECS: u64 = 20;
const LEASE_RENEWAL: std::time::Duration = std::time::Duration::from_secs(LEASE_RENEWAL_SECS);
/// The longest `UPLOAD_IDLE_SECS`: a silent request ends before its hold can lapse (its last
/// renewal may be this much older than its last byte).
pub const MAX_IDLE_SECS: u64 = LEASE_SECS - LEASE_RENEWAL_SECS;

/// Holds upload `id` for the request receiving it until `until`; `None` lets it go.
async fn hold(state: &AppState, id: Uuid, until: Option<DateTime<Utc>>) -> Result<(), ApiError> {
    upload::Entity::update_many()
        .col_expr(upload::Column::BusyUntil, Expr::value(until))
        .filter(upload::Column::Id.eq(id))
        .exec(&state.db.write)
        .await?;
    Ok(())
}

/// Moves the offset, with `hash_state`, the hash of the bytes up to it (see [`upload_hash`]);
/// `release` ends the PATCH's lease, otherwise it is renewed.
async fn set_offset(
    state: &AppState,
    id: Uuid,
    offset: u64,
    hash_state: Vec<u8>,
    release: bool,
) -> Result<(), ApiError> {
    let lease = (!release).then(|| Utc::now() + LEASE);
    upload::Entity::update_many()
        .col_expr(
            upload::Column::Offset,
            Expr::value(i64::try_from(offset).unwrap_or(i64::MAX)),
        )
        .col_expr(upload::Column::HashState, Expr::value(Some(hash_state)))
        .col_expr(upload::Column::BusyUntil, Expr::value(lease))
        .filter(upload::Column::Id.eq(id))
        .exec(&state.db.write)
        .await?;
    Ok(())
}

/// Whether a request receiving a body must take the upload's lease, holds it already, or
/// holds an upload nobody else knows yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// A PATCH: take it (409 or 423 if the upload stands elsewhere or is held).
    Take,
    /// The creating request, whose new row was made leased.
    Held,
    /// The creating request, whose row is not written yet: it is written when the request
    /// ends (nothing is, if the upload is refused or cut while all-or-nothing).
    Unsaved,
}

/// Takes the upload for one PATCH at `offset`: refused with 409 if the upload stands elsewhere,
/// 423 while another PATCH is still receiving (a client retrying after a cut may arrive while
/// the server is still keeping what the cut connection sent).
async fn take_lease(state: &AppState, row: &upload::Model, offset: u64) -> Result<(), ApiError> {
    let now = Utc::now();
    let taken = upload::Entity::update_many()
        .col_expr(upload::Column::BusyUntil, Expr::value(Some(now + LEASE)))
        .filter(upload::Column::Id.eq(row.id))
        .filter(upload::Column::Offset.eq(i64::try_from(offset).unwrap_or(i64::MAX)))
        .filter(
            sea_orm::Condition::any()
                .add(upload::Column::BusyUntil.is_null())
                .add(upload::Column::BusyUntil.lt(now)),
        )
        .exec(&state.db.write)
        .await?;
    if taken.rows_affected == 1 {
        return Ok(());
    }
    let current = upload::Entity::find_by_id(row.id)
        .one(&state.db.write)
        .await?
        .ok_or_else(|| ApiError::not_found("upload"))?;
    if current.offset != i64::try_from(offset).unwrap_or(i64::MAX) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::OffsetMismatch,
            format!("the upload stands at {}, not {offset}", current.offset),
        ));
    }
    Err(busy())
}

/// Receives a PATCH body at the upload's offset. Without a checksum, every segment is kept as
/// soon as it is written, so a cut connection loses nothing that arrived; with one, the whole
/// body counts or none of it. Returns the upload with its new offset.
pub async fn receive(
    state: &AppState,
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
    state: &'a AppState,
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
        state: &'a AppState,
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
    state: &AppState,
    row: upload::Model,
    offset: u64,
    body_length: Option<u64>,
    mut checksum: Option<Checksum>,
    body: Body,
    lease: Lease,
) -> Result<upload::Model, ApiError> {
    let length = u64::try_from(row.length).unwrap_or(0);
    let all_or_nothing = checksum.is_some();
    let upload = incoming(&row);
    // The hash of every byte received, continued from the state saved with the offset.
    let mut hash = upload_hash::resume(row.hash_state.as_deref(), offset)
        .map_err(|e| anyhow::anyhow!("upload {}: {e}", row.id))?;
    let mut stream = body.into_data_stream();
    let (mut written, mut received, mut cut) = (offset, offset, false);
    let mut writes = Writes::new(
        state,
        upload.clone(),
        offset,
        !all_or_nothing,
        lease != Lease::Unsaved,
    );
    // On S3, a whole file that fits one piece goes up to its final key as it arrives, and is
    // stored only if completion finds it right (not when the body is one chunk of several, as
    // a phone on a slow link sends them).
    let whole = offset == 0 && body_length.is_none_or(|n| n == length);
    let mut streamed = if whole && length < SEGMENT as u64 {
        state.storage.stream_original(&row.sha256, length)
    } else {
        None
    };
    // The piece being filled: its length, and its bytes where the store takes them from memory
    // (locally they are in the upload's file as they arrive; streamed, they are kept as sent).
    let mut pending = 0;
    let buffered = writes.in_memory() && streamed.is_none();
    let mut buffer = if buffered {
        BytesMut::with_capacity(SEGMENT.min(usize::try_from(length - offset).unwrap_or(SEGMENT)))
    } else {
        BytesMut::new()
    };
    // Locally, the file's first bytes if this body starts it: what completion sniffs.
    let mut head = (offset == 0 && !writes.in_memory()).then(BytesMut::new);
    let mut renewed = tokio::time::Instant::now();
    loop {
        let piece = match tokio::time::timeout(state.config.upload_idle, stream.next()).await {
            Ok(Some(Ok(piece))) => piece,
            Ok(None) => break,
            // Cut, or silent for the idle time (a connection that died without closing): what
            // arrived is kept as from a cut body.
            Ok(Some(Err(_))) | Err(_) => {
                cut = true;
                break;
            }
        };
        // An upload nobody else knows has no row to hold yet.
        if lease != Lease::Unsaved && renewed.elapsed() >= LEASE_RENEWAL {
            hold(state, row.id, Some(Utc::now() + LEASE)).await?;
            renewed = tokio::time::Instant::now();
        }
        if received + piece.len() as u64 > length {
            writes.settle().await?;
            // Without a checksum the segments already written stand; with one, none of this body does.
            let from = if all_or_nothing { offset } else { written };
            state
                .storage
                .delete_segments(&upload, from)
                .await
                .map_err(storage_error)?;
            return Err(bad(format!("the body goes past Upload-Length {length}")));
        }
        if let Some(c) = checksum.as_mut() {
            c.update(&piece);
        }
        writes.arrived(&piece).await?;
        if let Some(streamed) = streamed.as_mut() {
            streamed.send(piece.clone()).await;
        }
        received += piece.len() as u64;
        // Hashed as it arrives; stored in pieces that end on the store's segment boundaries (on
        // S3 each whole one is a part), each with the hash state at its end.
        let mut rest = piece;
        while !rest.is_empty() {
            let end = written + pending as u64;
            let room = SEGMENT - usize::try_from(end % SEGMENT as u64).unwrap_or(0);
            let bytes = rest.split_to(rest.len().min(room));
            let fills = bytes.len() == room;
            hash.update(&bytes);
            pending += bytes.len();
            if buffered {
                buffer.extend_from_slice(&bytes);
            } else if let Some(head) = head.as_mut() {
                let wanted = (HEADER_BYTES as usize)
                    .saturating_sub(head.len())
                    .min(bytes.len());
                head.extend_from_slice(&bytes[..wanted]);
            }
            if fills {
                let piece = written..written + pending as u64;
                let hash_state = upload_hash::save(&hash);
                writes
                    .put(piece.clone(), buffer.split().freeze(), hash_state)
                    .await?;
                (written, pending) = (piece.end, 0);
            }
        }
    }
    writes.settle().await?;
    if all_or_nothing && (cut || !checksum.take().is_some_and(Checksum::matches)) {
        state
            .storage
            .delete_segments(&upload, offset)
            .await
            .map_err(storage_error)?;
        return Err(ApiError::new(
            StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
            ErrorCode::ChecksumMismatch,
            if cut {
                "the body was cut; send it again"
            } else {
                "Upload-Checksum does not match the body; the offset did not move"
            },
        ));
    }
    // Completion moves the offset with the link; until then a retry may send the end again.
    let last = match streamed {
        // The whole file came in this request, on its way to the store but for its last byte.
        Some(put) if received == length => {
            let sha256 = hex(&hash.finalize());
            return complete(state, row, Finished::Streamed { put, sha256 }, lease).await;
        }
        // Cut: what arrived is kept as a segment (the PUT is abandoned).
        Some(put) => Bytes::from(put.file()),
        None => buffer.freeze(),
    };
    writes.put_last(written, last).await?;
    if received == length {
        let sha256 = hex(&hash.finalize());
        let head = head.map(BytesMut::freeze);
        return complete(state, row, Finished::Kept { sha256, head }, lease).await;
    }
    let hash_state = upload_hash::save(&hash);
    let row = upload::Model {
        offset: i64::try_from(received).unwrap_or(i64::MAX),
        hash_state: Some(hash_state.clone()),
        busy_until: None,
        ..row
    };
    if lease == Lease::Unsaved {
        state
            .storage
            .keep_upload_name(&upload)
            .await
            .map_err(storage_error)?;
        save_new(&state.db.write, &row).await?;
    } else {
        set_offset(state, row.id, received, hash_state, true).await?;
    }
    Ok(row)
}

/// The type sniffed from `head` if a file of `kind` may have it (the declared name and the
/// client's Content-Type are not trusted).
pub fn allowed_type(kind: &str, head: &[u8]) -> Result<&'static str, ApiError> {
    let kind: MediaKind = kind.parse().map_err(|e: String| anyhow::anyhow!(e))?;
    let sniffed = infer::get(head).map(|t| t.mime_type());
    match sniffed {
        Some(t) if kind.allowed_types().contains(&t) => Ok(t),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            format!(
                "a file of kind `{}` must be one of {}; this file is {}; it was not kept",
                kind.as_str(),
                kind.allowed_types().join(", "),
                sniffed.unwrap_or("of no known type")
            ),
        )),
    }
}

/// Most pixels an image may declare (about 50 megapixels: far above any phone camera).
pub const MAX_PIXELS: u64 = 50_000_000;
/// Longest side an image may declare.
pub const MAX_SIDE: u32 = 20_000;
/// Bytes read to find an image's dimensions (JPEG puts them after EXIF, up to 64 KiB and more).
const HEADER_BYTES: u64 = 512 * 1024;

/// Refuses an image whose header declares more pixels than the server will ever decode, from
/// the header alone (nothing is decoded). Types the decoder does not know (HEIC) pass here.
pub fn check_dimensions(content_type: &str, head: &[u8]) -> Result<(), ApiError> {
    let format = match content_type {
        "image/jpeg" => image::ImageFormat::Jpeg,
        "image/png" => image::ImageFormat::Png,
        "image/webp" => image::ImageFormat::WebP,
        _ => return Ok(()),
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(head), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(64 * 1024 * 1024);
    reader.limits(limits);
    let refused = |detail: String| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ImageTooLarge,
            detail,
        )
    };
    let (width, height) = reader.into_dimensions().map_err(|e| {
        refused(format!(
            "the image's dimensions cannot be read, or exceed {MAX_SIDE} pixels a side: {e}"
        ))
    })?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(refused(format!(
            "the image declares {width}×{height} pixels; at most {MAX_PIXELS} are decoded"
        )));
    }
    Ok(())
}

/// Where the bytes of a finished upload are.
enum Finished {
    /// All of them arrived in the last request and went to the store as they came (on S3;
    /// locally they are in the upload's file as they arrive), but for the last byte.
    Streamed {
        /// The PUT, which keeps the bytes sent.
        put: Streamed,
        /// Their SHA-256, lowercase hex.
        sha256: String,
    },
    /// Kept in the upload's storage.
    Kept {
        /// Their SHA-256, lowercase hex.
        sha256: String,
        /// The file's first bytes (up to [`HEADER_BYTES`]) if they are in memory.
        head: Option<Bytes>,
    },
}

/// Checks and stores a finished upload and links it to its record. A type the kind does not
/// allow, or a size or hash that differs from the declaration, removes the bytes and the upload.
async fn complete(
    state: &AppState,
    row: upload::Model,
    finished: Finished,
    lease: Lease,
) -> Result<upload::Model, ApiError> {
    let length = u64::try_from(row.length).unwrap_or(0);
    // One read serves both: the type from the first bytes, an image's size from its header.
    let head = match &finished {
        Finished::Streamed { put, .. } => put.first(HEADER_BYTES as usize),
        Finished::Kept {
            head: Some(head), ..
        } => head.clone(),
        Finished::Kept { head: None, .. } => state
            .storage
            .upload_head(row.id, HEADER_BYTES)
            .await
            .map_err(storage_error)?,
    };
    let checked = match allowed_type(&row.kind, &head) {
        Ok(t) if t.starts_with("image/") => check_dimensions(t, &head).map(|()| t),
        other => other,
    };
    let content_type = match checked {
        Ok(t) => t,
        Err(refused) => {
            terminate(state, row).await?;
            return Err(refused);
        }
    };
    let stored = match finished {
        Finished::Streamed { put, sha256 } => {
            state
                .storage
                .finish_streamed(put, &row.sha256, length, &sha256)
                .await
        }
        Finished::Kept { sha256, .. } => {
            state
                .storage
                .finish_upload(&incoming(&row), length, &sha256)
                .await
        }
    };
    match stored {
        Ok(Stored::New | Stored::Duplicate) => {
            let linked = link(state, row, content_type, &head, lease).await?;
            if content_type.starts_with("image/") {
                super::derive::thumbnail_later(state, &linked.sha256);
            }
            Ok(linked)
        }
        Err(StorageError::Mismatch { actual_sha256, .. }) => {
            upload::Entity::delete_by_id(row.id)
                .exec(&state.db.write)
                .await?;
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::HashMismatch,
                format!(
                    "the file's SHA-256 is {actual_sha256}, not the declared {}; it was not kept",
                    row.sha256
                ),
            ))
        }
        Err(e) => Err(storage_error(e)),
    }
}

/// Records the stored object as evidence of its attempt or document, with what its bytes say
/// (`head` is its first bytes), and marks the upload done (writing its row if `lease` says it
/// is not written yet). The same file sent again for the same record (a phone that did not
/// hear the answer sends it again) links nothing new.
async fn link(
    state: &AppState,
    row: upload::Model,
    content_type: &str,
    head: &[u8],
    lease: Lease,
) -> Result<upload::Model, ApiError> {
    let record = Some((row.target_kind.as_str(), row.target_id));
    let exif = if content_type.starts_with("image/") {
        probe::exif(head)
    } else {
        probe::Origin::default()
    };
    // Probing reads a recording whole: not for a file the record already has.
    let duration_ms = if content_type.starts_with("audio/")
        && !is_evidence(&state.db.write, &row.sha256, record).await?
    {
        let length = u64::try_from(row.length).unwrap_or(0);
        probe::stored_duration_ms(state, &row.sha256, length).await
    } else {
        None
    };
    let location = exif.location.or(row.lat.zip(row.lon));
    let txn = state.db.write.begin().await?;
    // The record's case, locked until commit: two uploads of the same file for the same record
    // finishing together take turns here, so the second sees the first's link (PostgreSQL;
    // SQLite has one writer at a time anyway).
    let case = case::Entity::find_by_id(row.case_id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    insert_media(
        &txn,
        &row,
        &case,
        content_type,
        &exif,
        location,
        duration_ms,
    )
    .await?;
    let done = upload::Model {
        offset: row.length,
        busy_until: None,
        ..row
    };
    if lease == Lease::Unsaved {
        save_new(&txn, &done).await?;
    } else {
        upload::Entity::update_many()
            .col_expr(upload::Column::Offset, Expr::value(done.offset))
            .col_expr(
                upload::Column::BusyUntil,
                Expr::value(None::<DateTime<Utc>>),
            )
            .filter(upload::Column::Id.eq(done.id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(done)
}

/// Whether the file with `sha256` is evidence of the record `target` (its kind and id), or of
/// any record. If it is, its original is stored: originals are stored before they are linked,
/// and never removed (one stored but never linked, after a failed link, is received again and
/// stored again, byte for byte).
async fn is_evidence(
    db: &impl sea_orm::ConnectionTrait,
    sha256: &str,
    target: Option<(&str, Uuid)>,
) -> Result<bool, sea_orm::DbErr> {
    let found = evidence(sha256, target)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// The ids of the media objects of the file `sha256`: those of the record `target` (its kind
/// and id), or all.
fn evidence(sha256: &str, target: Option<(&str, Uuid)>) -> sea_orm::Select<media_object::Entity> {
    let mut query = media_object::Entity::find()
        .select_only()
        .column(media_object::Column::Id)
        .filter(media_object::Column::Sha256.eq(sha256));
    if let Some((kind, id)) = target {
        query = query
            .filter(media_object::Column::TargetKind.eq(kind))
            .filter(media_object::Column::TargetId.eq(id));
    }
    query
}

/// Inserts the media object of the finished upload `row` and its change-log entry, so phones of
/// the scope of its `case` pull the reference, unless the file is evidence of the same record
/// already (one statement: the insert's own snapshot, taken after the case's lock, sees a link
/// committed by whoever held it before).
async fn insert_media(
    txn: &sea_orm::DatabaseTransaction,
    row: &upload::Model,
    case: &case::Model,
    content_type: &str,
    exif: &probe::Origin,
    location: Option<(f64, f64)>,
    duration_ms: Option<u64>,
) -> Result<(), ApiError> {
    let media = media_object::Model {
        id: Uuid::now_v7(),
        sha256: row.sha256.clone(),
        size: row.length,
        kind: row.kind.clone(),
        content_type: content_type.to_owned(),
        file_name: row.file_name.clone(),
        target_kind: row.target_kind.clone(),
        target_id: row.target_id,
        case_id: row.case_id,
        uploaded_by: row.user_id,
        created_at: Utc::now(),
        captured_at: exif.captured_at.or(row.captured_at),
        lat: location.map(|l| l.0),
        lon: location.map(|l| l.1),
        duration_ms: duration_ms.and_then(|d| i64::try_from(d).ok()),
    };
    let values = media_object::ActiveModel::from(media.clone()).reset_all();
    let (columns, values): (Vec<_>, Vec<Expr>) = media_object::Column::iter()
        .filter_map(|column| match values.get(column) {
            ActiveValue::Set(value) => Some((column, Expr::val(value))),
            _ => None,
        })
        .unzip();
    let linked = evidence(&row.sha256, Some((&row.target_kind, row.target_id)));
    let unless_linked = Query::select()
        .exprs(values)
        .and_where(Expr::not_exists(linked.into_query()))
        .to_owned();
    let insert = Query::insert()
        .into_table(media_object::Entity)
        .columns(columns)
        .select_from(unless_linked)
        .map_err(|e| anyhow::anyhow!("inserting a media object: {e}"))?
        .to_owned();
    if txn.execute(&insert).await?.rows_affected() == 0 {
        return Ok(());
    }
    // Phones of the case's scope pull the reference with their next sync.
    let mut changes = ChangeSet::default();
    changes.upsert(EntityKind::Media, media.id, RecordScope::from(case), true);
    changes.known_content(
        LedgerKind::Media,
        media.id,
        media.case_id,
        crate::ledger::media_content(&media),
    );
    changes.append(txn).await?;
    Ok(())
}

/// Ends an upload and deletes what it had received.
pub async fn terminate(state: &AppState, row: upload::Model) -> Result<(), ApiError> {
    state
        .storage
        .delete_segments(&incoming(&row), 0)
        .await
        .map_err(storage_error)?;
    upload::Entity::delete_by_id(row.id)
        .exec(&state.db.write)
        .await?;
    Ok(())
}

/// Deletes every upload past its expiry and its segments, and the bytes of uploads that never
/// got a row (a server stopped while receiving a creation's body: see [`Lease::Unsaved`]) left
/// untouched for as long; returns how many uploads went.
pub async fn expire(state: &AppState) -> Result<usize, ApiError> {
    let now = Utc::now();
    let expired = upload::Entity::find()
        .filter(upload::Column::ExpiresAt.lte(now))
        .all(&state.db.write)
        .await?;
    let mut count = expired.len();
    for row in expired {
        terminate(state, row).await?;
    }
    let idle = state
        .storage
        .uploads_idle_since(now - EXPIRY)
        .await
        .map_err(storage_error)?;
    let known: std::collections::HashSet<Uuid> = upload::Entity::find()
        .select_only()
        .column(upload::Column::Id)
        .filter(upload::Column::Id.is_in(idle.iter().copied()))
        .into_tuple()
        .all(&state.db.write)
        .await?
        .into_iter()
        .collect();
    for id in idle.into_iter().filter(|id| !known.contains(id)) {
        // Such an upload fitted in one segment, so it has no S3 multipart to abort (whose key
        // would need the hash).
        let orphan = Incoming {
            id,
            sha256: String::new(),
        };
        state
            .storage
            .delete_segments(&orphan, 0)
            .await
            .map_err(storage_error)?;
        count += 1;
    }
    Ok(count)
}

/// Every ten minutes, deletes expired uploads (tus expiration); runs for the server's lifetime.
pub async fn sweep_expired(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
    loop {
        tick.tick().await;
        match expire(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired uploads removed"),
            Err(e) => tracing::warn!(error = ?e, "removing expired uploads failed; will try again"),
        }
    }
}
