//! Sync as the server sees it, driven with the wire types: idempotent push, the 409 on a reused
//! id, scope, the case machine, clock skew, and the cursor that never skips a late commit.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use sea_orm::{EntityTrait as _, PaginatorTrait as _, QueryFilter as _, TransactionTrait as _};
use serde_json::Value;
use server::db::changes::{ChangeSet, RecordScope};
use server::db::entity::{
    applied_mutation, attempt, case, case_move, change_log, conflict, org_unit,
};
use sync_protocol::DeviceId;
use sync_protocol::cases::{CaseStatus, OpenCase, Participant, ReasonCategory};
use sync_protocol::hlc::HlcStamp;
use sync_protocol::students::TransferRequest;
use sync_protocol::sync::{
    CaseField, Change, EntityKind, Mutation, NewAttempt, PROTOCOL_VERSION, PullRequest,
    PullResponse, PushRequest,
};
use tests::{TestServer, mutation};

fn stamp(device: DeviceId, at: chrono::DateTime<Utc>) -> HlcStamp {
    HlcStamp {
        millis: at.timestamp_millis(),
        counter: 0,
        device,
    }
}

fn new_attempt(case: &case::Model) -> NewAttempt {
    tests::sample_attempt(case.id.into(), "")
}

fn push_body(mutations: Vec<Mutation>) -> PushRequest {
    PushRequest {
        protocol_version: PROTOCOL_VERSION,
        mutations,
    }
}

/// The first case of the teacher's school.
fn teachers_case(server: &TestServer) -> case::Model {
    server
        .school_cases()
        .next()
        .cloned()
        .expect("a case in the teacher's school")
}

/// How many rows `entity` has.
macro_rules! count {
    ($server:expr, $entity:ty) => {
        <$entity>::find().count(&$server.state.db.read).await?
    };
}

#[tokio::test]
async fn a_replayed_push_answers_the_same_and_writes_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let token = server.token("teacher").await?;
    let device = DeviceId::new();
    let case = teachers_case(&server);
    let attempt = new_attempt(&case);
    let body = push_body(vec![
        mutation(
            device,
            0,
            Change::CreateAttempt {
                attempt: attempt.clone(),
            },
        ),
        // References the attempt made earlier in the same batch.
        mutation(
            device,
            1,
            Change::UpdateAttempt {
                attempt_id: attempt.id,
                fields: vec![sync_protocol::sync::AttemptField::Notes(
                    "补充：已联系父亲".into(),
                )],
                add_participants: vec![Participant {
                    user_id: None,
                    name: "村主任".into(),
                    unit: "村委会".into(),
                    department: None,
                }],
            },
        ),
        mutation(
            device,
            case.version,
            Change::UpdateCase {
                case_id: case.id.into(),
                fields: vec![CaseField::Reason(ReasonCategory::WorkingAway)],
            },
        ),
    ]);
    // Through the phone's own HTTP client, as a phone that lost the answer would resend.
    let mut client = server.client("teacher").await?;
    let results = client.push(&body).await?.results;
    assert!(
        results.iter().all(|r| matches!(
            r.outcome,
            sync_protocol::sync::MutationOutcome::Applied { .. }
        )),
        "{results:?}"
    );
    let counts = (
        count!(server, attempt::Entity),
        count!(server, change_log::Entity),
        count!(server, applied_mutation::Entity),
    );

    for _ in 0..2 {
        let again = client.push(&body).await?;
        assert_eq!(
            again.results, results,
            "a replay returns the stored first results"
        );
        let now = (
            count!(server, attempt::Entity),
            count!(server, change_log::Entity),
            count!(server, applied_mutation::Entity),
        );
        assert_eq!(now, counts, "a replay writes nothing");
    }
    let stored = server
        .get(&format!("/api/v1/cases/{}", case.id), &token)
        .await?
        .body
        .json();
    let pushed = stored["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .find(|a| a["id"] == attempt.id.to_string())
        .cloned()
        .expect("attempt stored");
    assert_eq!(pushed["notes"], "补充：已联系父亲");
    assert_eq!(pushed["participants"].as_array().map(Vec::len), Some(2));
    Ok(())
}

