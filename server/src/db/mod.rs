//! The database: connections, migrations, entities and the queries handlers call.

pub mod advisory;
pub mod attempts;
pub mod audit;
pub mod calendars;
pub mod case_parts;
pub mod cases;
pub mod chain;
pub mod changes;
pub mod conflicts;
pub mod console;
pub mod documents;
pub mod due;
pub mod entity;
pub mod flags;
pub mod history;
pub mod media;
pub mod migration;
pub mod mutations;
pub mod org;
pub mod reconciliations;
pub mod reviews;
pub mod scope;
pub mod sessions;
pub mod signing;
pub mod students;
pub mod throttle;
pub mod unenrolled;
pub mod uploads;
pub mod users;

pub use scope::Scope;

/// Rows (or ids) per multi-row statement: keeps bind parameters under every engine's limit.
pub const CHUNK: usize = 500;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait as _;

/// The connections the server uses: one for writes and one for reads.
///
/// On SQLite there is one writer at a time, so writes get a pool of one connection with a busy
/// timeout (no request fails with "database is locked") and reads a pool of their own. On
/// PostgreSQL both are the same pool.
#[derive(Debug, Clone)]
pub struct Db {
    /// Every write goes here.
    pub write: DatabaseConnection,
    /// Reads that need not see the caller's own in-flight writes.
    pub read: DatabaseConnection,
}

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and applies every pending migration.
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        let db = if url.starts_with("sqlite:") {
            let write = Database::connect(sqlite_options(url, 1)).await?;
            // Migrate before the read pool opens, so its connections see the schema.
            migration::Migrator::up(&write, None).await?;
            let read = Database::connect(sqlite_options(url, 4)).await?;
            Self { write, read }
        } else {
            let mut options = ConnectOptions::new(url);
            options
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                // A connection is pinged before use only once it has been idle a while (a server,
                // proxy or firewall may have dropped it), not on every checkout.
                .test_before_acquire_if_idle_for(Duration::from_secs(30))
                .sqlx_logging(false);
            let pool = Database::connect(options).await?;
            migration::Migrator::up(&pool, None).await?;
            Self {
                write: pool.clone(),
                read: pool,
            }
        };
        Ok(db)
    }

    /// The database engine in use.
    pub fn backend(&self) -> DbBackend {
        self.write.get_database_backend()
    }

    /// Checks the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.read.ping().await
    }
}

/// SQLite in WAL mode with `synchronous=FULL` (an acknowledged write survives a power cut),
/// foreign keys on, and a busy timeout instead of "database is locked". A connection to a file
/// cannot go stale, so it is not pinged before each use (the ping was a round trip to the
/// connection's thread per query).
fn sqlite_options(url: &str, connections: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .test_before_acquire(false)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
        });
    options
}
