//! This server process among the instances on one database, so that what one holds (an upload
//! receiving its body) is taken over at once when its holder is gone, not when its lease runs
//! out.
//!
//! Each instance holds a lock that ends with its process, kill -9 included: on PostgreSQL a
//! session-level advisory lock on a connection of its own (the database lets it go when the
//! connection drops); on SQLite, whose instances share one machine, an exclusive lock on a file
//! of its own under `DATA_DIR/instances/` (the kernel lets it go when the process ends).

use std::path::{Path, PathBuf};

use sea_orm::DatabaseConnection;
use uuid::Uuid;

/// This process's id and the lock that says it runs.
#[derive(Debug)]
pub struct Instance {
    id: Uuid,
    hold: Hold,
}

#[derive(Debug)]
enum Hold {
    /// The folder of the instances' lock files, and this one's, locked.
    File { dir: PathBuf, _own: std::fs::File },
    /// The connection holding this instance's advisory lock.
    Postgres(DatabaseConnection),
}

/// The advisory lock key of instance `id`: its random last eight bytes.
fn advisory_key(id: Uuid) -> i64 {
    let bytes = id.as_bytes();
    let mut last = [0u8; 8];
    last.copy_from_slice(&bytes[8..]);
    i64::from_be_bytes(last)
}

impl Instance {
    /// Starts this instance's lock: on PostgreSQL when `database_url` names one, else as a file
    /// under `data_dir`.
    pub async fn start(database_url: &str, data_dir: &Path) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let id = Uuid::now_v7();
        let hold = if database_url.starts_with("postgres") {
            let connection = crate::db::advisory::hold(database_url, advisory_key(id))
                .await
                .context("taking the instance lock")?;
            Hold::Postgres(connection)
        } else {
            let dir = data_dir.join("instances");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let own = std::fs::File::create(dir.join(format!("{id}.lock")))
                .context("creating the instance lock file")?;
            own.try_lock().context("locking the instance lock file")?;
            let hold = Hold::File { dir, _own: own };
            hold.forget_the_gone(id)?;
            hold
        };
        Ok(Self { id, hold })
    }

    /// This instance's id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Whether instance `other` (this one included) still runs.
    pub async fn is_running(&self, other: Uuid) -> anyhow::Result<bool> {
        if other == self.id {
            return Ok(true);
        }
        match &self.hold {
            Hold::File { dir, .. } => file_is_locked(&dir.join(format!("{other}.lock"))),
            Hold::Postgres(connection) => {
                Ok(crate::db::advisory::is_held(connection, advisory_key(other)).await?)
            }
        }
    }
}

impl Hold {
    /// Removes the lock files of instances that no longer run (SQLite only).
    fn forget_the_gone(&self, own: Uuid) -> anyhow::Result<()> {
        let Self::File { dir, .. } = self else {
            return Ok(());
        };
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.file_stem().and_then(|s| s.to_str()) != Some(&own.to_string())
                && !file_is_locked(&path)?
            {
                // Another instance starting at once may remove it first.
                let _ = std::fs::remove_file(&path);
            }
        }
        Ok(())
    }
}

/// Whether the lock file at `path` is held by a running instance.
fn file_is_locked(path: &Path) -> anyhow::Result<bool> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}
