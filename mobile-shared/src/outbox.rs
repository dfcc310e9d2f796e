//! The outbox: mutations made on this phone that the server has not acknowledged, in the order
//! they were made. A mutation enters in the same transaction that applies it to the local view
//! and leaves only once the server has answered it, so a crash never loses or doubles one.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use sync_protocol::UserId;
use sync_protocol::auth::Me;
use sync_protocol::cases::{Attempt, CaseSummary};
use sync_protocol::evidence::Document;
use sync_protocol::merge::Rejection;
use sync_protocol::signing::NewSignature;
use sync_protocol::sync::{Change, Mutation, MutationOutcome, MutationResult, RejectCode};

use crate::apply::{Target, replay_attempt, replay_document, signed};
use crate::store::records::{
    delete_signature, put_signature, put_view, rebuild, replay_on_case, view,
};
use crate::store::{Context as _, StoreError, meta};

/// A mutation waiting to be pushed.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// Its place in the outbox (pushes go in this order).
    pub seq: i64,
    /// The mutation, exactly as it will be sent (and resent).
    pub mutation: Mutation,
    /// When it was made, on the phone's clock.
    pub created_at: DateTime<Utc>,
}

/// A mutation the server refused. A refusal is final; it is kept so the app can show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The mutation.
    pub mutation: Mutation,
    /// Why, as a code.
    pub code: RejectCode,
    /// Why, in words.
    pub reason: String,
    /// When the answer arrived, on the phone's clock.
    pub at: DateTime<Utc>,
}

/// Why a mutation could not be queued.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EnqueueError {
    /// The merge rules refuse it on the local view (the server would refuse it too).
    #[error("{}", .0.reason)]
    Refused(Rejection),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies `mutation` to the local view and queues it, in the caller's transaction. Nothing is
/// written if the rules refuse it.
pub(crate) fn enqueue(
    conn: &Connection,
    mutation: &Mutation,
    now: DateTime<Utc>,
) -> Result<(), EnqueueError> {
    let author = meta::author(conn)?;
    let refused = EnqueueError::Refused;
    // The server's window, on the phone's clock: a value it would refuse is refused here.
    if let Some(reason) = mutation
        .change
        .implausible(now, sync_protocol::calendar::china_date(now))
    {
        return Err(refused(Rejection {
            code: RejectCode::Invalid,
            reason,
        }));
    }
    match Target::of(&mutation.change) {
        Some(Target::Case(id)) => {
            let mut case = view::<CaseSummary>(conn, id.0)?;
            replay_on_case(conn, &mut case, mutation, author)?.map_err(refused)?;
            if let Some(case) = case {
                put_view(conn, &case)?;
            }
        }
        Some(Target::Attempt(id)) => {
            let mut attempt = view::<Attempt>(conn, id.0)?;
            replay_attempt(&mut attempt, mutation, author).map_err(refused)?;
            if let Some(attempt) = attempt {
                put_view(conn, &attempt)?;
            }
        }
        Some(Target::Document(id)) => {
            let mut document = view::<Document>(conn, id.0)?;
            replay_document(&mut document, mutation, author).map_err(refused)?;
            if let Some(document) = document {
                put_view(conn, &document)?;
            }
        }
        None => {
            if let Change::SignAttempt { signature } = &mutation.change {
                show_signature(conn, signature, author)?;
            }
        }
    }
    conn.execute(
        "INSERT INTO outbox (mutation_id, json, created_at) VALUES (?1, ?2, ?3)",
        params![
            mutation.id.to_string(),
            serde_json::to_string(mutation).context("queueing a mutation")?,
            now
        ],
    )
    .context("queueing a mutation")?;
    Ok(())
}

/// Shows the signature `new`, made here by `author`, at once.
fn show_signature(conn: &Connection, new: &NewSignature, author: UserId) -> Result<(), StoreError> {
    let name = meta::get::<Me>(conn, meta::Key::Account)?
        .map(|me| me.display_name)
        .unwrap_or_default();
    put_signature(conn, &signed(new, author, name, meta::device_id(conn)?))
}

/// The oldest `limit` pending mutations (all of them if `None`), in outbox order.
pub(crate) fn pending(conn: &Connection, limit: Option<usize>) -> Result<Vec<Pending>, StoreError> {
    let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let mut statement = conn
        .prepare_cached("SELECT seq, json, created_at FROM outbox ORDER BY seq LIMIT ?1")
        .context("reading the outbox")?;
    let rows = statement
        .query_map([limit], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get(2)?))
        })
        .context("reading the outbox")?
        .collect::<Result<Vec<_>, _>>()
        .context("reading the outbox")?;
    rows.into_iter()
        .map(|(seq, json, created_at)| {
            Ok(Pending {
                seq,
                mutation: serde_json::from_str(&json).context("reading the outbox")?,
                created_at,
            })
        })
        .collect()
}

