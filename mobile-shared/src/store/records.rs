//! The record tables: pulled records written as base and view, views rebuilt from base plus the
//! pending mutations, and the reads the app lists from.

use rusqlite::{Connection, OptionalExtension as _, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sync_protocol::cases::{Attempt, CaseSummary};
use sync_protocol::evidence::{Document, Review};
use sync_protocol::media::MediaRef;
use sync_protocol::merge::Rejection;
use sync_protocol::signing::Signature;
use sync_protocol::sync::{
    Change, Conflict, EntityKind, FieldStamps, Mutation, PulledRecord, RejectCode,
};
use sync_protocol::{CaseId, SignatureId, UserId};
use uuid::Uuid;

use super::{Context as _, StoreError};
use crate::apply::{
    Target, Versioned, replay_attempt, replay_case, replay_document, replay_opening,
};

/// A record kept with a base and a view.
pub(crate) trait Entity: Serialize + DeserializeOwned {
    /// Its table.
    const TABLE: &'static str;
    /// Its id.
    fn id(&self) -> Uuid;
    /// The case it belongs to (a case's own id for a case).
    fn case_id(&self) -> CaseId;
}

impl Entity for CaseSummary {
    const TABLE: &'static str = "cases";
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn case_id(&self) -> CaseId {
        self.id
    }
}

impl Entity for Attempt {
    const TABLE: &'static str = "attempts";
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn case_id(&self) -> CaseId {
        self.case_id
    }
}

impl Entity for Document {
    const TABLE: &'static str = "documents";
    fn id(&self) -> Uuid {
        self.id.0
    }
    fn case_id(&self) -> CaseId {
        self.case_id
    }
}

/// A record's view: what the app shows.
pub(crate) fn view<E: Entity>(
    conn: &Connection,
    id: Uuid,
) -> Result<Option<Versioned<E>>, StoreError> {
    let row: Option<(String, i64, String)> = conn
        .query_row(
            &format!(
                "SELECT json, version, stamps FROM {} WHERE id = ?1",
                E::TABLE
            ),
            [id.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .context("reading a record")?;
    row.map(|(json, version, stamps)| {
        Ok(Versioned {
            value: serde_json::from_str(&json).context("reading a record")?,
            version,
            stamps: serde_json::from_str(&stamps).context("reading a record's stamps")?,
        })
    })
    .transpose()
}

/// A record's base: the last state the server sent.
fn base<E: Entity>(conn: &Connection, id: Uuid) -> Result<Option<Versioned<E>>, StoreError> {
    let base: Option<Option<String>> = conn
        .query_row(
            &format!("SELECT base FROM {} WHERE id = ?1", E::TABLE),
            [id.to_string()],
            |row| row.get(0),
        )
        .optional()
        .context("reading a record's base")?;
    base.flatten()
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .context("reading a record's base")
}

/// Writes a record's view, keeping its base.
pub(crate) fn put_view<E: Entity>(
    conn: &Connection,
    view: &Versioned<E>,
) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO {} (id, case_id, json, version, stamps, base)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL)
             ON CONFLICT (id) DO UPDATE SET case_id = excluded.case_id, json = excluded.json,
                 version = excluded.version, stamps = excluded.stamps",
            E::TABLE
        ),
        params![
            view.value.id().to_string(),
            view.value.case_id().to_string(),
            serde_json::to_string(&view.value).context("writing a record")?,
            view.version,
            serde_json::to_string(&view.stamps).context("writing a record's stamps")?,
        ],
    )
    .context("writing a record")?;
    Ok(())
}

/// Writes a pulled record as both its base and its view.
fn put_pulled<E: Entity>(
    conn: &Connection,
    value: &E,
    version: i64,
    stamps: &FieldStamps,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(value).context("writing a pulled record")?;
    let stamps_json = serde_json::to_string(stamps).context("writing a pulled record")?;
    let base = serde_json::to_string(&Versioned {
        value,
        version,
        stamps: stamps.clone(),
    })
    .context("writing a pulled record")?;
    conn.execute(
        &format!(
            "INSERT INTO {} (id, case_id, json, version, stamps, base)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET case_id = excluded.case_id, json = excluded.json,
                 version = excluded.version, stamps = excluded.stamps, base = excluded.base",
            E::TABLE
        ),
        params![
            value.id().to_string(),
            value.case_id().to_string(),
            json,
            version,
            stamps_json,
            base
        ],
    )
    .context("writing a pulled record")?;
    Ok(())
}

/// Deletes one row of `table`.
fn delete(conn: &Connection, table: &str, id: Uuid) -> Result<(), StoreError> {
    conn.execute(
        &format!("DELETE FROM {table} WHERE id = ?1"),
        [id.to_string()],
    )
    .context("deleting a record")?;
    Ok(())
}