#[tokio::test]
async fn a_reused_mutation_id_with_another_body_is_409_and_applies_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let token = server.token("teacher").await?;
    let device = DeviceId::new();
    let case = teachers_case(&server);
    let first = mutation(
        device,
        0,
        Change::CreateAttempt {
            attempt: new_attempt(&case),
        },
    );
    assert_eq!(
        server
            .post("/api/v1/sync/push", &token, &push_body(vec![first.clone()]))
            .await?
            .status,
        StatusCode::OK
    );
    let attempts = count!(server, attempt::Entity);
    let mut forged = first.clone();
    if let Change::CreateAttempt { attempt } = &mut forged.change {
        attempt.notes = "changed after the fact".into();
    }
    let fresh = mutation(
        device,
        0,
        Change::CreateAttempt {
            attempt: new_attempt(&case),
        },
    );
    let r = server
        .post("/api/v1/sync/push", &token, &push_body(vec![fresh, forged]))
        .await?;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.is_client_problem());
    assert_eq!(r.body.json()["code"], "mutation_id_reused");
    assert_eq!(
        count!(server, attempt::Entity),
        attempts,
        "the whole batch was refused"
    );
    Ok(())
}

#[tokio::test]
async fn a_teacher_cannot_push_into_another_schools_case() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let token = server.token("teacher").await?;
    let school = server.home.users[0].1.org_unit_id;
    let foreign = server
        .home
        .cases
        .iter()
        .find(|c| c.school_id != school)
        .expect("foreign case");
    let device = DeviceId::new();
    let attempts = count!(server, attempt::Entity);
    let body = push_body(vec![
        mutation(
            device,
            0,
            Change::CreateAttempt {
                attempt: new_attempt(foreign),
            },
        ),
        mutation(
            device,
            1,
            Change::UpdateCase {
                case_id: foreign.id.into(),
                fields: vec![CaseField::Reason(ReasonCategory::Poverty)],
            },
        ),
    ]);
    let r = server.post("/api/v1/sync/push", &token, &body).await?;
    assert_eq!(r.status, StatusCode::OK);
    for result in r.body.json()["results"].as_array().expect("results") {
        assert_eq!(result["status"], "rejected");
        assert_eq!(
            result["code"], "not_found",
            "out of scope looks like missing"
        );
    }
    assert_eq!(count!(server, attempt::Entity), attempts);
    let stored = case::Entity::find_by_id(foreign.id)
        .one(&server.state.db.read)
        .await?
        .expect("case");
    assert_eq!(stored.reason, foreign.reason);
    Ok(())
}