/// Every pending mutation, in outbox order.
pub(crate) fn pending_mutations(conn: &Connection) -> Result<Vec<Mutation>, StoreError> {
    Ok(pending(conn, None)?
        .into_iter()
        .map(|p| p.mutation)
        .collect())
}

/// How many mutations are waiting.
pub(crate) fn count(conn: &Connection) -> Result<usize, StoreError> {
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM outbox", [], |row| row.get(0))
        .context("counting the outbox")?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// What the server's answers to one batch came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Acknowledged {
    /// Mutations applied.
    pub(crate) applied: usize,
    /// Mutations refused.
    pub(crate) rejected: usize,
    /// Stamps the server pulled back because the phone's clock ran ahead.
    pub(crate) clock_clamped: usize,
}

/// Takes the answered mutations out of the outbox, in the caller's transaction: refused ones
/// are copied to `rejections` and the records they touched are rebuilt without them (a refused
/// signature is no longer shown). Applied ones are appended to `applied_unpulled`, which keeps
/// them in those rebuilds until a pull brings the server's copy. `batch` and `results` are in
/// the same order.
pub(crate) fn acknowledge(
    conn: &Connection,
    batch: &[Mutation],
    results: &[MutationResult],
    applied_unpulled: &mut Vec<Mutation>,
    now: DateTime<Utc>,
) -> Result<Acknowledged, StoreError> {
    let mut counts = Acknowledged::default();
    let mut refused = Vec::new();
    for (mutation, result) in batch.iter().zip(results) {
        conn.execute(
            "DELETE FROM outbox WHERE mutation_id = ?1",
            [mutation.id.to_string()],
        )
        .context("acknowledging a mutation")?;
        match &result.outcome {
            MutationOutcome::Applied { clock_clamped, .. } => {
                counts.applied += 1;
                counts.clock_clamped += usize::from(*clock_clamped);
                applied_unpulled.push(mutation.clone());
            }
            MutationOutcome::Rejected { code, reason } => {
                counts.rejected += 1;
                let code = serde_json::to_value(code).context("recording a rejection")?;
                conn.execute(
                    "INSERT OR REPLACE INTO rejections (mutation_id, json, code, reason, at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        mutation.id.to_string(),
                        serde_json::to_string(mutation).context("recording a rejection")?,
                        code.as_str().unwrap_or_default(),
                        reason,
                        now
                    ],
                )
                .context("recording a rejection")?;
                refused.extend(Target::of(&mutation.change));
                if let Change::SignAttempt { signature } = &mutation.change {
                    delete_signature(conn, signature.id)?;
                }
            }
        }
    }
    if !refused.is_empty() {
        let author = meta::author(conn)?;
        let mut replay = applied_unpulled.clone();
        replay.extend(pending_mutations(conn)?);
        for target in refused {
            rebuild(conn, target, &replay, author)?;
        }
    }
    Ok(counts)
}

