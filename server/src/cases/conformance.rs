//! Whether a case's recorded history is one the rules allow: every move along the case machine's
//! graph, each made when what it requires was on the case (as the records stood that day), the
//! moves joined end to end from where a row opens to where it stands, and a row that was written
//! off or deferred saying why. `server verify` runs it over every case; a row written to the
//! database by hand, or by an older version with other rules, shows here.

use chrono::NaiveDate;
use sync_protocol::cases::CaseStatus;

use super::history::{CaseHistory, Moved};
use super::machine;

/// Where a row begins: a reported absence (R1), or a suspected case found by the roll
/// comparison or a report (R5, R6).
const OPENING: &[CaseStatus] = &[CaseStatus::Absent, CaseStatus::Suspected];

/// What the rules would have refused in `history`, in words, oldest first (empty: it conforms).
pub fn refusals(history: &CaseHistory) -> Vec<String> {
    let mut found = Vec::new();
    let first = history.moves.first().map_or(history.status, |m| m.from);
    if !OPENING.contains(&first) {
        found.push(format!(
            "opened in `{}`, where no row opens (only `absent` or `suspected`)",
            first.as_str()
        ));
    }
    let mut at = first;
    for (index, moved) in history.moves.iter().enumerate() {
        if moved.from != at {
            found.push(format!(
                "the move on {} leaves `{}`, but the row stood at `{}`",
                moved.on,
                moved.from.as_str(),
                at.as_str()
            ));
        }
        let before = as_it_stood(history, index);
        let refusal = match before.status.check_move(moved.to) {
            Err(illegal) => Some(illegal.to_string()),
            Ok(()) => {
                let missing = machine::requirements(&before, moved.to, moved.on);
                (!missing.is_empty()).then(|| {
                    let missing: Vec<String> = missing.iter().map(ToString::to_string).collect();
                    format!("it lacked {}", missing.join("; "))
                })
            }
        };
        if let Some(refusal) = refusal {
            found.push(describe(moved, &refusal));
        }
        at = moved.to;
    }
    if at != history.status {
        found.push(format!(
            "stands at `{}`, but its last move entered `{}`",
            history.status.as_str(),
            at.as_str()
        ));
    }
    let written_off = matches!(history.status, CaseStatus::Closed | CaseStatus::Deferred);
    if written_off && history.closure_reason.is_none() {
        found.push(format!(
            "stands at `{}` with no closure reason",
            history.status.as_str()
        ));
    }
    found
}

/// The case as it stood just before its move `index`: at that move's origin, with the moves,
/// attempts and documents recorded by that day.
fn as_it_stood(history: &CaseHistory, index: usize) -> CaseHistory {
    let moved = history.moves[index];
    let by = |on: NaiveDate| on <= moved.on;
    CaseHistory {
        status: moved.from,
        moves: history.moves[..index].to_vec(),
        attempts: history
            .attempts
            .iter()
            .filter(|a| by(a.on))
            .cloned()
            .collect(),
        documents: history
            .documents
            .iter()
            .filter(|d| by(d.on))
            .copied()
            .collect(),
        ..history.clone()
    }
}

fn describe(moved: &Moved, refusal: &str) -> String {
    format!(
        "the move `{}` → `{}` on {}: {refusal}",
        moved.from.as_str(),
        moved.to.as_str(),
        moved.on
    )
}

#[cfg(test)]
mod tests {
    use sync_protocol::cases::{AttemptKind, AttemptOutcome, ClosureReason};
    use sync_protocol::evidence::DocumentType;

    use super::*;
    use crate::cases::history::{AttemptFact, DocumentFact};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 10, d).unwrap_or_default()
    }

    fn moved(from: CaseStatus, to: CaseStatus, on: u32) -> Moved {
        Moved {
            from,
            to,
            on: day(on),
        }
    }

    fn visit(on: u32) -> AttemptFact {
        AttemptFact {
            kind: AttemptKind::HomeVisit,
            on: day(on),
            outcome: AttemptOutcome::Refused,
            recorded: false,
            confirmed: false,
            standing: Vec::new(),
            departments: Vec::new(),
        }
    }

    /// A row reported to the township after three school attempts.
    fn reported() -> CaseHistory {
        let mut h = CaseHistory::new(CaseStatus::Reported, day(1));
        h.moves = vec![
            moved(CaseStatus::Absent, CaseStatus::Suspected, 5),
            moved(CaseStatus::Suspected, CaseStatus::SchoolPersuasion, 6),
            moved(CaseStatus::SchoolPersuasion, CaseStatus::Reported, 20),
        ];
        h.attempts = vec![visit(7), visit(10), visit(14)];
        h
    }

    #[test]
    fn r05_r08_a_history_played_by_the_rules_conforms() {
        assert_eq!(refusals(&reported()), Vec::<String>::new());
        let absent = CaseHistory::new(CaseStatus::Absent, day(1));
        assert_eq!(refusals(&absent), Vec::<String>::new());
    }

    #[test]
    fn r08_a_report_made_before_the_third_school_attempt_is_named() {
        let mut h = reported();
        // The third attempt was recorded after the report: on the day of the report there were two.
        h.attempts[2].on = day(25);
        let found = refusals(&h);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("`school_persuasion` → `reported` on 2026-10-20"),
            "{found:?}"
        );
    }

    #[test]
    fn r11_a_row_set_to_a_status_without_its_moves_is_named() {
        // Written straight to the database: joint persuasion with no move and no notice.
        let h = CaseHistory::new(CaseStatus::JointPersuasion, day(1));
        let found = refusals(&h);
        assert!(
            found[0].contains("opened in `joint_persuasion`"),
            "{found:?}"
        );

        let mut h = reported();
        h.status = CaseStatus::JointPersuasion;
        let found = refusals(&h);
        assert!(
            found
                .iter()
                .any(|f| f.contains("its last move entered `reported`")),
            "{found:?}"
        );
        let mut h = reported();
        h.moves
            .push(moved(CaseStatus::Reported, CaseStatus::JointPersuasion, 21));
        h.status = CaseStatus::JointPersuasion;
        let found = refusals(&h);
        assert!(
            found.iter().any(|f| f.contains("return_notice")),
            "the served notice is missing: {found:?}"
        );
        h.documents.push(DocumentFact {
            doc_type: DocumentType::ReturnNotice,
            on: day(21),
            approved: false,
        });
        assert_eq!(refusals(&h), Vec::<String>::new());
    }

    #[test]
    fn r19_a_write_off_without_its_reason_or_evidence_is_named() {
        let mut h = CaseHistory::new(CaseStatus::Closed, day(1));
        h.moves = vec![moved(CaseStatus::Suspected, CaseStatus::Closed, 9)];
        let found = refusals(&h);
        assert!(
            found.iter().any(|f| f.contains("no closure reason")),
            "{found:?}"
        );
        h.closure_reason = Some(ClosureReason::DuplicateRegistration);
        let found = refusals(&h);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("`suspected` → `closed`"), "{found:?}");
    }
}
