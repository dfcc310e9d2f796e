//! Tamper evidence: every case's ledger events (attempts, documents, reviews, status moves,
//! media) form a hash chain. Each event records the SHA-256 of the record's canonical content as
//! stored, and links to the previous event:
//! `hash = SHA-256(prev_hash ‖ seq ‖ kind ‖ entity id ‖ content SHA-256)`, starting from 64 zeros.
//! `crate::chain::verify` recomputes the chain and the content of every record from the database
//! (and the bytes of every media object from storage) and names the first broken link.
//!
//! Events are appended by [`crate::db::changes::ChangeSet::append`], after the transaction has
//! taken its change numbers: the counter row it locked until commit serialises every writer, so
//! two transactions never extend the same chain from the same head.

use crate::db::CHUNK;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect as _,
};
use serde_json::json;
use uuid::Uuid;

use crate::db::case_parts::case_ids;
use crate::db::entity::{
    attempt, attempt_participant, case_move, document, ledger_event, ledger_head, media_object,
    review,
};
use crate::digest::sha256_hex;

/// The kinds of ledger events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChainKind {
    /// An attempt recorded or changed (with its participants).
    Attempt,
    /// A document's metadata recorded or changed.
    Document,
    /// A supervisor's review.
    Review,
    /// A status move.
    Move,
    /// An evidence file linked (its SHA-256 is part of the content).
    Media,
}

impl ChainKind {
    /// Every kind.
    pub const ALL: [ChainKind; 5] = [
        Self::Attempt,
        Self::Document,
        Self::Review,
        Self::Move,
        Self::Media,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attempt => "attempt",
            Self::Document => "document",
            Self::Review => "review",
            Self::Move => "move",
            Self::Media => "media",
        }
    }

    /// The kind stored as `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// The hash a chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of the link `seq` after `prev`.
pub fn link_hash(prev: &str, seq: i64, kind: ChainKind, entity: Uuid, content: &str) -> String {
    sha256_hex(format!("{prev}\n{seq}\n{}\n{entity}\n{content}", kind.as_str()).as_bytes())
}

/// Microseconds: the precision every engine keeps, so content hashes survive a round trip.
fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The SHA-256 of an attempt's canonical content: its fields and its participants (in order of
/// position), as stored.
pub fn attempt_content(a: &attempt::Model, people: &[attempt_participant::Model]) -> String {
    let people: Vec<serde_json::Value> = people
        .iter()
        .map(|p| json!([p.position, p.user_id, p.name, p.unit, p.department]))
        .collect();
    let content = json!([
        a.id,
        a.case_id,
        a.kind,
        micros(a.occurred_at),
        a.lat,
        a.lon,
        a.accuracy_m,
        a.met_whom,
        a.guardian_statement,
        a.outcome,
        a.next_step,
        a.notes,
        a.author_id,
        people,
    ]);
    sha256_hex(content.to_string().as_bytes())
}

/// The SHA-256 of a media object's canonical content: what it is evidence of, and the file.
pub fn media_content(m: &media_object::Model) -> String {
    let content = json!([
        m.id,
        m.case_id,
        m.sha256,
        m.size,
        m.kind,
        m.target_kind,
        m.target_id,
        m.uploaded_by
    ]);
    sha256_hex(content.to_string().as_bytes())
}

/// The SHA-256 of a document's canonical content: its metadata, as stored.
fn document_content(d: &document::Model) -> String {
    let content = json!([
        d.id,
        d.case_id,
        d.doc_type,
        d.title,
        d.issued_by,
        d.issued_on,
        d.notes,
        d.author_id
    ]);
    sha256_hex(content.to_string().as_bytes())
}

/// The SHA-256 of a review's canonical content.
fn review_content(r: &review::Model) -> String {
    let content = json!([
        r.id,
        r.case_id,
        r.target_kind,
        r.target_id,
        r.verdict,
        r.reason,
        r.reviewer_id,
        micros(r.created_at)
    ]);
    sha256_hex(content.to_string().as_bytes())
}

/// The SHA-256 of a status move's canonical content.
fn move_content(m: &case_move::Model) -> String {
    let content = json!([
        m.id,
        m.case_id,
        m.from_status,
        m.to_status,
        m.moved_by,
        micros(m.moved_at),
        m.mutation_id
    ]);
    sha256_hex(content.to_string().as_bytes())
}