/// Every refusal kept, oldest first.
pub(crate) fn rejections(conn: &Connection) -> Result<Vec<Rejected>, StoreError> {
    let mut statement = conn
        .prepare_cached("SELECT json, code, reason, at FROM rejections ORDER BY at, mutation_id")
        .context("reading the rejections")?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get(3)?,
            ))
        })
        .context("reading the rejections")?
        .collect::<Result<Vec<_>, _>>()
        .context("reading the rejections")?;
    rows.into_iter()
        .map(|(json, code, reason, at)| {
            Ok(Rejected {
                mutation: serde_json::from_str(&json).context("reading the rejections")?,
                code: serde_json::from_value(serde_json::Value::String(code))
                    .context("reading a rejection's code")?,
                reason,
                at,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use sync_protocol::DeviceId;
    use sync_protocol::cases::{CaseStatus, ReasonCategory};
    use sync_protocol::sync::{CaseField, Change, MutationOutcome, MutationResult};

    use super::*;
    use crate::store::meta::Key;
    use crate::store::{Store, StoreError};
    use crate::testing::{case_record, mutation, pulled_case, seed, stamp, store};

    fn reason(case_id: sync_protocol::CaseId, reason: ReasonCategory) -> Change {
        Change::UpdateCase {
            case_id,
            fields: vec![CaseField::Reason(reason)],
        }
    }

    fn case_view(store: &Store, id: sync_protocol::CaseId) -> CaseSummary {
        store
            .read(|c| view::<CaseSummary>(c, id.0))
            .expect("reads")
            .expect("held")
            .value
    }

    #[test]
    fn a_mutation_and_its_local_apply_commit_or_roll_back_together() {
        let (_dir, store) = store();
        let device = DeviceId::new();
        let case = pulled_case(CaseStatus::Suspected, 1, stamp(1, device));
        let id = case.value.id;
        seed(&store, vec![case_record(&case)]);

        let first = mutation(reason(id, ReasonCategory::Illness), 1, stamp(10, device));
        store
            .write(|tx| enqueue(tx, &first, Utc::now()))
            .expect("queued");
        assert_eq!(case_view(&store, id).reason, Some(ReasonCategory::Illness));
        assert_eq!(store.read(count).expect("counts"), 1);

        // The rules refuse it: neither the view nor the outbox changes.
        let illegal = mutation(
            Change::UpdateCase {
                case_id: id,
                fields: vec![
                    CaseField::Reason(ReasonCategory::Religion),
                    CaseField::Status(CaseStatus::JointPersuasion),
                ],
            },
            1,
            stamp(11, device),
        );
        let err = store
            .write(|tx| enqueue(tx, &illegal, Utc::now()))
            .expect_err("refused");
        assert!(matches!(err, EnqueueError::Refused(r) if r.code == RejectCode::IllegalTransition));

        // The view is written first, then the outbox insert fails (the id is taken): the whole
        // transaction rolls back, so the view does not show a change that was never queued.
        let reused = Mutation {
            change: reason(id, ReasonCategory::Religion),
            hlc: stamp(12, device),
            ..first.clone()
        };
        let err = store
            .write(|tx| enqueue(tx, &reused, Utc::now()))
            .expect_err("the id is taken");
        assert!(matches!(err, EnqueueError::Store(StoreError::Sql { .. })));
        assert_eq!(case_view(&store, id).reason, Some(ReasonCategory::Illness));
        let pending = store.read(|c| pending(c, None)).expect("reads");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].mutation, first);
    }

    #[test]
    fn the_outbox_cursor_and_local_edits_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let device = DeviceId::new();
        let case = pulled_case(CaseStatus::Suspected, 4, stamp(1, device));
        let id = case.value.id;
        let queued = mutation(reason(id, ReasonCategory::Illness), 4, stamp(10, device));
        {
            let store = Store::open(dir.path()).expect("opens");
            seed(&store, vec![case_record(&case)]);
            store
                .write(|tx| enqueue(tx, &queued, Utc::now()))
                .expect("queued");
        }
        let store = Store::open(dir.path()).expect("reopens");
        let pending = store.read(|c| pending(c, None)).expect("reads");
        assert_eq!(
            pending.iter().map(|p| &p.mutation).collect::<Vec<_>>(),
            [&queued]
        );
        let cursor: Option<String> = store.read(|c| meta::get(c, Key::Cursor)).expect("reads");
        assert_eq!(cursor.as_deref(), Some("seed"));
        assert_eq!(case_view(&store, id).reason, Some(ReasonCategory::Illness));
    }

    #[test]
    fn answers_empty_the_outbox_keep_refusals_and_undo_them_locally() {
        let (_dir, store) = store();
        let device = DeviceId::new();
        let case = pulled_case(CaseStatus::Suspected, 1, stamp(1, device));
        let id = case.value.id;
        seed(&store, vec![case_record(&case)]);
        let applied = mutation(reason(id, ReasonCategory::Illness), 1, stamp(10, device));
        let refused = mutation(
            Change::UpdateCase {
                case_id: id,
                fields: vec![CaseField::Status(CaseStatus::SchoolPersuasion)],
            },
            1,
            stamp(11, device),
        );
        for m in [&applied, &refused] {
            store
                .write(|tx| enqueue(tx, m, Utc::now()))
                .expect("queued");
        }
        assert_eq!(case_view(&store, id).status, CaseStatus::SchoolPersuasion);

        let results = vec![
            MutationResult {
                mutation_id: applied.id,
                outcome: MutationOutcome::Applied {
                    version: 2,
                    conflicts: vec![],
                    clock_clamped: true,
                },
            },
            MutationResult {
                mutation_id: refused.id,
                outcome: MutationOutcome::Rejected {
                    code: RejectCode::Forbidden,
                    reason: "teachers may not move this case".into(),
                },
            },
        ];
        let mut applied_unpulled = Vec::new();
        let counts = store
            .write(|tx| {
                acknowledge(
                    tx,
                    &[applied.clone(), refused.clone()],
                    &results,
                    &mut applied_unpulled,
                    Utc::now(),
                )
            })
            .expect("acknowledged");
        assert_eq!(
            counts,
            Acknowledged {
                applied: 1,
                rejected: 1,
                clock_clamped: 1
            }
        );
        assert_eq!(store.read(count).expect("counts"), 0);
        let rejections = store.read(rejections).expect("reads");
        assert_eq!(rejections.len(), 1);
        assert_eq!(
            (&rejections[0].mutation, rejections[0].code),
            (&refused, RejectCode::Forbidden)
        );
        // The refused move is undone; the applied edit stays until the pull brings it back.
        let shown = case_view(&store, id);
        assert_eq!(
            (shown.status, shown.reason),
            (CaseStatus::Suspected, Some(ReasonCategory::Illness))
        );
    }
}
