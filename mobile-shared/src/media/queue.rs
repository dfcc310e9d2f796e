//! The media queue's rows: reads and writes of the `media_queue` table, which the store creates
//! with the rest of its tables (`store::MEDIA_QUEUE`), so this module uses the store and the store
//! knows nothing of it.

use rusqlite::{Connection, OptionalExtension as _, params};
use sync_protocol::media::MediaKind;
use uuid::Uuid;

use super::{EvidenceOf, MediaFailure, MediaState, QueuedMedia};
use crate::store::{Context as _, StoreError};

const COLUMNS: &str = "id, target_id, kind, file_name, size, sha256, sent, state, failure_code, \
     failure_detail, prepared, preview_of, target_kind";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<QueuedMedia> {
    let uuid = |text: String| Uuid::parse_str(&text).unwrap_or_default();
    let kind: String = row.get(2)?;
    let state: String = row.get(7)?;
    let code: Option<String> = row.get(8)?;
    let detail: Option<String> = row.get(9)?;
    Ok(QueuedMedia {
        id: uuid(row.get(0)?),
        of: EvidenceOf::stored(&row.get::<_, String>(12)?, uuid(row.get(1)?)),
        kind: kind.parse().unwrap_or(MediaKind::Document),
        file_name: row.get(3)?,
        size: row.get::<_, i64>(4)?.try_into().unwrap_or(0),
        sha256: row.get(5)?,
        sent: row.get::<_, i64>(6)?.try_into().unwrap_or(0),
        state: MediaState::parse(&state),
        failure: code.map(|code| MediaFailure {
            code,
            detail: detail.unwrap_or_default(),
        }),
        prepared: row.get(10)?,
        preview_of: row.get(11)?,
    })
}

/// Adds a file to the queue.
pub(crate) fn add(
    conn: &Connection,
    entry: &QueuedMedia,
    queued_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO media_queue (id, target_id, kind, file_name, size, sha256, sent, state,
             queued_at, prepared, preview_of, target_kind)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?10, ?11)",
        params![
            entry.id.to_string(),
            entry.of.id().to_string(),
            entry.kind.as_str(),
            entry.file_name,
            i64::try_from(entry.size).unwrap_or(i64::MAX),
            entry.sha256,
            MediaState::Queued.as_str(),
            queued_at.to_rfc3339(),
            entry.prepared,
            entry.preview_of,
            entry.of.kind(),
        ],
    )
    .context("queueing a file")?;
    Ok(())
}

/// Forgets every entry (another account signs in; nothing of the last one waits).
pub(crate) fn clear(conn: &Connection) -> Result<(), StoreError> {
    conn.execute("DELETE FROM media_queue", [])
        .context("clearing the media queue")?;
    Ok(())
}

/// Every entry, oldest first.
pub(crate) fn all(conn: &Connection) -> Result<Vec<QueuedMedia>, StoreError> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM media_queue ORDER BY queued_at, id"
        ))
        .context("listing the media queue")?;
    let rows = statement
        .query_map([], from_row)
        .context("listing the media queue")?;
    rows.collect::<Result<_, _>>()
        .context("reading the media queue")
}

/// The entries still to prepare, oldest first.
pub(crate) fn unprepared(conn: &Connection) -> Result<Vec<QueuedMedia>, StoreError> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM media_queue WHERE state = ?1 AND prepared = 0
             ORDER BY queued_at, id"
        ))
        .context("listing files to prepare")?;
    let rows = statement
        .query_map([MediaState::Queued.as_str()], from_row)
        .context("listing files to prepare")?;
    rows.collect::<Result<_, _>>()
        .context("reading files to prepare")
}

/// Records that `id` is prepared: its file now has `size` bytes with `sha256`.
pub(crate) fn prepared(
    conn: &Connection,
    id: Uuid,
    size: u64,
    sha256: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE media_queue SET prepared = 1, size = ?2, sha256 = ?3 WHERE id = ?1",
        params![
            id.to_string(),
            i64::try_from(size).unwrap_or(i64::MAX),
            sha256
        ],
    )
    .context("recording a prepared file")?;
    Ok(())
}

/// The prepared entry still to send with the fewest bytes left (so a queue cut short by the
/// link has sent as many whole files as it could), with the upload's address if one was made.
pub(crate) fn next(conn: &Connection) -> Result<Option<(QueuedMedia, Option<String>)>, StoreError> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS}, upload_url FROM media_queue WHERE state = ?1 AND prepared = 1
             ORDER BY size - sent, queued_at, id LIMIT 1"
        ),
        [MediaState::Queued.as_str()],
        // `upload_url` follows the 13 columns of `COLUMNS`.
        |row| Ok((from_row(row)?, row.get(13)?)),
    )
    .optional()
    .context("finding the next file to send")
}

