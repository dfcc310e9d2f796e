//! An absence reported from a phone (R1), offline: the roll held on the phone, the case opened
//! at once and recorded on, and, when two devices report the same absence before either synced,
//! one ledger row holding what both recorded.

use mobile_shared::{AttemptDraft, ClientError, NoProgress, Phone, PhoneError};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use server::db::entity::{attempt, audit_entry, case};
use sync_protocol::cases::{AttemptKind, AttemptOutcome, CaseStatus, FoundBy};
use sync_protocol::org::Role;
use sync_protocol::sync::{Change, MutationOutcome, NewCase, RejectCode};
use sync_protocol::{CaseId, StudentId};
use tests::TestServer;

/// A phone of `user` holding the roll of its school.
async fn phone_with_roll(server: &TestServer, user: &str) -> anyhow::Result<Phone> {
    let mut phone = server.phone(user).await?;
    phone.sync(&mut NoProgress).await?;
    phone.fetch_roll().await?;
    Ok(phone)
}

/// Records a home visit on `case` on `phone`.
fn visit(phone: &Phone, case: CaseId, notes: &str) -> anyhow::Result<sync_protocol::AttemptId> {
    let draft = AttemptDraft {
        notes: notes.into(),
        ..AttemptDraft::new(case, AttemptKind::HomeVisit, AttemptOutcome::Undecided)
    };
    Ok(phone.record_attempt(draft)?)
}

/// The rows of `student` that have not ended, as the server holds them.
async fn open_rows(server: &TestServer, student: uuid::Uuid) -> anyhow::Result<Vec<case::Model>> {
    Ok(case::Entity::find()
        .filter(case::Column::StudentId.eq(student))
        .all(&server.state.db.read)
        .await?
        .into_iter()
        .filter(|c| c.status.parse::<CaseStatus>().is_ok_and(|s| !s.is_ended()))
        .collect())
}

/// Pushes a report of `student`'s absence as the holder of `token`, answering its outcome.
async fn push_report(
    server: &TestServer,
    token: &str,
    student: StudentId,
) -> anyhow::Result<MutationOutcome> {
    let case = NewCase {
        id: CaseId::new(),
        student_id: student,
        found_by: FoundBy::DailyAttendance,
        first_absent_on: sync_protocol::calendar::china_date(chrono::Utc::now()),
    };
    server.push_one(token, Change::OpenCase { case }).await
}

#[tokio::test]
async fn r01_a_phone_reports_an_absence_offline_and_records_on_it() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let pupil = server.pupil_without_case().await?;
    let phone = phone_with_roll(&server, "teacher").await?;
    assert!(phone.roll()?.iter().any(|p| p.id.0 == pupil.id));

    // Offline from here: the case shows at once, and the attempt is recorded on it.
    let id = phone.report_absence(pupil.id.into(), FoundBy::DailyAttendance, None)?;
    let held = phone.case(id)?.ok_or_else(|| anyhow::anyhow!("not held"))?;
    assert_eq!(
        (held.case.status, held.case.student_name.as_str()),
        (CaseStatus::Absent, pupil.name.as_str())
    );
    let attempt = visit(&phone, id, "家访：孩子在家，家长说明天送回")?;
    let again = phone.report_absence(pupil.id.into(), FoundBy::DailyAttendance, None);
    assert!(matches!(again, Err(PhoneError::CaseOpen(open)) if open == id));

    let mut phone = phone;
    phone.sync(&mut NoProgress).await?;
    let rows = open_rows(&server, pupil.id).await?;
    assert_eq!(rows.len(), 1);
    let teacher = server
        .home
        .users
        .iter()
        .find(|(role, _)| *role == Role::Teacher)
        .map(|(_, u)| u.id);
    assert_eq!((rows[0].id, rows[0].status.as_str()), (id.0, "absent"));
    assert_eq!(rows[0].responsible_user_id, teacher);
    let stored = attempt::Entity::find_by_id(attempt.0)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("attempt not stored"))?;
    assert_eq!(stored.case_id, id.0);
    let audited = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("case.open"))
        .filter(audit_entry::Column::EntityId.eq(id.0))
        .all(&server.state.db.read)
        .await?;
    assert_eq!(audited.len(), 1);
    // The server's copy replaced the phone's: what is due from day 1 is there.
    let held = phone.case(id)?.ok_or_else(|| anyhow::anyhow!("not held"))?;
    assert!(
        held.case.version >= 1 && !held.case.due.is_empty(),
        "{held:?}"
    );
    Ok(())
}

