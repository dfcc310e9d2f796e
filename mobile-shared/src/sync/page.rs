//! Applying one pulled page: its records, the records' pending local edits replayed on top, the
//! new cursor and the clock, all in the caller's one transaction.

use std::collections::HashSet;

use rusqlite::Connection;
use sync_protocol::hlc::HlcStamp;
use sync_protocol::sync::{PullResponse, PulledRecord};

use crate::apply::Target;
use crate::outbox;
use crate::store::StoreError;
use crate::store::meta::{self, Key};
use crate::store::records::{apply_pulled, rebuild};

/// What one page came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PageApplied {
    /// Records in the page.
    pub(crate) records: usize,
    /// Conflict records among them.
    pub(crate) conflicts: usize,
}

/// Writes `page` and moves the cursor to its end. Records with mutations still pending are
/// rebuilt from the pulled state with those mutations replayed, so local edits stay in view.
pub(crate) fn apply_page(
    conn: &Connection,
    page: &PullResponse,
) -> Result<PageApplied, StoreError> {
    let pending = outbox::pending_mutations(conn)?;
    let edited: HashSet<Target> = pending
        .iter()
        .filter_map(|m| Target::of(&m.change))
        .collect();
    let mut rebuild_targets = Vec::new();
    let mut seen: Vec<&HlcStamp> = vec![&page.server_hlc];
    let mut conflicts = 0;
    for record in &page.records {
        match record {
            PulledRecord::Case { stamps, .. }
            | PulledRecord::Attempt { stamps, .. }
            | PulledRecord::Document { stamps, .. } => seen.extend(stamps.values().map(|s| &s.hlc)),
            PulledRecord::Conflict { conflict } => {
                conflicts += 1;
                seen.extend([&conflict.winning_hlc, &conflict.losing_hlc]);
            }
            PulledRecord::Review { .. }
            | PulledRecord::Media { .. }
            | PulledRecord::Signature { .. }
            | PulledRecord::Removed { .. } => {}
        }
        if let Some(target) = apply_pulled(conn, record)?
            && edited.contains(&target)
            && !rebuild_targets.contains(&target)
        {
            rebuild_targets.push(target);
        }
    }
    if !rebuild_targets.is_empty() {
        let author = meta::author(conn)?;
        for target in rebuild_targets {
            rebuild(conn, target, &pending, author)?;
        }
    }
    meta::set(conn, Key::Cursor, &page.cursor)?;
    meta::observe(conn, seen)?;
    Ok(PageApplied {
        records: page.records.len(),
        conflicts,
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use sync_protocol::cases::{Attempt, CaseStatus, CaseSummary, ReasonCategory};
    use sync_protocol::sync::{
        CaseField, Change, Conflict, EntityKind, FieldStamp, FieldValue, PulledRecord,
    };
    use sync_protocol::{ConflictId, DeviceId, UserId};

    use super::*;
    use crate::store::Store;
    use crate::store::records::{self, view};
    use crate::testing::{
        case_record, mutation, new_attempt, page, pulled_attempt, pulled_case, seed, stamp, store,
    };

    fn shown(store: &Store, id: sync_protocol::CaseId) -> Option<CaseSummary> {
        store
            .read(|c| view::<CaseSummary>(c, id.0))
            .expect("reads")
            .map(|v| v.value)
    }

    #[test]
    fn a_pending_edit_stays_in_view_over_a_newer_pulled_state() {
        let (_dir, store) = store();
        let (phone, other) = (DeviceId::new(), DeviceId::new());
        let case = pulled_case(CaseStatus::Suspected, 1, stamp(1_000, other));
        let id = case.value.id;
        seed(&store, vec![case_record(&case)]);
        let edit = mutation(
            Change::UpdateCase {
                case_id: id,
                fields: vec![CaseField::Reason(ReasonCategory::Illness)],
            },
            1,
            stamp(3_000, phone),
        );
        store
            .write(|tx| outbox::enqueue(tx, &edit, Utc::now()))
            .expect("queued");

        // Someone else changed the responsible person meanwhile (and the reason, earlier).
        let mut newer = case.clone();
        newer.version = 2;
        let responsible = UserId::new();
        newer.value.responsible_user_id = Some(responsible);
        newer.value.reason = Some(ReasonCategory::Religion);
        for field in ["reason", "responsible_user_id"] {
            newer.stamps.insert(
                field.into(),
                FieldStamp {
                    version: 2,
                    hlc: stamp(2_000, other),
                },
            );
        }
        let applied = store
            .write(|tx| apply_page(tx, &page(vec![case_record(&newer)], "c2")))
            .expect("applies");
        assert_eq!(applied.records, 1);

        let case = shown(&store, id).expect("held");
        assert_eq!(
            case.reason,
            Some(ReasonCategory::Illness),
            "the local edit shows"
        );
        assert_eq!(
            case.responsible_user_id,
            Some(responsible),
            "the pulled change shows"
        );
        let version = store
            .read(|c| view::<CaseSummary>(c, id.0))
            .expect("reads")
            .expect("held")
            .version;
        assert_eq!(version, 2, "new edits are made on the pulled version");
        let cursor: Option<String> = store.read(|c| meta::get(c, Key::Cursor)).expect("reads");
        assert_eq!(cursor.as_deref(), Some("c2"));
    }

    #[test]
    fn removed_records_are_deleted_and_unpushed_ones_stay() {
        let (_dir, store) = store();
        let device = DeviceId::new();
        let case = pulled_case(CaseStatus::Suspected, 1, stamp(1, device));
        let id = case.value.id;
        let attempt = pulled_attempt(id);
        let conflict = Conflict {
            id: ConflictId::new(),
            entity_kind: EntityKind::Case,
            entity_id: id.0,
            case_id: id,
            field: "reason".into(),
            winning_value: FieldValue::Case(CaseField::Reason(ReasonCategory::Poverty)),
            winning_hlc: stamp(2, device),
            losing_value: FieldValue::Case(CaseField::Reason(ReasonCategory::Illness)),
            losing_hlc: stamp(1, DeviceId::new()),
            losing_mutation_id: None,
            losing_device_id: DeviceId::new(),
            losing_user_id: None,
            losing_user_name: None,
            created_at: Utc::now(),
        };
        seed(
            &store,
            vec![
                case_record(&case),
                attempt.clone(),
                PulledRecord::Conflict {
                    conflict: conflict.clone(),
                },
            ],
        );
        assert_eq!(store.read(records::conflicts).expect("reads"), [conflict]);
        let local = new_attempt(id);
        let create = mutation(
            Change::CreateAttempt {
                attempt: local.clone(),
            },
            0,
            stamp(5, device),
        );
        store
            .write(|tx| outbox::enqueue(tx, &create, Utc::now()))
            .expect("queued");
        assert_eq!(
            store
                .read(|c| records::attempts(c, id))
                .expect("reads")
                .len(),
            2
        );

        let PulledRecord::Attempt {
            attempt: pulled, ..
        } = &attempt
        else {
            unreachable!("an attempt")
        };
        let removed = |entity_kind, id| PulledRecord::Removed { entity_kind, id };
        store
            .write(|tx| {
                apply_page(
                    tx,
                    &page(vec![removed(EntityKind::Attempt, pulled.id.0)], "c2"),
                )
            })
            .expect("applies");
        let left: Vec<Attempt> = store.read(|c| records::attempts(c, id)).expect("reads");
        assert_eq!(left.iter().map(|a| a.id).collect::<Vec<_>>(), [local.id]);

        store
            .write(|tx| apply_page(tx, &page(vec![removed(EntityKind::Case, id.0)], "c3")))
            .expect("applies");
        assert_eq!(shown(&store, id), None);
        assert!(store.read(records::conflicts).expect("reads").is_empty());
        let left: Vec<Attempt> = store.read(|c| records::attempts(c, id)).expect("reads");
        assert_eq!(
            left.iter().map(|a| a.id).collect::<Vec<_>>(),
            [local.id],
            "an attempt not yet pushed stays until the server answers it"
        );
    }

    #[test]
    fn a_page_moves_the_clock_past_what_it_saw() {
        let (_dir, store) = store();
        let far = stamp(9_000_000_000_000, DeviceId::new());
        let mut last = page(vec![], "c1");
        last.server_hlc = far;
        store.write(|tx| apply_page(tx, &last)).expect("applies");
        let next = store.write(|tx| meta::tick(tx, 1_000)).expect("ticks");
        assert!((next.millis, next.counter) > (far.millis, far.counter));
    }
}
