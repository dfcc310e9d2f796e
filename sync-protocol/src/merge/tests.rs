//! The merge rules' unit tests.

use super::*;
use crate::ids::DeviceId;

fn stamp(millis: i64, device: DeviceId) -> HlcStamp {
    HlcStamp {
        millis,
        counter: 0,
        device,
    }
}

fn case() -> CaseFields {
    CaseFields {
        status: CaseStatus::Suspected,
        reason: None,
        responsible_user_id: None,
        relapse_count: 0,
        closure_reason: None,
    }
}

#[test]
fn concurrent_scalar_edits_keep_the_later_and_record_the_other() {
    let (a, b) = (DeviceId::new(), DeviceId::new());
    let mut c = case();
    let mut stamps = FieldStamps::new();
    let first = apply_case_update(
        &mut c,
        &mut stamps,
        0,
        stamp(10, a),
        &[CaseField::Reason(ReasonCategory::Poverty)],
        1,
    )
    .expect("applies");
    assert!(first.is_empty());
    // Device b edited the same field without seeing a's edit, later in time: b wins.
    let second = apply_case_update(
        &mut c,
        &mut stamps,
        0,
        stamp(20, b),
        &[CaseField::Reason(ReasonCategory::Illness)],
        2,
    )
    .expect("applies");
    assert_eq!(c.reason, Some(ReasonCategory::Illness));
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].losing, CaseField::Reason(ReasonCategory::Poverty));
    assert!(!second[0].incoming_lost);
    // An earlier concurrent edit arriving last loses and is kept.
    let third = apply_case_update(
        &mut c,
        &mut stamps,
        0,
        stamp(5, a),
        &[CaseField::Reason(ReasonCategory::Religion)],
        3,
    )
    .expect("applies");
    assert_eq!(c.reason, Some(ReasonCategory::Illness));
    assert!(third[0].incoming_lost);
}

#[test]
fn a_devices_own_offline_edits_never_conflict_with_each_other() {
    let d = DeviceId::new();
    let mut c = case();
    let mut stamps = FieldStamps::new();
    for (n, reason) in [ReasonCategory::Poverty, ReasonCategory::Illness]
        .into_iter()
        .enumerate()
    {
        let losses = apply_case_update(
            &mut c,
            &mut stamps,
            0,
            stamp(10 + n as i64, d),
            &[CaseField::Reason(reason)],
            2 + n as i64,
        )
        .expect("applies");
        assert!(losses.is_empty());
    }
    assert_eq!(c.reason, Some(ReasonCategory::Illness));
}

#[test]
fn an_edit_made_after_seeing_the_value_overwrites_without_conflict() {
    let d = DeviceId::new();
    let mut c = case();
    let mut stamps = FieldStamps::new();
    apply_case_update(
        &mut c,
        &mut stamps,
        0,
        stamp(10, d),
        &[CaseField::Reason(ReasonCategory::Poverty)],
        1,
    )
    .expect("ok");
    let losses = apply_case_update(
        &mut c,
        &mut stamps,
        1,
        stamp(20, d),
        &[CaseField::Reason(ReasonCategory::Illness)],
        2,
    )
    .expect("ok");
    assert!(losses.is_empty());
}

#[test]
fn illegal_status_moves_are_rejected_and_change_nothing() {
    let mut c = case();
    let mut stamps = FieldStamps::new();
    let err = apply_case_update(
        &mut c,
        &mut stamps,
        0,
        stamp(1, DeviceId::new()),
        &[
            CaseField::Reason(ReasonCategory::Poverty),
            CaseField::Status(CaseStatus::JointPersuasion),
        ],
        1,
    )
    .expect_err("suspected cannot skip to joint persuasion");
    assert_eq!(err.code, RejectCode::IllegalTransition);
    assert_eq!(c, case());
    assert!(stamps.is_empty());
}

#[test]
fn a_relapse_counts_on_the_row() {
    let mut c = CaseFields {
        status: CaseStatus::FollowUp,
        ..case()
    };
    apply_case_update(
        &mut c,
        &mut FieldStamps::new(),
        0,
        stamp(1, DeviceId::new()),
        &[CaseField::Status(CaseStatus::Suspected)],
        1,
    )
    .expect("relapse is legal");
    assert_eq!((c.status, c.relapse_count), (CaseStatus::Suspected, 1));
}

#[test]
fn participants_unite_in_one_order_whatever_the_arrival_order() {
    let p = |name: &str| Participant {
        user_id: None,
        name: name.into(),
        unit: "村委会".into(),
        department: None,
    };
    let base = AttemptFields {
        met_whom: String::new(),
        guardian_statement: String::new(),
        outcome: AttemptOutcome::Undecided,
        next_step: String::new(),
        notes: String::new(),
        location: None,
        participants: vec![p("甲")],
        initial_participants: 1,
    };
    let mut x = base.clone();
    unite_participants(&mut x, &[p("丙")]);
    unite_participants(&mut x, &[p("乙"), p("丙")]);
    let mut y = base;
    unite_participants(&mut y, &[p("乙")]);
    unite_participants(&mut y, &[p("丙")]);
    assert_eq!(x.participants, y.participants);
    assert_eq!(x.participants.len(), 3);
    assert_eq!(x.participants[0], p("甲"));
}