/// Replays `mutation` on a case's view (`None`: not held here): a reported absence opens it
/// for a pupil of the roll held here, an update changes it. The outer error is the store's, the
/// inner one the rules' refusal.
pub(crate) fn replay_on_case(
    conn: &Connection,
    view: &mut Option<Versioned<CaseSummary>>,
    mutation: &Mutation,
    author: UserId,
) -> Result<Result<(), Rejection>, StoreError> {
    let refused = |reason: &str| {
        Ok(Err(Rejection {
            code: RejectCode::NotFound,
            reason: reason.to_owned(),
        }))
    };
    match (&mutation.change, view.as_mut()) {
        (Change::OpenCase { case }, _) => match super::roll::pupil(conn, case.student_id)? {
            Some(pupil) => {
                replay_opening(view, mutation, &pupil, author);
                Ok(Ok(()))
            }
            None => refused("no such pupil on the roll held here: fetch the roll"),
        },
        (_, Some(case)) => Ok(replay_case(case, mutation)),
        (_, None) => refused("no such case"),
    }
}

/// Rebuilds a record's view from its base and the `pending` mutations that target it, in order.
/// A mutation the rules refuse is skipped, as the server will refuse it too.
pub(crate) fn rebuild(
    conn: &Connection,
    target: Target,
    pending: &[Mutation],
    author: UserId,
) -> Result<(), StoreError> {
    let mine = pending
        .iter()
        .filter(|m| Target::of(&m.change) == Some(target));
    match target {
        Target::Case(id) => {
            let mut view = base::<CaseSummary>(conn, id.0)?;
            for m in mine {
                let _refused = replay_on_case(conn, &mut view, m, author)?;
            }
            match view {
                Some(view) => put_view(conn, &view),
                None => delete(conn, CaseSummary::TABLE, id.0),
            }
        }
        Target::Attempt(id) => {
            let mut view = base::<Attempt>(conn, id.0)?;
            for m in mine {
                let _refused = replay_attempt(&mut view, m, author);
            }
            match view {
                Some(view) => put_view(conn, &view),
                None => delete(conn, Attempt::TABLE, id.0),
            }
        }
        Target::Document(id) => {
            let mut view = base::<Document>(conn, id.0)?;
            for m in mine {
                let _refused = replay_document(&mut view, m, author);
            }
            match view {
                Some(view) => put_view(conn, &view),
                None => delete(conn, Document::TABLE, id.0),
            }
        }
    }
}

/// Writes one pulled record (or removes one). Returns the record whose view must be rebuilt if
/// mutations on it are pending.
pub(crate) fn apply_pulled(
    conn: &Connection,
    record: &PulledRecord,
) -> Result<Option<Target>, StoreError> {
    match record {
        PulledRecord::Case {
            case,
            version,
            stamps,
        } => {
            put_pulled(conn, case, *version, stamps)?;
            Ok(Some(Target::Case(case.id)))
        }
        PulledRecord::Attempt {
            attempt,
            version,
            stamps,
        } => {
            put_pulled(conn, attempt, *version, stamps)?;
            Ok(Some(Target::Attempt(attempt.id)))
        }
        PulledRecord::Document {
            document,
            version,
            stamps,
        } => {
            put_pulled(conn, document, *version, stamps)?;
            Ok(Some(Target::Document(document.id)))
        }
        PulledRecord::Review { review } => {
            put_plain(conn, "reviews", review.id.0, review.case_id, review)?;
            Ok(None)
        }
        PulledRecord::Conflict { conflict } => {
            put_plain(conn, "conflicts", conflict.id.0, conflict.case_id, conflict)?;
            Ok(None)
        }
        PulledRecord::Media { media } => {
            put_plain(conn, "media", media.id.0, media.case_id, media)?;
            Ok(None)
        }
        PulledRecord::Signature { signature } => put_signature(conn, signature).map(|()| None),
        PulledRecord::Removed { entity_kind, id } => remove(conn, *entity_kind, *id),
    }
}

fn put_plain<T: Serialize>(
    conn: &Connection,
    table: &str,
    id: Uuid,
    case_id: CaseId,
    value: &T,
) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO {table} (id, case_id, json) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET case_id = excluded.case_id, json = excluded.json"
        ),
        params![
            id.to_string(),
            case_id.to_string(),
            serde_json::to_string(value).context("writing a pulled record")?
        ],
    )
    .context("writing a pulled record")?;
    Ok(())
}

/// Drops a record that left the user's scope. A case takes everything the server sent about it
/// along; attempts and documents made here and not yet pushed stay until the server answers them.
fn remove(conn: &Connection, kind: EntityKind, id: Uuid) -> Result<Option<Target>, StoreError> {
    match kind {
        EntityKind::Case => {
            let case_id = id.to_string();
            for sql in [
                "DELETE FROM cases WHERE id = ?1",
                "DELETE FROM attempts WHERE case_id = ?1 AND base IS NOT NULL",
                "DELETE FROM documents WHERE case_id = ?1 AND base IS NOT NULL",
                "DELETE FROM reviews WHERE case_id = ?1",
                "DELETE FROM conflicts WHERE case_id = ?1",
                "DELETE FROM media WHERE case_id = ?1",
                "DELETE FROM signatures WHERE case_id = ?1",
            ] {
                conn.execute(sql, [&case_id])
                    .context("removing a case and its records")?;
            }
            Ok(Some(Target::Case(CaseId(id))))
        }
        EntityKind::Attempt => {
            delete(conn, Attempt::TABLE, id)?;
            Ok(Some(Target::Attempt(id.into())))
        }
        EntityKind::Document => {
            delete(conn, Document::TABLE, id)?;
            Ok(Some(Target::Document(id.into())))
        }
        EntityKind::Review => delete(conn, "reviews", id).map(|()| None),
        EntityKind::Conflict => delete(conn, "conflicts", id).map(|()| None),
        EntityKind::Media => delete(conn, "media", id).map(|()| None),
        EntityKind::Signature => delete(conn, "signatures", id).map(|()| None),
    }
}