/// Records of `kind` with ids `ids`, each as (case id, SHA-256 of its canonical content). A
/// record that is gone is absent.
pub async fn contents(
    db: &impl ConnectionTrait,
    kind: ChainKind,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, (Uuid, String)>, DbErr> {
    let mut out = HashMap::with_capacity(ids.len());
    for ids in ids.chunks(CHUNK) {
        let ids = ids.iter().copied();
        match kind {
            ChainKind::Attempt => {
                let rows = attempt::Entity::find()
                    .filter(attempt::Column::Id.is_in(ids.clone()))
                    .all(db)
                    .await?;
                let people = attempt_participant::Entity::find()
                    .filter(attempt_participant::Column::AttemptId.is_in(ids))
                    .order_by_asc(attempt_participant::Column::Position)
                    .all(db)
                    .await?;
                let mut by_attempt: HashMap<Uuid, Vec<attempt_participant::Model>> = HashMap::new();
                for p in people {
                    by_attempt.entry(p.attempt_id).or_default().push(p);
                }
                for a in rows {
                    let people = by_attempt.remove(&a.id).unwrap_or_default();
                    out.insert(a.id, (a.case_id, attempt_content(&a, &people)));
                }
            }
            ChainKind::Document => {
                for d in document::Entity::find()
                    .filter(document::Column::Id.is_in(ids))
                    .all(db)
                    .await?
                {
                    out.insert(d.id, (d.case_id, document_content(&d)));
                }
            }
            ChainKind::Review => {
                for r in review::Entity::find()
                    .filter(review::Column::Id.is_in(ids))
                    .all(db)
                    .await?
                {
                    out.insert(r.id, (r.case_id, review_content(&r)));
                }
            }
            ChainKind::Move => {
                for m in case_move::Entity::find()
                    .filter(case_move::Column::Id.is_in(ids))
                    .all(db)
                    .await?
                {
                    out.insert(m.id, (m.case_id, move_content(&m)));
                }
            }
            ChainKind::Media => {
                for m in media_object::Entity::find()
                    .filter(media_object::Column::Id.is_in(ids))
                    .all(db)
                    .await?
                {
                    out.insert(m.id, (m.case_id, media_content(&m)));
                }
            }
        }
    }
    Ok(out)
}

/// The recorded heads (last link and its hash) of the chains of `cases`, by case.
async fn heads_of(
    db: &impl ConnectionTrait,
    cases: &[Uuid],
) -> Result<HashMap<Uuid, (i64, String)>, DbErr> {
    let mut heads = HashMap::new();
    for ids in cases.chunks(CHUNK) {
        for h in ledger_head::Entity::find()
            .filter(ledger_head::Column::CaseId.is_in(ids.iter().copied()))
            .all(db)
            .await?
        {
            heads.insert(h.case_id, (h.seq, h.hash));
        }
    }
    Ok(heads)
}

/// What a transaction knows of the content of records it wrote, by (kind, id): (case id,
/// content SHA-256), so that the ledger need not read them back.
pub type KnownContent = HashMap<(ChainKind, Uuid), (Uuid, String)>;

/// Appends one event per record named in `records` (each at most once, in order) to its case's
/// chain; the content of each is taken from `known`, or else read. Call it inside the writing
/// transaction, after the records are written and the change numbers are taken. Answers the
/// kind and case of each event it made.
pub async fn append(
    txn: &impl ConnectionTrait,
    records: &[(ChainKind, Uuid)],
    known: KnownContent,
    now: DateTime<Utc>,
) -> Result<Vec<(ChainKind, Uuid)>, DbErr> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_kind: HashMap<ChainKind, Vec<Uuid>> = HashMap::new();
    for (kind, id) in records {
        if !known.contains_key(&(*kind, *id)) {
            by_kind.entry(*kind).or_default().push(*id);
        }
    }
    let mut content = known;
    for (kind, ids) in by_kind {
        for (id, found) in contents(txn, kind, &ids).await? {
            content.insert((kind, id), found);
        }
    }
    let cases: Vec<Uuid> = content.values().map(|(case, _)| *case).collect();
    let mut heads = heads_of(txn, &cases).await?;
    let mut events = Vec::new();
    let mut chained = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (kind, id) in records {
        if !seen.insert((*kind, *id)) {
            continue;
        }
        let Some((case_id, sha)) = content.get(&(*kind, *id)) else {
            return Err(DbErr::Custom(format!(
                "ledger: {} {id} was not written",
                kind.as_str()
            )));
        };
        let head = heads
            .entry(*case_id)
            .or_insert_with(|| (0, GENESIS.to_owned()));
        let seq = head.0 + 1;
        let hash = link_hash(&head.1, seq, *kind, *id, sha);
        events.push(ledger_event::ActiveModel {
            case_id: Set(*case_id),
            seq: Set(seq),
            entity_kind: Set(kind.as_str().to_owned()),
            entity_id: Set(*id),
            content_sha256: Set(sha.clone()),
            prev_hash: Set(head.1.clone()),
            hash: Set(hash.clone()),
            recorded_at: Set(now),
        });
        *head = (seq, hash);
        chained.push((*kind, *case_id));
    }
    for chunk in events.chunks(CHUNK) {
        ledger_event::Entity::insert_many(chunk.to_vec())
            .exec(txn)
            .await?;
    }
    let new_heads: Vec<ledger_head::ActiveModel> = heads
        .into_iter()
        .map(|(case_id, (seq, hash))| ledger_head::ActiveModel {
            case_id: Set(case_id),
            seq: Set(seq),
            hash: Set(hash),
        })
        .collect();
    for chunk in new_heads.chunks(CHUNK) {
        ledger_head::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(ledger_head::Column::CaseId)
                    .update_columns([ledger_head::Column::Seq, ledger_head::Column::Hash])
                    .to_owned(),
            )
            .exec(txn)
            .await?;
    }
    Ok(chained)
}

/// The ids of the records of `kind` that belong to `case_id`.
pub async fn record_ids(
    db: &impl ConnectionTrait,
    kind: ChainKind,
    case_id: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    match kind {
        ChainKind::Attempt => case_ids!(db, attempt, case_id),
        ChainKind::Document => case_ids!(db, document, case_id),
        ChainKind::Review => case_ids!(db, review, case_id),
        ChainKind::Move => case_ids!(db, case_move, case_id),
        ChainKind::Media => case_ids!(db, media_object, case_id),
    }
}

/// The events of `case_id`'s chain, in order.
pub async fn events_of(
    db: &impl ConnectionTrait,
    case_id: Uuid,
) -> Result<Vec<ledger_event::Model>, DbErr> {
    ledger_event::Entity::find()
        .filter(ledger_event::Column::CaseId.eq(case_id))
        .order_by_asc(ledger_event::Column::Seq)
        .all(db)
        .await
}

/// The recorded head of `case_id`'s chain.
pub async fn head_of(
    db: &impl ConnectionTrait,
    case_id: Uuid,
) -> Result<Option<ledger_head::Model>, DbErr> {
    ledger_head::Entity::find_by_id(case_id).one(db).await
}
