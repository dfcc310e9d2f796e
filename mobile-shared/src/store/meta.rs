//! The `meta` table: the phone's small named values (server, device, session, account, pull
//! cursor, hybrid logical clock, media profile, upload pace, signing key), each stored as JSON.

use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sync_protocol::auth::{Me, TokenPair};
use sync_protocol::hlc::{Hlc, HlcStamp};
use sync_protocol::{DeviceId, UserId};

use super::{Context as _, StoreError};

/// The names of the values kept in `meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    /// The server's base URL (`String`).
    ServerUrl,
    /// This phone's id ([`DeviceId`]), made on first open and kept for good.
    DeviceId,
    /// The current session ([`sync_protocol::auth::TokenPair`]); absent when signed out.
    Session,
    /// The account whose data the store holds ([`Me`]); kept after sign-out.
    Account,
    /// The cursor of the last pulled page applied (`String`).
    Cursor,
    /// The phone's hybrid logical clock ([`Hlc`]).
    Hlc,
    /// The server's media profile ([`sync_protocol::media::MediaProfile`]), as last heard.
    MediaProfile,
    /// The upload pace last measured, bytes a second (`f64`): where the next sync starts.
    UploadPace,
    /// The signed-in account's signing key (`phone::signing::HeldKey`): its private half and,
    /// once registered, its id. It goes with the account's data.
    Signing,
}

impl Key {
    fn as_str(self) -> &'static str {
        match self {
            Self::ServerUrl => "server_url",
            Self::DeviceId => "device_id",
            Self::Session => "session",
            Self::Account => "account",
            Self::Cursor => "pull_cursor",
            Self::Hlc => "hlc",
            Self::MediaProfile => "media_profile",
            Self::UploadPace => "upload_pace",
            Self::Signing => "signing_key",
        }
    }
}

/// Reads a value.
pub(crate) fn get<T: DeserializeOwned>(
    conn: &Connection,
    key: Key,
) -> Result<Option<T>, StoreError> {
    let text: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [key.as_str()],
            |row| row.get(0),
        )
        .optional()
        .context("reading a meta value")?;
    text.map(|t| serde_json::from_str(&t))
        .transpose()
        .context("reading a meta value")
}

/// Writes a value.
pub(crate) fn set<T: Serialize + ?Sized>(
    conn: &Connection,
    key: Key,
    value: &T,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(value).context("writing a meta value")?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key.as_str(), text],
    )
    .context("writing a meta value")?;
    Ok(())
}

/// Removes a value.
pub(crate) fn remove(conn: &Connection, key: Key) -> Result<(), StoreError> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [key.as_str()])
        .context("removing a meta value")?;
    Ok(())
}

/// This phone's device id, made and stored (with a fresh clock) on first call.
pub(crate) fn device_id(conn: &Connection) -> Result<DeviceId, StoreError> {
    if let Some(id) = get(conn, Key::DeviceId)? {
        return Ok(id);
    }
    let id = DeviceId::new();
    set(conn, Key::DeviceId, &id)?;
    set(conn, Key::Hlc, &Hlc::new(id))?;
    Ok(id)
}

fn clock(conn: &Connection) -> Result<Hlc, StoreError> {
    match get(conn, Key::Hlc)? {
        Some(hlc) => Ok(hlc),
        None => Ok(Hlc::new(device_id(conn)?)),
    }
}

/// A fresh stamp from the stored clock at physical time `now_millis`; the clock is saved, so call
/// this inside the transaction that uses the stamp.
pub(crate) fn tick(conn: &Connection, now_millis: i64) -> Result<HlcStamp, StoreError> {
    let mut hlc = clock(conn)?;
    let stamp = hlc.tick(now_millis);
    set(conn, Key::Hlc, &hlc)?;
    Ok(stamp)
}

/// Moves the stored clock past every stamp in `seen`.
pub(crate) fn observe<'a>(
    conn: &Connection,
    seen: impl IntoIterator<Item = &'a HlcStamp>,
) -> Result<(), StoreError> {
    let mut hlc = clock(conn)?;
    let before = hlc;
    for stamp in seen {
        hlc.observe(stamp);
    }
    if hlc != before {
        set(conn, Key::Hlc, &hlc)?;
    }
    Ok(())
}

/// The user whose records this phone makes: the account last signed in. Before any sign-in there
/// are no cases to record on, so the nil id only ever names a record nobody can see.
pub(crate) fn author(conn: &Connection) -> Result<UserId, StoreError> {
    Ok(get::<Me>(conn, Key::Account)?
        .map(|me| me.id)
        .unwrap_or(UserId(uuid::Uuid::nil())))
}

/// Saves the client's current session (its refresh token rotates on every refresh, so an
/// unsaved pair would leave a spent token behind), or forgets it when there is none.
pub(crate) fn save_session(
    conn: &Connection,
    session: Option<&TokenPair>,
) -> Result<(), StoreError> {
    match session {
        Some(pair) => set(conn, Key::Session, pair),
        None => remove(conn, Key::Session),
    }
}