/// Writes a signature: pulled, or made here and shown until the server's copy arrives.
pub(crate) fn put_signature(conn: &Connection, signature: &Signature) -> Result<(), StoreError> {
    put_plain(
        conn,
        "signatures",
        signature.id.0,
        signature.case_id,
        signature,
    )
}

/// Deletes a signature made here that the server refused.
pub(crate) fn delete_signature(conn: &Connection, id: SignatureId) -> Result<(), StoreError> {
    delete(conn, "signatures", id.0)
}

/// Reads the JSON column of every row the query returns.
fn list_json<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    case_id: Option<CaseId>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql).context("listing records")?;
    let params = rusqlite::params_from_iter(case_id.map(|id| id.to_string()));
    let texts = statement
        .query_map(params, |row| row.get::<_, String>(0))
        .context("listing records")?
        .collect::<Result<Vec<_>, _>>()
        .context("listing records")?;
    texts
        .iter()
        .map(|t| serde_json::from_str(t).context("listing records"))
        .collect()
}

/// Every case held here, by id.
pub(crate) fn cases(conn: &Connection) -> Result<Vec<CaseSummary>, StoreError> {
    list_json(conn, "SELECT json FROM cases ORDER BY id", None)
}

/// A case's attempts, oldest first.
pub(crate) fn attempts(conn: &Connection, case_id: CaseId) -> Result<Vec<Attempt>, StoreError> {
    let mut attempts: Vec<Attempt> = list_json(
        conn,
        "SELECT json FROM attempts WHERE case_id = ?1",
        Some(case_id),
    )?;
    attempts.sort_by_key(|a| (a.occurred_at, a.id));
    Ok(attempts)
}

/// A case's documents, oldest first.
pub(crate) fn documents(conn: &Connection, case_id: CaseId) -> Result<Vec<Document>, StoreError> {
    let mut documents: Vec<Document> = list_json(
        conn,
        "SELECT json FROM documents WHERE case_id = ?1",
        Some(case_id),
    )?;
    documents.sort_by_key(|d| (d.created_at, d.id));
    Ok(documents)
}

/// A case's reviews, oldest first.
pub(crate) fn reviews(conn: &Connection, case_id: CaseId) -> Result<Vec<Review>, StoreError> {
    let mut reviews: Vec<Review> = list_json(
        conn,
        "SELECT json FROM reviews WHERE case_id = ?1",
        Some(case_id),
    )?;
    reviews.sort_by_key(|r| (r.created_at, r.id));
    Ok(reviews)
}

/// A case's media references (evidence files), oldest first.
pub(crate) fn media(conn: &Connection, case_id: CaseId) -> Result<Vec<MediaRef>, StoreError> {
    let mut media: Vec<MediaRef> = list_json(
        conn,
        "SELECT json FROM media WHERE case_id = ?1",
        Some(case_id),
    )?;
    media.sort_by_key(|m| (m.created_at, m.id));
    Ok(media)
}

/// A case's signatures, oldest first (by when the server received them; one made here counts
/// as received when it was signed, until the server's copy arrives).
pub(crate) fn signatures(conn: &Connection, case_id: CaseId) -> Result<Vec<Signature>, StoreError> {
    let mut signatures: Vec<Signature> = list_json(
        conn,
        "SELECT json FROM signatures WHERE case_id = ?1",
        Some(case_id),
    )?;
    signatures.sort_by_key(|s| (s.received_at, s.id));
    Ok(signatures)
}

/// Every conflict record, newest first.
pub(crate) fn conflicts(conn: &Connection) -> Result<Vec<Conflict>, StoreError> {
    let mut conflicts: Vec<Conflict> = list_json(conn, "SELECT json FROM conflicts", None)?;
    conflicts.sort_by_key(|c| std::cmp::Reverse((c.created_at, c.id)));
    Ok(conflicts)
}

/// Forgets every record, rejection, the pull cursor and the signing key (another account's
/// data).
pub(crate) fn clear(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "DELETE FROM cases; DELETE FROM attempts; DELETE FROM documents; DELETE FROM reviews;
         DELETE FROM conflicts; DELETE FROM rejections; DELETE FROM roll;
         DELETE FROM media; DELETE FROM signatures;",
    )
    .context("clearing the records")?;
    super::meta::remove(conn, super::meta::Key::Cursor)?;
    super::meta::remove(conn, super::meta::Key::Signing)
}
