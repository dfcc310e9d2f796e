//! The phone's local store: one SQLite file, `<dir>/phone.sqlite`, in WAL mode with
//! `synchronous=FULL`, so a write that returned survives a crash or a pulled battery.
//!
//! Records are kept as the wire structs in JSON. Each of cases, attempts and documents has two
//! states: `base`, the last state the server sent (absent for a record made here and not yet
//! pulled back), and the view (`json`, `version`, `stamps`): the base with every pending outbox
//! mutation replayed on top, which is what the app shows. `version` is the server's version of
//! the base, which new mutations carry as their `base_version`.

pub(crate) mod meta;
pub(crate) mod records;
pub(crate) mod roll;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// The file name of the store inside the phone's directory.
pub(crate) const FILE_NAME: &str = "phone.sqlite";

/// How long a write waits for another process (say, a second `fieldctl`) to finish its own.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 5;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY, case_id TEXT NOT NULL, json TEXT NOT NULL,
    version INTEGER NOT NULL, stamps TEXT NOT NULL, base TEXT);
CREATE TABLE IF NOT EXISTS attempts (
    id TEXT PRIMARY KEY, case_id TEXT NOT NULL, json TEXT NOT NULL,
    version INTEGER NOT NULL, stamps TEXT NOT NULL, base TEXT);
CREATE INDEX IF NOT EXISTS attempts_by_case ON attempts (case_id);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, case_id TEXT NOT NULL, json TEXT NOT NULL,
    version INTEGER NOT NULL, stamps TEXT NOT NULL, base TEXT);
CREATE INDEX IF NOT EXISTS documents_by_case ON documents (case_id);
CREATE TABLE IF NOT EXISTS reviews (id TEXT PRIMARY KEY, case_id TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reviews_by_case ON reviews (case_id);
CREATE TABLE IF NOT EXISTS conflicts (id TEXT PRIMARY KEY, case_id TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS media (id TEXT PRIMARY KEY, case_id TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS media_by_case ON media (case_id);
CREATE TABLE IF NOT EXISTS signatures (id TEXT PRIMARY KEY, case_id TEXT NOT NULL, json TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS signatures_by_case ON signatures (case_id);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, mutation_id TEXT NOT NULL UNIQUE,
    json TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roll (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejections (
    mutation_id TEXT PRIMARY KEY, json TEXT NOT NULL, code TEXT NOT NULL,
    reason TEXT NOT NULL, at TEXT NOT NULL);
";

/// The media queue's table (its rows are read and written by `media::queue`). Until an entry is
/// `prepared`, its file is the original as attached and `size` and `sha256` are the original's
/// size and an empty string.
const MEDIA_QUEUE: &str = "
CREATE TABLE IF NOT EXISTS media_queue (
    id TEXT PRIMARY KEY, target_id TEXT NOT NULL, kind TEXT NOT NULL, file_name TEXT NOT NULL,
    size INTEGER NOT NULL, sha256 TEXT NOT NULL, upload_url TEXT, sent INTEGER NOT NULL,
    state TEXT NOT NULL, failure_code TEXT, failure_detail TEXT, queued_at TEXT NOT NULL,
    prepared INTEGER NOT NULL DEFAULT 1, preview_of TEXT,
    target_kind TEXT NOT NULL DEFAULT 'attempt');
";

/// Brings a table of schema version 1 (where files were prepared when attached, and no preview
/// was sent) up to date.
const MEDIA_QUEUE_FROM_VERSION_1: &str = "
ALTER TABLE media_queue ADD COLUMN prepared INTEGER NOT NULL DEFAULT 1;
ALTER TABLE media_queue ADD COLUMN preview_of TEXT;
";

/// Brings a table of schema version 2 (where every file was an attempt's) up to date: a file may
/// be a document's too.
const MEDIA_QUEUE_FROM_VERSION_2: &str = "
ALTER TABLE media_queue RENAME COLUMN attempt_id TO target_id;
ALTER TABLE media_queue ADD COLUMN target_kind TEXT NOT NULL DEFAULT 'attempt';
";

/// What the local store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory or the database file could not be opened.
    #[error("opening the local store at {path}")]
    Open {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A statement failed.
    #[error("local store: {what}")]
    Sql {
        /// What was being done.
        what: &'static str,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored value could not be read back (or written) as JSON.
    #[error("local store: {what}: bad JSON")]
    Json {
        /// What was being read or written.
        what: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// SQLite refused WAL mode (for example on a file system without shared memory).
    #[error("the local store could not switch to WAL mode (journal_mode is {mode})")]
    NoWal {
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// The file was written by a newer version of this code.
    #[error("the local store has schema version {found}; this app knows up to {SCHEMA_VERSION}")]
    NewerSchema {
        /// The version found.
        found: i64,
    },
}

/// Adds what was being done to a SQLite or JSON error.
pub(crate) trait Context<T> {
    /// Wraps the error with `what`.
    fn context(self, what: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, rusqlite::Error> {
    fn context(self, what: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sql { what, source })
    }
}

impl<T> Context<T> for Result<T, serde_json::Error> {
    fn context(self, what: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Json { what, source })
    }
}

/// The open store. Every method is a short, blocking local call; one connection is shared behind
/// a mutex, so the store is `Send + Sync` and never held across an `.await`.
#[derive(Debug)]
pub(crate) struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) `<dir>/phone.sqlite` and brings its schema up to date.
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Open {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let conn = Connection::open(&path).context("opening the database file")?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .context("setting the busy timeout")?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .context("switching to WAL mode")?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal { mode });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .context("setting synchronous=FULL")?;
        let found: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .context("reading the schema version")?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { found });
        }
        conn.execute_batch(SCHEMA).context("creating the tables")?;
        conn.execute_batch(MEDIA_QUEUE)
            .context("creating the media queue")?;
        if found == 1 {
            conn.execute_batch(MEDIA_QUEUE_FROM_VERSION_1)
                .context("bringing the media queue to schema version 2")?;
        }
        if (1..=2).contains(&found) {
            conn.execute_batch(MEDIA_QUEUE_FROM_VERSION_2)
                .context("bringing the media queue to schema version 3")?;
        }
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .context("writing the schema version")?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Runs `f` on the connection, outside any write transaction.
    pub(crate) fn read<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        // A panic in another caller rolled its transaction back; the connection is still sound.
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&conn)
    }

    /// Runs `f` in one write transaction (taking the write lock at once, so two processes never
    /// interleave), committing if it succeeds and rolling back if it fails.
    pub(crate) fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting a write")?;
        let value = f(&tx)?;
        tx.commit().context("committing a write")?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_in_wal_mode_with_full_sync_and_reopens() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|source| StoreError::Open {
            path: PathBuf::new(),
            source,
        })?;
        let store = Store::open(dir.path())?;
        store.read(|conn| {
            let mode: String = conn
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .context("mode")?;
            let sync: i64 = conn
                .pragma_query_value(None, "synchronous", |r| r.get(0))
                .context("sync")?;
            assert_eq!((mode.as_str(), sync), ("wal", 2));
            Ok::<_, StoreError>(())
        })?;
        drop(store);
        Store::open(dir.path())?;
        assert!(dir.path().join(FILE_NAME).is_file());
        Ok(())
    }
}