#[tokio::test]
async fn status_moves_follow_the_case_machine_and_its_roles() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::Suspected).await?;
    let device = DeviceId::new();
    let move_to = |status| {
        mutation(
            device,
            case.version,
            Change::UpdateCase {
                case_id: case.id.into(),
                fields: vec![CaseField::Status(status)],
            },
        )
    };
    let results = |r: serde_json::Value| -> Vec<(String, String)> {
        r["results"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                let field = |name: &str| m[name].as_str().unwrap_or_default().to_owned();
                (field("status"), field("code"))
            })
            .collect()
    };
    // The bureau may not skip the school's steps, nor take them.
    let body = push_body(vec![
        move_to(CaseStatus::JointPersuasion),
        move_to(CaseStatus::SchoolPersuasion),
    ]);
    let r = server
        .post(
            "/api/v1/sync/push",
            &server.token("supervisor").await?,
            &body,
        )
        .await?
        .body
        .json();
    assert_eq!(
        results(r.clone()),
        [
            ("rejected", "illegal_transition"),
            ("rejected", "forbidden")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(
        r["results"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("suspected to joint_persuasion"),
        "{r}"
    );
    let teacher = server.token("teacher").await?;
    let body = push_body(vec![move_to(CaseStatus::SchoolPersuasion)]);
    let r = server
        .post("/api/v1/sync/push", &teacher, &body)
        .await?
        .body
        .json();
    assert_eq!(r["results"][0]["status"], "applied", "{r}");
    let stored = case::Entity::find_by_id(case.id)
        .one(&server.state.db.read)
        .await?
        .expect("case");
    assert_eq!(stored.status, "school_persuasion");
    Ok(())
}

#[tokio::test]
async fn a_clock_years_ahead_is_clamped_and_loses_to_a_later_real_edit() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let teacher = server.token("teacher").await?;
    let lead = server.token("school_lead").await?;
    let case = teachers_case(&server);
    let (fast, honest) = (DeviceId::new(), DeviceId::new());
    let mut ahead = mutation(
        fast,
        case.version,
        Change::UpdateCase {
            case_id: case.id.into(),
            fields: vec![CaseField::Reason(ReasonCategory::Religion)],
        },
    );
    ahead.hlc = stamp(fast, Utc::now() + Duration::days(4 * 365));
    let r = server
        .post("/api/v1/sync/push", &teacher, &push_body(vec![ahead]))
        .await?
        .body
        .json();
    assert_eq!(r["results"][0]["clock_clamped"], true);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // A concurrent edit (same base version) made later in real time wins.
    let later = mutation(
        honest,
        case.version,
        Change::UpdateCase {
            case_id: case.id.into(),
            fields: vec![CaseField::Reason(ReasonCategory::Illness)],
        },
    );
    let r = server
        .post("/api/v1/sync/push", &lead, &push_body(vec![later]))
        .await?
        .body
        .json();
    assert_eq!(r["results"][0]["status"], "applied");
    let stored = case::Entity::find_by_id(case.id)
        .one(&server.state.db.read)
        .await?
        .expect("case");
    assert_eq!(stored.reason.as_deref(), Some("illness"));
    let conflicts = conflict::Entity::find().all(&server.state.db.read).await?;
    assert_eq!(conflicts.len(), 1, "the lost value is kept");
    assert!(conflicts[0].losing_value.contains("religion"));
    Ok(())
}

#[tokio::test]
async fn a_move_stamped_years_back_counts_from_when_it_could_have_been_made() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let teacher = server.token("teacher").await?;
    let case = server.school_case_at(CaseStatus::Suspected).await?;
    let device = DeviceId::new();
    let mut old = mutation(
        device,
        case.version,
        Change::UpdateCase {
            case_id: case.id.into(),
            fields: vec![CaseField::Status(CaseStatus::SchoolPersuasion)],
        },
    );
    old.hlc = stamp(device, Utc::now() - Duration::days(6 * 365));
    let sent = Utc::now();
    let r = server
        .post("/api/v1/sync/push", &teacher, &push_body(vec![old]))
        .await?
        .body
        .json();
    assert_eq!(r["results"][0]["status"], "applied", "{r}");
    let moves = case_move::Entity::find()
        .filter(sea_orm::ColumnTrait::eq(
            &case_move::Column::CaseId,
            case.id,
        ))
        .all(&server.state.db.read)
        .await?;
    let latest = moves
        .iter()
        .find(|m| m.to_status == "school_persuasion")
        .map(|m| m.moved_at)
        .expect("the move kept");
    let earlier = moves
        .iter()
        .filter(|m| m.to_status != "school_persuasion")
        .map(|m| m.moved_at)
        .max();
    assert!(
        latest >= sent - server::cases::machine::MOVE_BACKDATE_LIMIT
            && earlier.is_none_or(|e| latest >= e),
        "a move stamped years back is dated {latest}"
    );
    Ok(())
}

#[tokio::test]
async fn one_mutation_makes_at_most_one_move_so_relapses_count_once_each() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let teacher = server.token("teacher").await?;
    let case = server.school_case_at(CaseStatus::Returned).await?;
    let statuses = [
        CaseStatus::Suspected,
        CaseStatus::SchoolPersuasion,
        CaseStatus::Returned,
        CaseStatus::Suspected,
    ];
    let many = mutation(
        DeviceId::new(),
        case.version,
        Change::UpdateCase {
            case_id: case.id.into(),
            fields: statuses.into_iter().map(CaseField::Status).collect(),
        },
    );
    let r = server
        .post("/api/v1/sync/push", &teacher, &push_body(vec![many]))
        .await?
        .body
        .json();
    assert_eq!(r["results"][0]["status"], "rejected", "{r}");
    assert_eq!(r["results"][0]["code"], "invalid", "{r}");
    let stored = case::Entity::find_by_id(case.id)
        .one(&server.state.db.read)
        .await?
        .expect("case");
    assert_eq!(stored.relapse_count, case.relapse_count);
    Ok(())
}

#[tokio::test]
async fn an_old_protocol_version_is_told_to_update() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let token = server.token("teacher").await?;
    let r = server
        .post(
            "/api/v1/sync/pull",
            &token,
            &serde_json::json!({"protocol_version": 0, "cursor": null, "limit": null}),
        )
        .await?;
    assert_eq!(r.status, StatusCode::UPGRADE_REQUIRED);
    assert_eq!(r.body.json()["code"], "client_too_old");
    let r = server
        .post(
            "/api/v1/sync/pull",
            &token,
            &serde_json::json!({"protocol_version": PROTOCOL_VERSION, "cursor": "banana"}),
        )
        .await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.is_client_problem());
    Ok(())
}

