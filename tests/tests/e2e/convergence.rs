//! Property, through the real server and a real phone: the same mutations, pushed in any
//! interleaving of the devices' streams and with any resends, leave the server (and a phone that
//! pulls) in the same state, and every value written is either current or kept in a conflict
//! record (or replaced by its own device's later edit).

use std::collections::BTreeMap;

use chrono::{NaiveDate, Utc};
use mobile_shared::NoProgress;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, TransactionTrait as _};
use server::db::changes::ChangeSet;
use server::db::entity::{case, conflict, student};
use server::records::{self, NewCase};
use sync_protocol::cases::{
    AttemptKind, AttemptOutcome, CaseStatus, FoundBy, Participant, ReasonCategory,
};
use sync_protocol::hlc::HlcStamp;
use sync_protocol::org::Role;
use sync_protocol::sync::{
    AttemptField, CaseField, Change, Mutation, NewAttempt, PROTOCOL_VERSION, PushRequest,
};
use sync_protocol::{AttemptId, CaseId, DeviceId, MutationId, UserId};
use tests::TestServer;

/// What a device does, abstractly; materialised once per target case.
#[derive(Debug, Clone)]
enum Op {
    Reason(u8),
    Responsible(u8),
    NewAttempt(u8),
    EditAttempt(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u8>().prop_map(Op::Reason),
        any::<u8>().prop_map(Op::Responsible),
        any::<u8>().prop_map(Op::NewAttempt),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::EditAttempt(a, b)),
    ]
}

/// Mutation streams, one per device, against `case_id`. Attempt slots map to ids per target;
/// responsible persons are picked from `staff` (accounts of the case's units).
fn materialise(
    streams: &[Vec<Op>],
    devices: &[DeviceId],
    case_id: CaseId,
    base_millis: i64,
    staff: &[UserId],
) -> (Vec<Vec<Mutation>>, Vec<AttemptId>) {
    let mut slots = Vec::new();
    let mut out = Vec::new();
    for (d, ops) in streams.iter().enumerate() {
        let device = devices[d];
        let mut mine: Vec<AttemptId> = Vec::new();
        let mut stream = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            // Each device's clock moves forward; devices interleave in time.
            let hlc = HlcStamp {
                millis: base_millis + i64::try_from(n * 7 + d * 3).unwrap_or(0),
                counter: 0,
                device,
            };
            let change = match op {
                Op::Reason(v) => Change::UpdateCase {
                    case_id,
                    fields: vec![CaseField::Reason(ReasonCategory::ALL[usize::from(*v) % 4])],
                },
                Op::Responsible(v) => Change::UpdateCase {
                    case_id,
                    fields: vec![CaseField::ResponsibleUserId(
                        staff[usize::from(*v) % staff.len()],
                    )],
                },
                Op::NewAttempt(v) => {
                    let id = AttemptId::new();
                    mine.push(id);
                    slots.push(id);
                    Change::CreateAttempt {
                        attempt: NewAttempt {
                            id,
                            case_id,
                            kind: AttemptKind::HomeVisit,
                            occurred_at: Utc::now(),
                            location: None,
                            participants: vec![Participant {
                                user_id: None,
                                name: format!("p{}", v % 3),
                                unit: "学校".into(),
                                department: None,
                            }],
                            met_whom: "监护人".into(),
                            guardian_statement: String::new(),
                            outcome: AttemptOutcome::Undecided,
                            next_step: String::new(),
                            notes: format!("n{v}"),
                        },
                    }
                }
                Op::EditAttempt(which, v) if !mine.is_empty() => Change::UpdateAttempt {
                    attempt_id: mine[usize::from(*which) % mine.len()],
                    fields: vec![
                        AttemptField::Notes(format!("e{}", v % 4)),
                        AttemptField::Outcome(AttemptOutcome::ALL[usize::from(*v) % 4]),
                    ],
                    add_participants: vec![Participant {
                        user_id: None,
                        name: format!("q{}", v % 3),
                        unit: "村委会".into(),
                        department: None,
                    }],
                },
                Op::EditAttempt(_, v) => Change::UpdateCase {
                    case_id,
                    fields: vec![CaseField::Reason(ReasonCategory::ALL[usize::from(*v) % 4])],
                },
            };
            stream.push(Mutation {
                id: MutationId::new(),
                base_version: 0,
                hlc,
                change,
            });
        }
        out.push(stream);
    }
    (out, slots)
}

