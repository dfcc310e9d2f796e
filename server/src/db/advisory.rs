//! PostgreSQL session-level advisory locks: held by one connection of their own until it drops,
//! so a lock says its holder's process still runs.

use sea_orm::Statement;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

/// Opens a connection of its own to `url` (never recycled: the lock lives as long as it does)
/// and takes the advisory lock `key` on it.
pub async fn hold(url: &str, key: i64) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .test_before_acquire(false)
        .sqlx_logging(false);
    let connection = Database::connect(options).await?;
    connection
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_lock($1)",
            [key.into()],
        ))
        .await?;
    Ok(connection)
}

/// Whether some session of this database holds the advisory lock `key`.
pub async fn is_held(connection: &DatabaseConnection, key: i64) -> Result<bool, DbErr> {
    // A bigint key is kept as two 32-bit halves.
    let (high, low) = ((key >> 32) & 0xFFFF_FFFF, key & 0xFFFF_FFFF);
    let row = connection
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1 \
             AND granted) AS held",
            [high.into(), low.into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<bool>("", "held"))
        .transpose()?
        .unwrap_or(false))
}
