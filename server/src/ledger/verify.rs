//! Verifying a case's ledger: the chain's links, the records against their last recorded
//! content, the case's status against its last move, and the stored evidence files against
//! their SHA-256. Every finding names the event (link) it breaks; the report leads with the
//! earliest.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sync_protocol::ledger::{Finding, Verification};
use uuid::Uuid;

use super::{GENESIS, LedgerKind, contents, link_hash};
use crate::db::entity::{
    attempt, case, case_move, document, ledger_event, ledger_head, media_object, review,
};
use crate::storage::Storage;

fn finding(seq: Option<i64>, kind: &str, id: Uuid, problem: impl Into<String>) -> Finding {
    Finding {
        seq,
        entity_kind: kind.to_owned(),
        entity_id: id,
        problem: problem.into(),
    }
}

/// The ids of the records of `kind` that belong to `case_id`.
async fn record_ids(
    db: &impl ConnectionTrait,
    kind: LedgerKind,
    case_id: Uuid,
) -> Result<Vec<Uuid>, sea_orm::DbErr> {
    macro_rules! ids {
        ($entity:ident) => {
            $entity::Entity::find()
                .select_only()
                .column($entity::Column::Id)
                .filter($entity::Column::CaseId.eq(case_id))
                .into_tuple()
                .all(db)
                .await
        };
    }
    match kind {
        LedgerKind::Attempt => ids!(attempt),
        LedgerKind::Document => ids!(document),
        LedgerKind::Review => ids!(review),
        LedgerKind::Move => ids!(case_move),
        LedgerKind::Media => ids!(media_object),
    }
}

/// Verifies the ledger of `case_id`, reading every evidence file back from `storage`.
pub async fn verify_case(
    db: &impl ConnectionTrait,
    storage: &Storage,
    case_id: Uuid,
) -> anyhow::Result<Verification> {
    let events = ledger_event::Entity::find()
        .filter(ledger_event::Column::CaseId.eq(case_id))
        .order_by_asc(ledger_event::Column::Seq)
        .all(db)
        .await?;
    let mut findings = Vec::new();

    // The links.
    let mut prev = GENESIS.to_owned();
    let mut last: HashMap<(LedgerKind, Uuid), (i64, String)> = HashMap::new();
    for (expected, e) in (1..).zip(&events) {
        let Some(kind) = LedgerKind::parse(&e.entity_kind) else {
            findings.push(finding(
                Some(e.seq),
                &e.entity_kind,
                e.entity_id,
                "unknown event kind",
            ));
            continue;
        };
        if e.seq != expected || e.prev_hash != prev {
            findings.push(finding(
                Some(e.seq),
                kind.as_str(),
                e.entity_id,
                format!("link {expected} is missing or out of order"),
            ));
        }
        if e.hash != link_hash(&e.prev_hash, e.seq, kind, e.entity_id, &e.content_sha256) {
            findings.push(finding(
                Some(e.seq),
                kind.as_str(),
                e.entity_id,
                "the link's hash does not match what it records",
            ));
        }
        prev = e.hash.clone();
        last.insert((kind, e.entity_id), (e.seq, e.content_sha256.clone()));
    }
    let head = ledger_head::Entity::find_by_id(case_id).one(db).await?;
    let length = events.last().map_or(0, |e| e.seq);
    if head
        .as_ref()
        .map_or((0, GENESIS), |h| (h.seq, h.hash.as_str()))
        != (length, prev.as_str())
    {
        findings.push(finding(
            Some(length + 1),
            "case",
            case_id,
            "the chain ends before its recorded head: events were removed",
        ));
    }

    // The records against their last recorded content, and records the ledger never saw.
    for kind in LedgerKind::ALL {
        let ids = record_ids(db, kind, case_id).await?;
        let current = contents(db, kind, &ids).await?;
        for ((k, id), (seq, recorded)) in last.iter().filter(|((k, _), _)| *k == kind) {
            match current.get(id) {
                None => findings.push(finding(Some(*seq), k.as_str(), *id, "the record is gone")),
                Some((_, now)) if now != recorded => findings.push(finding(
                    Some(*seq),
                    k.as_str(),
                    *id,
                    "the record differs from its last recorded state",
                )),
                Some(_) => {}
            }
        }
        let known: HashSet<Uuid> = last
            .keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| *id)
            .collect();
        for id in ids.iter().filter(|id| !known.contains(id)) {
            findings.push(finding(
                None,
                kind.as_str(),
                *id,
                "the record was written outside the ledger",
            ));
        }
    }

    // The case's status against its last move.
    if let Some(row) = case::Entity::find_by_id(case_id).one(db).await? {
        let moves = case_move::Entity::find()
            .filter(case_move::Column::CaseId.eq(case_id))
            .order_by_desc(case_move::Column::MovedAt)
            .order_by_desc(case_move::Column::RecordedAt)
            .one(db)
            .await?;
        if let Some(m) = moves.filter(|m| m.to_status != row.status) {
            findings.push(finding(
                last.get(&(LedgerKind::Move, m.id)).map(|(seq, _)| *seq),
                "case",
                case_id,
                format!(
                    "the case says `{}` but its last move was to `{}`",
                    row.status, m.to_status
                ),
            ));
        }
    }

    // The evidence files, read back.
    for m in media_object::Entity::find()
        .filter(media_object::Column::CaseId.eq(case_id))
        .all(db)
        .await?
    {
        let seq = last.get(&(LedgerKind::Media, m.id)).map(|(seq, _)| *seq);
        match storage.rehash(&m.sha256).await {
            Ok((sha, _)) if sha == m.sha256 => {}
            Ok((sha, size)) => findings.push(finding(
                seq,
                "media",
                m.id,
                format!("the stored file has changed: {size} bytes with SHA-256 {sha}"),
            )),
            Err(e) => findings.push(finding(
                seq,
                "media",
                m.id,
                format!("the stored file cannot be read: {e}"),
            )),
        }
    }

    findings.sort_by_key(|f| (f.seq.is_none(), f.seq));
    Ok(Verification {
        case_id,
        events: events.len() as u64,
        head: prev,
        intact: findings.is_empty(),
        findings,
    })
}