#[tokio::test]
async fn r01_the_roll_and_a_report_stay_inside_the_reporters_school() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let pupil = server.pupil_without_case().await?;
    // Another district's teacher neither lists the pupil nor reports them.
    let outsider = phone_with_roll(&server, "b-teacher").await?;
    assert!(!outsider.roll()?.iter().any(|p| p.id.0 == pupil.id));
    let refused = outsider.report_absence(pupil.id.into(), FoundBy::DailyAttendance, None);
    assert!(matches!(
        refused,
        Err(PhoneError::Refused {
            code: RejectCode::NotFound,
            ..
        })
    ));
    let token = server.token("b-teacher").await?;
    let pushed = push_report(&server, &token, pupil.id.into()).await?;
    assert!(
        matches!(
            pushed,
            MutationOutcome::Rejected {
                code: RejectCode::NotFound,
                ..
            }
        ),
        "{pushed:?}"
    );
    // A village member reports nothing and lists no roll.
    let mut village = server.phone("village_member").await?;
    let listed = village.fetch_roll().await;
    assert!(
        matches!(&listed, Err(PhoneError::Api(ClientError::Api { status, .. })) if status.as_u16() == 403),
        "{listed:?}"
    );
    let token = server.token("village_member").await?;
    let pushed = push_report(&server, &token, pupil.id.into()).await?;
    assert!(
        matches!(
            pushed,
            MutationOutcome::Rejected {
                code: RejectCode::Forbidden,
                ..
            }
        ),
        "{pushed:?}"
    );
    assert!(open_rows(&server, pupil.id).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn r01_two_phones_report_the_same_absence_offline_and_nothing_is_lost() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let pupil = server.pupil_without_case().await?;
    let mut teacher = phone_with_roll(&server, "teacher").await?;
    let mut lead = phone_with_roll(&server, "school_lead").await?;
    let first = teacher.report_absence(pupil.id.into(), FoundBy::DailyAttendance, None)?;
    let second = lead.report_absence(pupil.id.into(), FoundBy::Report, None)?;
    let by_teacher = visit(&teacher, first, "班主任家访")?;
    let by_lead = visit(&lead, second, "校长电话联系家长")?;

    teacher.sync(&mut NoProgress).await?;
    lead.sync(&mut NoProgress).await?;
    // A device that still names the lead's id after the join (it had not pulled yet) is heard.
    let token = server.token("school_lead").await?;
    let late = tests::sample_attempt(second, "校长再次家访");
    let late_id = late.id;
    let pushed = server
        .push_one(&token, Change::CreateAttempt { attempt: late })
        .await?;
    assert!(
        matches!(pushed, MutationOutcome::Applied { .. }),
        "{pushed:?}"
    );
    teacher.sync(&mut NoProgress).await?;

    let rows = open_rows(&server, pupil.id).await?;
    assert_eq!(rows.iter().map(|c| c.id).collect::<Vec<_>>(), [first.0]);
    let on_row: Vec<uuid::Uuid> = attempt::Entity::find()
        .filter(attempt::Column::CaseId.eq(first.0))
        .all(&server.state.db.read)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    for a in [by_teacher, by_lead, late_id] {
        assert!(on_row.contains(&a.0), "{a} missing from {on_row:?}");
    }
    // Both phones hold the one row with everything on it, and the lead's own id is gone.
    for phone in [&teacher, &lead] {
        let ids: Vec<CaseId> = phone.cases()?.iter().map(|c| c.id).collect();
        assert!(ids.contains(&first) && !ids.contains(&second), "{ids:?}");
        let held = phone
            .case(first)?
            .ok_or_else(|| anyhow::anyhow!("not held"))?;
        let held: Vec<_> = held.attempts.iter().map(|a| a.id).collect();
        assert!(
            held.contains(&by_teacher) && held.contains(&by_lead),
            "{held:?}"
        );
    }
    Ok(())
}
