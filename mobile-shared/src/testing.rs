//! Fixtures for the crate's unit tests: records as the server would send them, and a store in a
//! temporary directory.

use chrono::{NaiveDate, Utc};
use sync_protocol::cases::{
    Attempt, AttemptKind, AttemptOutcome, CaseStatus, CaseSummary, FoundBy, Participant,
    ReasonCategory,
};
use sync_protocol::hlc::HlcStamp;
use sync_protocol::sync::{
    Change, FieldStamp, FieldStamps, Mutation, NewAttempt, PullResponse, PulledRecord,
};
use sync_protocol::{AttemptId, CaseId, DeviceId, MutationId, OrgUnitId, StudentId, UserId};

use crate::apply::Versioned;
use crate::store::Store;

/// A stamp at `millis` from `device`.
pub(crate) fn stamp(millis: i64, device: DeviceId) -> HlcStamp {
    HlcStamp {
        millis,
        counter: 0,
        device,
    }
}

/// A case in `status`, at `version`, whose reason was last written at `reason_at`.
pub(crate) fn pulled_case(
    status: CaseStatus,
    version: i64,
    reason_at: HlcStamp,
) -> Versioned<CaseSummary> {
    let mut stamps = FieldStamps::new();
    stamps.insert(
        "reason".into(),
        FieldStamp {
            version,
            hlc: reason_at,
        },
    );
    Versioned {
        value: CaseSummary {
            id: CaseId::new(),
            student_id: StudentId::new(),
            student_name: "张小明".into(),
            school_id: OrgUnitId::new(),
            village_id: OrgUnitId::new(),
            township_id: OrgUnitId::new(),
            status,
            found_by: FoundBy::DailyAttendance,
            reason: Some(ReasonCategory::Poverty),
            responsible_user_id: None,
            opened_on: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap_or_default(),
            relapse_count: 0,
            closure_reason: None,
            due: Vec::new(),
            updated_at: Utc::now(),
            version,
        },
        version,
        stamps,
    }
}

/// A mutation of `change` made at `hlc` on `base_version`.
pub(crate) fn mutation(change: Change, base_version: i64, hlc: HlcStamp) -> Mutation {
    Mutation {
        id: MutationId::new(),
        base_version,
        hlc,
        change,
    }
}

/// A new attempt on `case_id`.
pub(crate) fn new_attempt(case_id: CaseId) -> NewAttempt {
    NewAttempt {
        id: AttemptId::new(),
        case_id,
        kind: AttemptKind::HomeVisit,
        occurred_at: Utc::now(),
        location: None,
        participants: vec![Participant {
            user_id: None,
            name: "李老师".into(),
            unit: "实验小学".into(),
            department: None,
        }],
        met_whom: "祖母".into(),
        guardian_statement: String::new(),
        outcome: AttemptOutcome::Undecided,
        next_step: String::new(),
        notes: String::new(),
    }
}

/// An attempt as the server stores it, at version 1.
pub(crate) fn pulled_attempt(case_id: CaseId) -> PulledRecord {
    let new = new_attempt(case_id);
    PulledRecord::Attempt {
        attempt: Attempt {
            id: new.id,
            case_id,
            kind: new.kind,
            occurred_at: new.occurred_at,
            location: None,
            participants: new.participants,
            met_whom: new.met_whom,
            guardian_statement: new.guardian_statement,
            outcome: new.outcome,
            next_step: new.next_step,
            notes: new.notes,
            author_id: UserId::new(),
            created_at: Utc::now(),
        },
        version: 1,
        stamps: FieldStamps::new(),
    }
}

/// The pulled form of a case.
pub(crate) fn case_record(case: &Versioned<CaseSummary>) -> PulledRecord {
    PulledRecord::Case {
        case: case.value.clone(),
        version: case.version,
        stamps: case.stamps.clone(),
    }
}

/// A last page holding `records`, ending at `cursor`.
pub(crate) fn page(records: Vec<PulledRecord>, cursor: &str) -> PullResponse {
    PullResponse {
        records,
        cursor: cursor.into(),
        more: false,
        server_hlc: stamp(1_000, DeviceId::new()),
    }
}

/// A fresh store in a temporary directory (kept alive by the returned guard).
pub(crate) fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(dir.path()).expect("store opens");
    (dir, store)
}

/// Writes `records` as one pulled page.
pub(crate) fn seed(store: &Store, records: Vec<PulledRecord>) {
    store
        .write(|tx| crate::sync::apply_page(tx, &page(records, "seed")))
        .expect("page applies");
}
