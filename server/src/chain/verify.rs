//! Verifying a case's ledger: the chain's links, the records against their last recorded
//! content, the case's status against its last move, and the stored evidence files against
//! their SHA-256. Every finding names the event (link) it breaks; the report leads with the
//! earliest.

use std::collections::{HashMap, HashSet};

use sea_orm::ConnectionTrait;
use sync_protocol::chain::{Finding, Verification};
use uuid::Uuid;

use crate::db;
use crate::db::chain::{self, ChainKind, GENESIS, contents, link_hash};
use crate::db::entity::ledger_event;
use crate::storage::Storage;

fn finding(seq: Option<i64>, kind: &str, id: Uuid, problem: impl Into<String>) -> Finding {
    Finding {
        seq,
        entity_kind: kind.to_owned(),
        entity_id: id,
        problem: problem.into(),
    }
}

/// What walking a case's chain found.
#[derive(Debug)]
struct Links {
    /// Links missing, out of order, or not hashing to what they record; a chain cut short.
    findings: Vec<Finding>,
    /// Each record's last event: its link and the content SHA-256 it recorded.
    last: HashMap<(ChainKind, Uuid), (i64, String)>,
    /// The hash of the last link ([`GENESIS`] for an empty chain).
    head: String,
}

/// Walks the chain of `case_id` (`events` in order of `seq`): each link must follow the one
/// before (`seq` 1, 2, … and the previous hash), hash to what it records, and the last must be the
/// recorded head (`(seq, hash)`, absent for a case nothing was recorded on).
fn check_links(
    case_id: Uuid,
    events: &[ledger_event::Model],
    recorded_head: Option<(i64, &str)>,
) -> Links {
    let mut findings = Vec::new();
    let mut prev = GENESIS.to_owned();
    let mut last: HashMap<(ChainKind, Uuid), (i64, String)> = HashMap::new();
    for (expected, e) in (1..).zip(events) {
        let Some(kind) = ChainKind::parse(&e.entity_kind) else {
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
    let length = events.last().map_or(0, |e| e.seq);
    if recorded_head.unwrap_or((0, GENESIS)) != (length, prev.as_str()) {
        findings.push(finding(
            Some(length + 1),
            "case",
            case_id,
            "the chain ends before its recorded head: events were removed",
        ));
    }
    Links {
        findings,
        last,
        head: prev,
    }
}

/// Compares the records of `kind` in a case (`ids`, with `current`: each one's case and content
/// SHA-256 now, as [`contents`] gives them) with what their last events recorded (`last`): a
/// record gone, changed since, or never recorded in the ledger is a finding.
fn check_records(
    kind: ChainKind,
    last: &HashMap<(ChainKind, Uuid), (i64, String)>,
    ids: &[Uuid],
    current: &HashMap<Uuid, (Uuid, String)>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
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
    findings
}

/// Verifies the ledger of `case_id`, reading every evidence file back from `storage`.
pub async fn verify_case(
    db: &impl ConnectionTrait,
    storage: &Storage,
    case_id: Uuid,
) -> anyhow::Result<Verification> {
    let events = chain::events_of(db, case_id).await?;
    let recorded_head = chain::head_of(db, case_id).await?;
    let Links {
        mut findings,
        last,
        head,
    } = check_links(
        case_id,
        &events,
        recorded_head.as_ref().map(|h| (h.seq, h.hash.as_str())),
    );

    // The records against their last recorded content, and records the ledger never saw.
    for kind in ChainKind::ALL {
        let ids = chain::record_ids(db, kind, case_id).await?;
        let current = contents(db, kind, &ids).await?;
        findings.extend(check_records(kind, &last, &ids, &current));
    }

    // The case's status against its last move.
    if let Some(row) = db::cases::by_id(db, case_id).await? {
        let moves = db::cases::last_move(db, case_id).await?;
        if let Some(m) = moves.filter(|m| m.to_status != row.status) {
            findings.push(finding(
                last.get(&(ChainKind::Move, m.id)).map(|(seq, _)| *seq),
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
    for m in db::media::of_case(db, case_id).await? {
        let seq = last.get(&(ChainKind::Media, m.id)).map(|(seq, _)| *seq);
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
        head,
        intact: findings.is_empty(),
        findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASE: Uuid = Uuid::from_u128(1);

    /// A chain over `records` (kind, record, content SHA-256), linked and hashed as `append` does.
    fn chain(records: &[(ChainKind, Uuid, &str)]) -> Vec<ledger_event::Model> {
        let mut prev = GENESIS.to_owned();
        (1..)
            .zip(records)
            .map(|(seq, &(kind, id, content))| {
                let hash = link_hash(&prev, seq, kind, id, content);
                ledger_event::Model {
                    case_id: CASE,
                    seq,
                    entity_kind: kind.as_str().to_owned(),
                    entity_id: id,
                    content_sha256: content.to_owned(),
                    prev_hash: std::mem::replace(&mut prev, hash.clone()),
                    hash,
                    recorded_at: chrono::Utc::now(),
                }
            })
            .collect()
    }

    fn three() -> Vec<ledger_event::Model> {
        chain(&[
            (ChainKind::Move, Uuid::from_u128(10), "m1"),
            (ChainKind::Attempt, Uuid::from_u128(20), "a1"),
            (ChainKind::Attempt, Uuid::from_u128(20), "a2"),
        ])
    }

    fn head_of(events: &[ledger_event::Model]) -> Option<(i64, &str)> {
        events.last().map(|e| (e.seq, e.hash.as_str()))
    }

    /// The findings' links and problems, in order.
    fn problems(findings: &[Finding]) -> Vec<(Option<i64>, &str)> {
        findings
            .iter()
            .map(|f| (f.seq, f.problem.as_str()))
            .collect()
    }

    #[test]
    fn an_intact_chain_has_no_findings_and_ends_at_its_head() {
        let events = three();
        let links = check_links(CASE, &events, head_of(&events));
        assert_eq!(problems(&links.findings), []);
        assert_eq!(links.head, events[2].hash);
        // Each record's last event counts: the attempt's second version, at link 3.
        assert_eq!(
            links.last.get(&(ChainKind::Attempt, Uuid::from_u128(20))),
            Some(&(3, "a2".to_owned()))
        );
        assert_eq!(links.last.len(), 2);
    }

    #[test]
    fn an_empty_chain_without_a_head_is_intact() {
        let links = check_links(CASE, &[], None);
        assert_eq!(problems(&links.findings), []);
        assert_eq!(links.head, GENESIS);
    }

    #[test]
    fn a_changed_entry_no_longer_hashes_to_what_it_records() {
        let mut events = three();
        let head = head_of(&events).map(|(seq, hash)| (seq, hash.to_owned()));
        events[1].content_sha256 = "forged".to_owned();
        let head = head.as_ref().map(|(seq, hash)| (*seq, hash.as_str()));
        let links = check_links(CASE, &events, head);
        assert_eq!(
            problems(&links.findings),
            [(Some(2), "the link's hash does not match what it records")]
        );
    }

    #[test]
    fn a_changed_entry_rehashed_breaks_the_next_link() {
        let mut events = three();
        let head = head_of(&events).map(|(seq, hash)| (seq, hash.to_owned()));
        let e = &mut events[1];
        e.content_sha256 = "forged".to_owned();
        e.hash = link_hash(
            &e.prev_hash,
            e.seq,
            ChainKind::Attempt,
            e.entity_id,
            "forged",
        );
        let head = head.as_ref().map(|(seq, hash)| (*seq, hash.as_str()));
        let links = check_links(CASE, &events, head);
        assert_eq!(
            problems(&links.findings),
            [(Some(3), "link 3 is missing or out of order")]
        );
    }

    #[test]
    fn a_deleted_entry_is_named_by_the_link_that_follows_it() {
        let mut events = three();
        let head = head_of(&events).map(|(seq, hash)| (seq, hash.to_owned()));
        events.remove(1);
        let head = head.as_ref().map(|(seq, hash)| (*seq, hash.as_str()));
        let links = check_links(CASE, &events, head);
        assert_eq!(
            problems(&links.findings),
            [(Some(3), "link 2 is missing or out of order")]
        );
    }

    #[test]
    fn a_chain_cut_off_at_the_end_falls_short_of_its_head() {
        let mut events = three();
        let head = head_of(&events).map(|(seq, hash)| (seq, hash.to_owned()));
        events.pop();
        let head = head.as_ref().map(|(seq, hash)| (*seq, hash.as_str()));
        let links = check_links(CASE, &events, head);
        let finding = &links.findings[..];
        assert_eq!(
            problems(finding),
            [(
                Some(3),
                "the chain ends before its recorded head: events were removed"
            )]
        );
        assert_eq!(finding[0].entity_id, CASE);
        // Every event gone, the head still recorded: the same.
        let links = check_links(CASE, &[], head);
        assert_eq!(links.findings.len(), 1);
        assert_eq!(links.findings[0].seq, Some(1));
    }

    #[test]
    fn an_unknown_kind_is_named_and_skipped() {
        let mut events = three();
        events[1].entity_kind = "gift".to_owned();
        let links = check_links(CASE, &events, head_of(&events));
        // Skipped, its hash is not followed: the next link no longer links to the chain.
        assert_eq!(
            problems(&links.findings),
            [
                (Some(2), "unknown event kind"),
                (Some(3), "link 3 is missing or out of order")
            ]
        );
        assert_eq!(links.findings[0].entity_kind, "gift");
        // The links after it still count for their records.
        assert_eq!(
            links.last.get(&(ChainKind::Attempt, Uuid::from_u128(20))),
            Some(&(3, "a2".to_owned()))
        );
    }

    #[test]
    fn records_are_checked_against_their_last_recorded_content() {
        let events = three();
        let last = check_links(CASE, &events, head_of(&events)).last;
        let attempt = Uuid::from_u128(20);
        let current = |content: &str| HashMap::from([(attempt, (CASE, content.to_owned()))]);

        let same = check_records(ChainKind::Attempt, &last, &[attempt], &current("a2"));
        assert_eq!(problems(&same), []);
        // An older version is not what the last event recorded.
        let changed = check_records(ChainKind::Attempt, &last, &[attempt], &current("a1"));
        assert_eq!(
            problems(&changed),
            [(Some(3), "the record differs from its last recorded state")]
        );
        let gone = check_records(ChainKind::Attempt, &last, &[], &HashMap::new());
        assert_eq!(problems(&gone), [(Some(3), "the record is gone")]);
        // Only records of the kind asked about are compared.
        let documents = check_records(ChainKind::Document, &last, &[], &HashMap::new());
        assert_eq!(problems(&documents), []);
    }

    #[test]
    fn a_record_the_ledger_never_saw_is_named() {
        let events = three();
        let last = check_links(CASE, &events, head_of(&events)).last;
        let stranger = Uuid::from_u128(30);
        let current = HashMap::from([
            (Uuid::from_u128(20), (CASE, "a2".to_owned())),
            (stranger, (CASE, "x".to_owned())),
        ]);
        let ids = [Uuid::from_u128(20), stranger];
        let findings = check_records(ChainKind::Attempt, &last, &ids, &current);
        assert_eq!(
            problems(&findings),
            [(None, "the record was written outside the ledger")]
        );
        assert_eq!(findings[0].entity_id, stranger);
    }
}
