//! Local application of mutations: a record's view is its last pulled state with the pending
//! mutations replayed on top, under the merge rules the server applies
//! ([`sync_protocol::merge`]), so the phone shows at once what the server will hold after a sync.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sync_protocol::cases::{Attempt, CaseStatus, CaseSummary};
use sync_protocol::evidence::Document;
use sync_protocol::merge::{
    AttemptFields, CaseFields, DocumentFields, Rejection, apply_attempt_update, apply_case_update,
    merge_scalars,
};
use sync_protocol::signing::{NewSignature, Signature};
use sync_protocol::students::RollEntry;
use sync_protocol::sync::{Change, FieldStamps, Mutation, RejectCode};
use sync_protocol::{AttemptId, CaseId, DeviceId, DocumentId, UserId};

/// A record with its version and field clock, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Versioned<T> {
    /// The record.
    pub(crate) value: T,
    /// The server's version of it (0 while the server has not got it).
    pub(crate) version: i64,
    /// Its field clock.
    pub(crate) stamps: FieldStamps,
}

/// The record a mutation changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// A case.
    Case(CaseId),
    /// An attempt.
    Attempt(AttemptId),
    /// A document.
    Document(DocumentId),
}

impl Target {
    /// The record `change` writes; `None` for a review, which shows once the server has it,
    /// and for a signature, which is never changed (see [`signed`]).
    pub(crate) fn of(change: &Change) -> Option<Self> {
        match change {
            Change::OpenCase { case } => Some(Self::Case(case.id)),
            Change::UpdateCase { case_id, .. } => Some(Self::Case(*case_id)),
            Change::CreateAttempt { attempt } => Some(Self::Attempt(attempt.id)),
            Change::UpdateAttempt { attempt_id, .. } => Some(Self::Attempt(*attempt_id)),
            Change::CreateDocument { document } => Some(Self::Document(document.id)),
            Change::UpdateDocument { document_id, .. } => Some(Self::Document(*document_id)),
            Change::CreateReview { .. } | Change::SignAttempt { .. } => None,
        }
    }
}

/// A signature made here, as the server will store it once it has checked it: signed by
/// `signer` (named `signer_name`) with the key this phone (`device`) holds, and counted as
/// received when it was signed, until the server's copy is pulled.
pub(crate) fn signed(
    new: &NewSignature,
    signer: UserId,
    signer_name: String,
    device: DeviceId,
) -> Signature {
    Signature {
        id: new.id,
        case_id: new.case_id,
        attempt_id: new.attempt_id,
        user_id: signer,
        user_name: signer_name,
        key_id: new.key_id,
        device_id: device.to_string(),
        content_digest: new.content_digest.clone(),
        signature: new.signature.clone(),
        signed_at: new.signed_at,
        received_at: new.signed_at,
        vouched: new.vouched.clone(),
    }
}

fn rejection(code: RejectCode, reason: &str) -> Rejection {
    Rejection {
        code,
        reason: reason.to_owned(),
    }
}

/// When a record the phone made counts as created until the server's copy is pulled: the
/// stamp of the mutation that made it.
fn stamped_at(mutation: &Mutation) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(mutation.hlc.millis).unwrap_or_default()
}

/// Replays a case update on a case's view. Anything else leaves it as it is.
pub(crate) fn replay_case(
    view: &mut Versioned<CaseSummary>,
    mutation: &Mutation,
) -> Result<(), Rejection> {
    let Change::UpdateCase { fields, .. } = &mutation.change else {
        return Ok(());
    };
    let mut merged = CaseFields::from(&view.value);
    apply_case_update(
        &mut merged,
        &mut view.stamps,
        mutation.base_version,
        mutation.hlc,
        fields,
        view.version,
    )?;
    merged.write_to(&mut view.value);
    Ok(())
}

/// Replays a reported absence on a case's view (`None`: not held here): the case as the server
/// will open it for `pupil`, with `author` responsible, until the server's copy is pulled.
pub(crate) fn replay_opening(
    view: &mut Option<Versioned<CaseSummary>>,
    mutation: &Mutation,
    pupil: &RollEntry,
    author: UserId,
) {
    let Change::OpenCase { case: new } = &mutation.change else {
        return;
    };
    created(view, || CaseSummary {
        id: new.id,
        student_id: new.student_id,
        student_name: pupil.name.clone(),
        school_id: pupil.school_id,
        village_id: pupil.village_id,
        township_id: pupil.township_id,
        status: CaseStatus::Absent,
        found_by: new.found_by,
        reason: None,
        responsible_user_id: Some(author),
        opened_on: new.first_absent_on,
        relapse_count: 0,
        closure_reason: None,
        due: Vec::new(),
        updated_at: stamped_at(mutation),
        version: 0,
    });
}

/// Replays a creation on `view`: the record as recorded, until the server's copy is pulled. A
/// creation the server already sent back changes nothing.
fn created<T>(view: &mut Option<Versioned<T>>, recorded: impl FnOnce() -> T) {
    if view.is_none() {
        *view = Some(Versioned {
            value: recorded(),
            version: 0,
            stamps: FieldStamps::new(),
        });
    }
}

