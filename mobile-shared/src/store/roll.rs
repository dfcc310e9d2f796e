//! The roll of the user's school as last fetched (`GET /api/v1/roll`): whom an absence can be
//! reported for while offline.

use rusqlite::{Connection, OptionalExtension as _, params};
use sync_protocol::StudentId;
use sync_protocol::students::RollEntry;

use super::{Context as _, StoreError};

/// Replaces the roll held here with `pupils`, keeping their order.
pub(crate) fn replace(conn: &Connection, pupils: &[RollEntry]) -> Result<(), StoreError> {
    conn.execute("DELETE FROM roll", [])
        .context("replacing the roll")?;
    let mut insert = conn
        .prepare_cached("INSERT INTO roll (id, json) VALUES (?1, ?2)")
        .context("replacing the roll")?;
    for pupil in pupils {
        let json = serde_json::to_string(pupil).context("replacing the roll")?;
        insert
            .execute(params![pupil.id.to_string(), json])
            .context("replacing the roll")?;
    }
    Ok(())
}

/// The pupil `id`, if on the roll held here.
pub(crate) fn pupil(conn: &Connection, id: StudentId) -> Result<Option<RollEntry>, StoreError> {
    let json: Option<String> = conn
        .query_row(
            "SELECT json FROM roll WHERE id = ?1",
            [id.to_string()],
            |row| row.get(0),
        )
        .optional()
        .context("reading the roll")?;
    json.map(|j| serde_json::from_str(&j))
        .transpose()
        .context("reading the roll")
}

/// The roll held here, in the order the server listed it (grade, class, name).
pub(crate) fn all(conn: &Connection) -> Result<Vec<RollEntry>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT json FROM roll ORDER BY rowid")
        .context("reading the roll")?;
    let rows = statement
        .query_map([], |row| row.get::<_, String>(0))
        .context("reading the roll")?
        .collect::<Result<Vec<_>, _>>()
        .context("reading the roll")?;
    rows.iter()
        .map(|j| serde_json::from_str(j).context("reading the roll"))
        .collect()
}