/// Every record id the supervisor pulls after `cursor`, and the final cursor.
async fn pull_all(
    server: &TestServer,
    token: &str,
    cursor: Option<String>,
) -> anyhow::Result<(Vec<String>, String)> {
    let mut cursor = cursor;
    let mut ids = Vec::new();
    loop {
        let request = PullRequest {
            protocol_version: PROTOCOL_VERSION,
            cursor: cursor.clone(),
            limit: Some(50),
        };
        let r = server.post("/api/v1/sync/pull", token, &request).await?;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body.text());
        let page: PullResponse = serde_json::from_slice(&r.body.0)?;
        for record in &page.records {
            let v: Value = serde_json::to_value(record)?;
            let id = v
                .get("case")
                .or(v.get("attempt"))
                .or(v.get("conflict"))
                .map(|x| x["id"].clone())
                .unwrap_or(v["id"].clone());
            ids.push(id.as_str().unwrap_or_default().to_owned());
        }
        cursor = Some(page.cursor.clone());
        if !page.more {
            return Ok((ids, page.cursor));
        }
    }
}

/// Waits until a session of this PostgreSQL database waits on a lock (20 s at most).
async fn blocked_on_a_lock(db: &sea_orm::DatabaseConnection) -> anyhow::Result<()> {
    use sea_orm::ConnectionTrait as _;
    let waiting = sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let row = db.query_one_raw(waiting.clone()).await?;
        if row
            .map(|r| r.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0)
            > 0
        {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no session ever waited on a lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_cursor_never_skips_a_change_committed_late() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let token = server.token("supervisor").await?;
    let (_, start) = pull_all(&server, &token, None).await?;
    let (x, y) = (&server.home.cases[0], &server.home.cases[1]);
    let db = server.state.db.write.clone();

    // T1 appends first and stays open; T2 starts, appends and wants to commit meanwhile.
    let t1 = db.begin().await?;
    let mut first = ChangeSet::default();
    first.upsert(EntityKind::Case, x.id, RecordScope::from(x), false);
    let _appended = first.append(&t1).await?;
    let y2 = y.clone();
    let db2 = db.clone();
    let t2 = tokio::spawn(async move {
        let t2 = db2.begin().await?;
        let mut second = ChangeSet::default();
        second.upsert(EntityKind::Case, y2.id, RecordScope::from(&y2), false);
        let _appended = second.append(&t2).await?;
        t2.commit().await
    });
    if server.state.db.backend() == sea_orm::DbBackend::Postgres {
        // T2 has appended as far as the counter row T1 holds: PostgreSQL shows it waiting.
        blocked_on_a_lock(&db).await?;
    } // On SQLite T2 cannot even begin: the one write connection is T1's until it ends.
    let (seen, middle) = pull_all(&server, &token, Some(start.clone())).await?;
    assert!(
        seen.is_empty(),
        "nothing is visible before a commit: {seen:?}"
    );
    t1.commit().await?;
    t2.await??;
    let (seen, _) = pull_all(&server, &token, Some(middle)).await?;
    assert_eq!(
        seen,
        vec![x.id.to_string(), y.id.to_string()],
        "both, in commit order"
    );

    if server.state.db.backend() == sea_orm::DbBackend::Postgres {
        // The other order, which a plain sequence gets wrong: T1 opens and writes first, T2
        // commits before it; a reader's cursor moves past T2; T1 commits last.
        let (_, before) = pull_all(&server, &token, None).await?;
        let t1 = db.begin().await?;
        let t2 = db.begin().await?;
        let mut second = ChangeSet::default();
        second.upsert(EntityKind::Case, y.id, RecordScope::from(y), false);
        let _appended = second.append(&t2).await?;
        t2.commit().await?;
        let (seen, after_t2) = pull_all(&server, &token, Some(before)).await?;
        assert_eq!(seen, vec![y.id.to_string()]);
        let mut first = ChangeSet::default();
        first.upsert(EntityKind::Case, x.id, RecordScope::from(x), false);
        let _appended = first.append(&t1).await?;
        t1.commit().await?;
        let (seen, _) = pull_all(&server, &token, Some(after_t2)).await?;
        assert_eq!(
            seen,
            vec![x.id.to_string()],
            "the late commit is not skipped"
        );
    }
    Ok(())
}

/// Moves the student of `case` to `to` (school, village of residence) as the holder of `token`.
async fn transfer(
    server: &TestServer,
    token: &str,
    case: &case::Model,
    (school, village): (&org_unit::Model, &org_unit::Model),
) -> anyhow::Result<StatusCode> {
    let body = TransferRequest {
        school_id: school.id.into(),
        village_id: village.id.into(),
    };
    let r = server
        .post(
            &format!("/api/v1/students/{}/transfer", case.student_id),
            token,
            &body,
        )
        .await?;
    Ok(r.status)
}

/// The records the holder of `token` is told to drop after `cursor`, over every page.
async fn removed_since(
    server: &TestServer,
    token: &str,
    cursor: String,
) -> anyhow::Result<Vec<(EntityKind, uuid::Uuid)>> {
    let mut cursor = Some(cursor);
    let mut removed = Vec::new();
    loop {
        let request = PullRequest {
            protocol_version: PROTOCOL_VERSION,
            cursor,
            limit: None,
        };
        let r = server.post("/api/v1/sync/pull", token, &request).await?;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body.text());
        let page: PullResponse = serde_json::from_slice(&r.body.0)?;
        removed.extend(page.records.iter().filter_map(|r| match r {
            sync_protocol::sync::PulledRecord::Removed { entity_kind, id } => {
                Some((*entity_kind, *id))
            }
            _ => None,
        }));
        if !page.more {
            return Ok(removed);
        }
        cursor = Some(page.cursor);
    }
}