/// Replays an attempt's creation or update on its view (`None`: no such attempt here yet).
/// A new attempt's author is `author`, and its creation time the mutation's stamp, until the
/// server's copy is pulled.
pub(crate) fn replay_attempt(
    view: &mut Option<Versioned<Attempt>>,
    mutation: &Mutation,
    author: UserId,
) -> Result<(), Rejection> {
    match &mutation.change {
        Change::CreateAttempt { attempt: new } => {
            created(view, || new.recorded(author, stamped_at(mutation)));
            Ok(())
        }
        Change::UpdateAttempt {
            fields,
            add_participants,
            ..
        } => {
            let view = view
                .as_mut()
                .ok_or_else(|| rejection(RejectCode::NotFound, "no such attempt"))?;
            if fields.is_empty() && add_participants.is_empty() {
                return Err(Rejection::empty_update());
            }
            let mut merged = AttemptFields::from(&view.value);
            apply_attempt_update(
                &mut merged,
                &mut view.stamps,
                mutation.base_version,
                mutation.hlc,
                fields,
                add_participants,
                view.version,
            );
            merged.write_to(&mut view.value);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Replays a document's creation or update on its view (`None`: no such document here yet).
pub(crate) fn replay_document(
    view: &mut Option<Versioned<Document>>,
    mutation: &Mutation,
    author: UserId,
) -> Result<(), Rejection> {
    match &mutation.change {
        Change::CreateDocument { document: new } => {
            created(view, || new.recorded(author, stamped_at(mutation)));
            Ok(())
        }
        Change::UpdateDocument { fields, .. } => {
            let view = view
                .as_mut()
                .ok_or_else(|| rejection(RejectCode::NotFound, "no such document"))?;
            if fields.is_empty() {
                return Err(Rejection::empty_update());
            }
            let mut merged = DocumentFields::from(&view.value);
            merge_scalars(
                &mut merged,
                &mut view.stamps,
                mutation.base_version,
                mutation.hlc,
                fields,
                view.version,
            );
            merged.write_to(&mut view.value);
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use sync_protocol::DeviceId;
    use sync_protocol::cases::{AttemptOutcome, CaseStatus, Participant, ReasonCategory};
    use sync_protocol::sync::{AttemptField, CaseField};

    use super::*;
    use crate::testing::{mutation, new_attempt, pulled_case, stamp};

    #[test]
    fn a_local_edit_later_than_the_pulled_value_shows_and_an_earlier_one_yields() {
        let (phone, other) = (DeviceId::new(), DeviceId::new());
        let mut view = pulled_case(CaseStatus::Suspected, 3, stamp(1_000, other));
        let id = view.value.id;
        let later = mutation(
            Change::UpdateCase {
                case_id: id,
                fields: vec![CaseField::Reason(ReasonCategory::Illness)],
            },
            2,
            stamp(2_000, phone),
        );
        replay_case(&mut view, &later).expect("legal");
        assert_eq!(view.value.reason, Some(ReasonCategory::Illness));

        let mut view = pulled_case(CaseStatus::Suspected, 3, stamp(5_000, other));
        replay_case(&mut view, &later).expect("legal");
        assert_eq!(view.value.reason, Some(ReasonCategory::Poverty));
    }

    #[test]
    fn an_illegal_status_move_is_refused_with_the_machine_s_words() {
        let mut view = pulled_case(CaseStatus::Suspected, 1, stamp(1, DeviceId::new()));
        let before = view.clone();
        let case_id = view.value.id;
        let err = replay_case(
            &mut view,
            &mutation(
                Change::UpdateCase {
                    case_id,
                    fields: vec![CaseField::Status(CaseStatus::JointPersuasion)],
                },
                1,
                stamp(2, DeviceId::new()),
            ),
        )
        .expect_err("suspected cannot skip to joint persuasion");
        assert_eq!(err.code, RejectCode::IllegalTransition);
        assert_eq!(
            err.reason,
            CaseStatus::Suspected
                .check_move(CaseStatus::JointPersuasion)
                .expect_err("illegal")
                .to_string()
        );
        assert_eq!(view, before);
    }

    #[test]
    fn an_attempt_made_here_shows_and_takes_later_edits_and_participants() {
        let device = DeviceId::new();
        let author = UserId::new();
        let new = new_attempt(CaseId::new());
        let mut view = None;
        replay_attempt(
            &mut view,
            &mutation(
                Change::CreateAttempt {
                    attempt: new.clone(),
                },
                0,
                stamp(10, device),
            ),
            author,
        )
        .expect("created");
        let helper = Participant {
            user_id: None,
            name: "王主任".into(),
            unit: "村委会".into(),
            department: None,
        };
        let update = Change::UpdateAttempt {
            attempt_id: new.id,
            fields: vec![AttemptField::Outcome(AttemptOutcome::AgreedToReturn)],
            add_participants: vec![helper.clone(), new.participants[0].clone()],
        };
        replay_attempt(&mut view, &mutation(update, 0, stamp(11, device)), author)
            .expect("updated");
        let attempt = view.expect("exists").value;
        assert_eq!(attempt.outcome, AttemptOutcome::AgreedToReturn);
        assert_eq!(
            attempt.participants,
            vec![new.participants[0].clone(), helper]
        );
        assert_eq!(attempt.author_id, author);
    }

    #[test]
    fn an_update_of_an_unknown_or_empty_attempt_is_refused() {
        let update = |id| Change::UpdateAttempt {
            attempt_id: id,
            fields: vec![],
            add_participants: vec![],
        };
        let device = DeviceId::new();
        let mut none = None;
        let err = replay_attempt(
            &mut none,
            &mutation(update(AttemptId::new()), 0, stamp(1, device)),
            UserId::new(),
        )
        .expect_err("unknown");
        assert_eq!(err.code, RejectCode::NotFound);
        let new = new_attempt(CaseId::new());
        let mut view = None;
        let create = mutation(
            Change::CreateAttempt {
                attempt: new.clone(),
            },
            0,
            stamp(1, device),
        );
        replay_attempt(&mut view, &create, UserId::new()).expect("created");
        let err = replay_attempt(
            &mut view,
            &mutation(update(new.id), 0, stamp(2, device)),
            UserId::new(),
        )
        .expect_err("empty");
        assert_eq!(err.code, RejectCode::Invalid);
    }
}