/// What the queue still holds to send: files and bytes in all, and bytes the server confirmed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct QueueTotals {
    /// Files waiting (partly sent ones included).
    pub(crate) files: usize,
    /// Their bytes in all.
    pub(crate) bytes: u64,
    /// Of those, bytes the server has confirmed.
    pub(crate) confirmed: u64,
}

impl QueueTotals {
    /// Bytes still to send.
    pub(crate) fn left(&self) -> u64 {
        self.bytes.saturating_sub(self.confirmed)
    }
}

/// What the queue still holds to send.
pub(crate) fn totals(conn: &Connection) -> Result<QueueTotals, StoreError> {
    conn.query_row(
        "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(sent), 0) FROM media_queue
         WHERE state = ?1",
        [MediaState::Queued.as_str()],
        |row| {
            let count = |i| row.get::<_, i64>(i).map(|n| u64::try_from(n).unwrap_or(0));
            Ok(QueueTotals {
                files: usize::try_from(count(0)?).unwrap_or(usize::MAX),
                bytes: count(1)?,
                confirmed: count(2)?,
            })
        },
    )
    .context("adding up the media queue")
}

/// Records where the upload of `id` is and how much of it the server confirmed.
pub(crate) fn progress(
    conn: &Connection,
    id: Uuid,
    upload_url: Option<&str>,
    sent: u64,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE media_queue SET upload_url = ?2, sent = ?3 WHERE id = ?1",
        params![
            id.to_string(),
            upload_url,
            i64::try_from(sent).unwrap_or(i64::MAX)
        ],
    )
    .context("recording an upload's progress")?;
    Ok(())
}

/// Marks `id` as done, or as refused with `failure`.
pub(crate) fn finish(
    conn: &Connection,
    id: Uuid,
    failure: Option<&MediaFailure>,
) -> Result<(), StoreError> {
    let state = if failure.is_some() {
        MediaState::Failed
    } else {
        MediaState::Done
    };
    conn.execute(
        "UPDATE media_queue SET state = ?2, failure_code = ?3, failure_detail = ?4 WHERE id = ?1",
        params![
            id.to_string(),
            state.as_str(),
            failure.map(|f| f.code.as_str()),
            failure.map(|f| f.detail.as_str()),
        ],
    )
    .context("finishing a queued file")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sync_protocol::{AttemptId, DocumentId};

    use super::*;
    use crate::store::{FILE_NAME, Store};

    /// A queue row as schema version 2 wrote it (every file an attempt's).
    const VERSION_2: &str = "
        CREATE TABLE media_queue (
            id TEXT PRIMARY KEY, attempt_id TEXT NOT NULL, kind TEXT NOT NULL,
            file_name TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, upload_url TEXT,
            sent INTEGER NOT NULL, state TEXT NOT NULL, failure_code TEXT, failure_detail TEXT,
            queued_at TEXT NOT NULL, prepared INTEGER NOT NULL DEFAULT 1, preview_of TEXT);
        PRAGMA user_version = 2;";

    #[test]
    fn a_queue_of_schema_version_2_keeps_its_files_and_takes_documents_files() -> anyhow::Result<()>
    {
        let dir = tempfile::tempdir()?;
        let (entry, attempt) = (Uuid::now_v7(), Uuid::now_v7());
        {
            let old = Connection::open(dir.path().join(FILE_NAME))?;
            old.execute_batch(VERSION_2)?;
            old.execute(
                "INSERT INTO media_queue (id, attempt_id, kind, file_name, size, sha256, sent,
                     state, queued_at) VALUES (?1, ?2, 'photo', 'a.jpg', 10, '', 0, 'queued', '')",
                params![entry.to_string(), attempt.to_string()],
            )?;
        }
        let store = Store::open(dir.path())?;
        let kept = store.read(all)?;
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].of, EvidenceOf::Attempt(AttemptId(attempt)));

        let paper = DocumentId::new();
        let scan = QueuedMedia {
            id: Uuid::now_v7(),
            of: EvidenceOf::Document(paper),
            ..kept[0].clone()
        };
        store.write(|tx| add(tx, &scan, chrono::Utc::now()))?;
        let both = store.read(all)?;
        assert!(both.iter().any(|m| m.of == EvidenceOf::Document(paper)));
        Ok(())
    }
}