#[tokio::test]
async fn r07_a_transferred_students_records_leave_the_old_scope_at_the_next_pull()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let teacher = server.token("teacher").await?;
    let case = teachers_case(&server);
    let (_, cursor) = pull_all(&server, &teacher, None).await?;

    // A teacher at the new school, who has never seen the case.
    let new_school = &server.home.townships[1].schools[0];
    let new_village = &server.home.townships[1].villages[0];
    server::records::user(
        &server.state.db.write,
        "new-teacher",
        "新老师",
        sync_protocol::org::Role::Teacher,
        new_school,
        tests::PASSWORD,
    )
    .await?;
    let newcomer = server.token("new-teacher").await?;
    let (seen, _) = pull_all(&server, &newcomer, None).await?;
    assert!(!seen.contains(&case.id.to_string()));

    let supervisor = server.token("supervisor").await?;
    let to = (new_school, new_village);
    assert_eq!(
        transfer(&server, &supervisor, &case, to).await?,
        StatusCode::NO_CONTENT
    );
    // Teachers may not move students.
    assert_eq!(
        transfer(&server, &teacher, &case, to).await?,
        StatusCode::FORBIDDEN
    );

    // The old school's phone is told to drop the case and each of its attempts.
    let removed = removed_since(&server, &teacher, cursor).await?;
    assert!(
        removed.contains(&(EntityKind::Case, case.id)),
        "{removed:?}"
    );
    let attempts = attempt::Entity::find()
        .filter(sea_orm::ColumnTrait::eq(&attempt::Column::CaseId, case.id))
        .all(&server.state.db.read)
        .await?;
    assert!(!attempts.is_empty());
    for a in &attempts {
        assert!(removed.contains(&(EntityKind::Attempt, a.id)));
    }
    assert_eq!(
        server
            .get(&format!("/api/v1/cases/{}", case.id), &teacher)
            .await?
            .status,
        StatusCode::NOT_FOUND
    );

    // The new school's phone gets them.
    let (seen, _) = pull_all(&server, &newcomer, None).await?;
    assert!(seen.contains(&case.id.to_string()));
    Ok(())
}