/// The state of a case and its attempts (by slot), as the server holds it.
async fn server_state(
    server: &TestServer,
    token: &str,
    id: CaseId,
    slots: &[AttemptId],
) -> anyhow::Result<String> {
    let detail = server
        .get(&format!("/api/v1/cases/{id}"), token)
        .await?
        .body
        .json();
    let by_id: BTreeMap<String, serde_json::Value> = detail["attempts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|a| (a["id"].as_str().unwrap_or_default().to_owned(), a))
        .collect();
    let attempts: Vec<String> = slots
        .iter()
        .map(|s| {
            let a = &by_id[&s.to_string()];
            format!("{} {} {}", a["notes"], a["outcome"], a["participants"])
        })
        .collect();
    Ok(format!(
        "{} {} {} {:?}",
        detail["status"], detail["reason"], detail["responsible_user_id"], attempts
    ))
}

/// Opens a fresh case for the same student, in the same state.
async fn fresh_case(server: &TestServer, student_id: uuid::Uuid) -> anyhow::Result<case::Model> {
    let student = student::Entity::find_by_id(student_id)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("student"))?;
    let txn = server.state.db.write.begin().await?;
    let mut changes = ChangeSet::default();
    let new = NewCase {
        id: uuid::Uuid::now_v7(),
        status: CaseStatus::Suspected,
        found_by: FoundBy::DailyAttendance,
        reason: None,
        responsible_user_id: None,
        opened_on: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default(),
        relapse_count: 0,
    };
    let row = records::case(&txn, &mut changes, &student, new).await?;
    let _appended = changes.append(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

#[test]
fn any_interleaving_and_resend_converges_on_the_server_and_the_phone() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let server = runtime.block_on(TestServer::start())?;
    let token = runtime.block_on(server.token("teacher"))?;
    // Accounts of the home school and its district: each may be a case's responsible person.
    let staff: Vec<UserId> = server
        .home
        .users
        .iter()
        .filter(|(role, _)| matches!(role, Role::Teacher | Role::SchoolLead | Role::Supervisor))
        .map(|(_, u)| UserId::from(u.id))
        .collect();
    let phone = tokio::sync::Mutex::new(runtime.block_on(server.phone("teacher"))?);
    let student_id = server
        .school_cases()
        .next()
        .map(|c| c.student_id)
        .ok_or_else(|| anyhow::anyhow!("case"))?;

    let strategy = (
        proptest::collection::vec(proptest::collection::vec(op(), 1..6), 2..4),
        proptest::collection::vec(any::<u16>(), 0..40),
        proptest::collection::vec(any::<u16>(), 0..10),
    );
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        ..ProptestConfig::default()
    });
    let result = runner.run(&strategy, |(streams, schedule, resends)| {
        runtime.block_on(async {
            let devices: Vec<DeviceId> = streams.iter().map(|_| DeviceId::new()).collect();
            let base = Utc::now().timestamp_millis() - 600_000;
            let (x, y) = (fresh_case(&server, student_id).await?, fresh_case(&server, student_id).await?);
            let (xs, x_slots) = materialise(&streams, &devices, x.id.into(), base, &staff);
            let (ys, y_slots) = materialise(&streams, &devices, y.id.into(), base, &staff);
            // X: each device's stream in turn, one push each.
            for stream in &xs {
                let r = server.post("/api/v1/sync/push", &token, &PushRequest { protocol_version: PROTOCOL_VERSION, mutations: stream.clone() }).await?;
                anyhow::ensure!(r.status.is_success(), "{}", r.body.text());
            }
            // Y: interleaved by the schedule (each device's own order kept), in small pushes,
            // with some mutations resent later.
            let mut next = vec![0usize; ys.len()];
            let mut order: Vec<Mutation> = Vec::new();
            let mut picks = schedule.iter().chain(std::iter::repeat(&0));
            while next.iter().zip(&ys).any(|(n, s)| *n < s.len()) {
                let open: Vec<usize> = (0..ys.len()).filter(|i| next[*i] < ys[*i].len()).collect();
                let pick = open[usize::from(*picks.next().unwrap_or(&0)) % open.len()];
                order.push(ys[pick][next[pick]].clone());
                next[pick] += 1;
                for r in &resends {
                    if usize::from(*r) % (order.len() + 3) == 0 {
                        order.push(order[usize::from(*r) % order.len()].clone());
                    }
                }
            }
            for chunk in order.chunks(3) {
                let r = server.post("/api/v1/sync/push", &token, &PushRequest { protocol_version: PROTOCOL_VERSION, mutations: chunk.to_vec() }).await?;
                anyhow::ensure!(r.status.is_success(), "{}", r.body.text());
            }
            let (sx, sy) = (server_state(&server, &token, x.id.into(), &x_slots).await?, server_state(&server, &token, y.id.into(), &y_slots).await?);
            anyhow::ensure!(sx == sy, "server states differ:\n{sx}\n{sy}");

            // A phone that pulls holds exactly the server's state.
                        let mut phone = phone.lock().await;
            phone.sync(&mut NoProgress).await?;
            for (id, slots, expected) in [(x.id, &x_slots, &sx), (y.id, &y_slots, &sy)] {
                let local = phone.case(id.into())?.ok_or_else(|| anyhow::anyhow!("phone lacks the case"))?;
                let by_id: BTreeMap<AttemptId, _> = local.attempts.iter().map(|a| (a.id, a)).collect();
                let attempts: Vec<String> = slots
                    .iter()
                    .map(|s| {
                        let a = by_id[s];
                        format!("{} {} {}", serde_json::json!(a.notes), serde_json::json!(a.outcome), serde_json::json!(a.participants))
                    })
                    .collect();
                let on_phone = format!(
                    "{} {} {} {:?}",
                    serde_json::json!(local.case.status),
                    serde_json::json!(local.case.reason),
                    serde_json::json!(local.case.responsible_user_id),
                    attempts
                );
                anyhow::ensure!(&on_phone == expected, "phone differs:\n{on_phone}\n{expected}");
            }

            // Nothing lost: every value written to Y is current, kept in a conflict, or replaced
            // by a later write of its own device.
            let conflicts = conflict::Entity::find().filter(conflict::Column::CaseId.eq(y.id)).all(&server.state.db.read).await?;
            let current = server.get(&format!("/api/v1/cases/{}", y.id), &token).await?.body.json();
            for (d, stream) in ys.iter().enumerate() {
                for (n, m) in stream.iter().enumerate() {
                    let Change::UpdateCase { fields, .. } = &m.change else { continue };
                    for field in fields {
                        let value = serde_json::to_value(field)?;
                        let (name, v) = (value["field"].as_str().unwrap_or_default().to_owned(), value["value"].clone());
                        let later_own = stream[n + 1..].iter().any(|l| matches!(&l.change, Change::UpdateCase { fields, .. }
                            if fields.iter().any(|f| serde_json::to_value(f).map(|x| x["field"] == name.as_str()).unwrap_or(false))));
                        let kept = conflicts.iter().any(|c| c.field == name && c.losing_value.contains(&v.to_string()) && c.losing_device_id == devices[d].0);
                        anyhow::ensure!(current[&name] == v || kept || later_own, "{name} = {v} of device {d} was lost");
                    }
                }
            }
            Ok(())
        })
        .map_err(|e: anyhow::Error| TestCaseError::fail(format!("{e:#}")))
    });
    result.map_err(|e| anyhow::anyhow!("{e}"))
}