#[tokio::test]
async fn r07_a_phone_offline_through_two_transfers_is_still_told_to_forget_the_student()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = teachers_case(&server);
    let home = &server.home;
    let (first, second, third) = (&home.townships[0], &home.townships[1], &home.townships[2]);
    let new_school = &second.schools[0];
    server::records::user(
        &server.state.db.write,
        "new-teacher",
        "新老师",
        sync_protocol::org::Role::Teacher,
        new_school,
        tests::PASSWORD,
    )
    .await?;
    let supervisor = server.token("supervisor").await?;
    let newcomer = server.token("new-teacher").await?;

    // S1 → S2: the new school's phone pulls the case, then goes offline.
    let to_second = (new_school, &second.villages[0]);
    assert_eq!(
        transfer(&server, &supervisor, &case, to_second).await?,
        StatusCode::NO_CONTENT
    );
    let (seen, offline_at) = pull_all(&server, &newcomer, None).await?;
    assert!(seen.contains(&case.id.to_string()));

    // S2 → S1, then S1 → a school of a third township, while S2's phone is away.
    let back = (&first.schools[0], &first.villages[0]);
    let away = (&third.schools[0], &third.villages[0]);
    assert_eq!(
        transfer(&server, &supervisor, &case, back).await?,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        transfer(&server, &supervisor, &case, away).await?,
        StatusCode::NO_CONTENT
    );

    let removed = removed_since(&server, &newcomer, offline_at).await?;
    assert!(
        removed.contains(&(EntityKind::Case, case.id)),
        "S2's phone keeps a case it may no longer see: {removed:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_poison_date_or_place_is_refused_at_the_edge_and_the_district_keeps_syncing()
-> anyhow::Result<()> {
    use sync_protocol::cases::GeoPoint;
    use sync_protocol::sync::{MutationOutcome, RejectCode};
    let server = TestServer::start().await?;
    let case = teachers_case(&server);
    let device = DeviceId::new();
    let at = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(anyhow::Error::from)
    };
    let mut last_moment = new_attempt(&case);
    // Sent as `+262142-12-31T23:59:59.999999999Z`.
    last_moment.occurred_at = chrono::DateTime::<Utc>::MAX_UTC;
    let mut poisons = vec![last_moment];
    for when in [
        "0001-01-01T00:00:00Z",
        "9999-12-31T00:00:00Z",
        "1999-12-31T23:59:59Z",
    ] {
        let mut attempt = new_attempt(&case);
        attempt.occurred_at = at(when)?;
        poisons.push(attempt);
    }
    let mut far_off = new_attempt(&case);
    far_off.location = Some(GeoPoint {
        lat: 1e308,
        lon: 0.0,
        accuracy_m: None,
    });
    poisons.push(far_off);
    let body = push_body(
        poisons
            .into_iter()
            .map(|attempt| mutation(device, 0, Change::CreateAttempt { attempt }))
            .collect(),
    );
    let mut client = server.client("teacher").await?;
    let results = client.push(&body).await?.results;
    for result in &results {
        match &result.outcome {
            MutationOutcome::Rejected { code, reason } => {
                assert_eq!(*code, RejectCode::Invalid, "{reason}");
                assert!(
                    reason.contains("occurred_at") || reason.contains("location"),
                    "{reason}"
                );
            }
            other => anyhow::bail!("applied: {other:?}"),
        }
    }

    // Everyone in the district still reads the case and syncs.
    let token = server.token("supervisor").await?;
    let r = server
        .get(&format!("/api/v1/cases/{}", case.id), &token)
        .await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body.text());
    let mut phone = server.phone("teacher").await?;
    phone.sync(&mut mobile_shared::NoProgress).await?;

    // A value stored before the edge refused it (or written by hand) stops no view either.
    use sea_orm::{ColumnTrait as _, sea_query::Expr};
    let poisoned = attempt::Entity::update_many()
        .col_expr(
            attempt::Column::OccurredAt,
            Expr::value(chrono::DateTime::<Utc>::MAX_UTC),
        )
        .filter(attempt::Column::CaseId.eq(case.id))
        .exec(&server.state.db.write)
        .await?;
    assert!(
        poisoned.rows_affected > 0,
        "the case has no attempt to poison"
    );
    let r = server
        .get(&format!("/api/v1/cases/{}", case.id), &token)
        .await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body.text());
    let r = server.get("/api/v1/cases", &token).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body.text());
    phone.sync(&mut mobile_shared::NoProgress).await?;

    // A first day of absence before 2000 is refused too.
    let lead = server.token("school_lead").await?;
    let r = server
        .post(
            "/api/v1/cases",
            &lead,
            &OpenCase {
                student_id: case.student_id.into(),
                found_by: None,
                first_absent_on: chrono::NaiveDate::from_ymd_opt(1900, 1, 1),
            },
        )
        .await?;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body.text());
    assert!(r.is_client_problem());
    assert!(
        r.body.text().contains("first_absent_on"),
        "{}",
        r.body.text()
    );
    Ok(())
}
