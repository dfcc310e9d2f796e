//! The case machine with its roles and requirements, through the real server: moves made from
//! phones (sync) and from the web (`PATCH /api/v1/cases/{id}`) go through the same check, each
//! move is kept in the case's history and the audit log, and closing waits for reviewed evidence.

use mobile_shared::{AttemptDraft, DocumentDraft, NoProgress, Phone};
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _,
};
use server::db::entity::{audit_entry, case_move, document};
use sync_protocol::cases::{
    AttemptKind, AttemptOutcome, CaseStatus, CaseSummary, ClosureReason, FoundBy, OpenCase,
    ReviewRequest,
};
use sync_protocol::evidence::{DocumentType, ReviewTarget, Verdict};
use sync_protocol::org::Role;
use sync_protocol::sync::CaseField;
use sync_protocol::{CaseId, UserId};
use tests::{Raw, TestServer, approval, held_case};

/// A phone of `user`, synced.
async fn phone_with(server: &TestServer, user: &str) -> anyhow::Result<Phone> {
    let mut phone = server.phone(user).await?;
    phone.sync(&mut NoProgress).await?;
    Ok(phone)
}

fn detail(r: &Raw) -> String {
    r.body.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn r05_r09_r11_moves_from_phones_and_the_web_meet_the_same_rules() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::Suspected).await?;
    let id = CaseId::from(case.id);
    let lead = server.token("school_lead").await?;
    let township = server.token("township_officer").await?;

    // The teacher starts school persuasion from the phone.
    let mut teacher = phone_with(&server, "teacher").await?;
    teacher.edit_case(id, vec![CaseField::Status(CaseStatus::SchoolPersuasion)])?;
    let report = teacher.sync(&mut NoProgress).await?;
    assert_eq!((report.applied, report.rejected), (1, 0));

    // R9: the report waits for three school attempts of this episode.
    let r = server
        .patch_case(&lead, id, &[CaseField::Status(CaseStatus::Reported)])
        .await?;
    assert_eq!(r.status, 422, "{}", r.body.text());
    assert_eq!(r.body.json()["code"], "requirements_unmet");
    assert!(
        detail(&r).contains("3 school persuasion attempts"),
        "{}",
        detail(&r)
    );

    // A teacher may not sign the report, from the phone either.
    teacher.edit_case(id, vec![CaseField::Status(CaseStatus::Reported)])?;
    let report = teacher.sync(&mut NoProgress).await?;
    assert_eq!(report.rejected, 1);
    let refused = teacher.rejections()?;
    assert!(
        refused
            .iter()
            .any(|r| r.reason.contains("only school_lead")),
        "{refused:?}"
    );

    for kind in [
        AttemptKind::PhoneCall,
        AttemptKind::HomeVisit,
        AttemptKind::CollectiveVisit,
    ] {
        teacher.record_attempt(AttemptDraft::new(id, kind, AttemptOutcome::Refused))?;
    }
    teacher.sync(&mut NoProgress).await?;
    let r = server
        .patch_case(&lead, id, &[CaseField::Status(CaseStatus::Reported)])
        .await?;
    assert_eq!(r.status, 200, "{}", r.body.text());
    assert_eq!(r.body.json()["status"], "reported");

    // R11: joint persuasion starts once the notice is served, which the township records.
    let r = server
        .patch_case(
            &township,
            id,
            &[CaseField::Status(CaseStatus::JointPersuasion)],
        )
        .await?;
    assert_eq!(r.status, 422);
    assert!(detail(&r).contains("`return_notice`"), "{}", detail(&r));
    let mut officer = phone_with(&server, "township_officer").await?;
    officer.record_document(DocumentDraft::new(
        id,
        DocumentType::ReturnNotice,
        "限期返校通知书",
    ))?;
    officer.edit_case(id, vec![CaseField::Status(CaseStatus::JointPersuasion)])?;
    let report = officer.sync(&mut NoProgress).await?;
    assert_eq!((report.applied, report.rejected), (2, 0));

    // An illegal move is a 409 with its own code.
    let r = server
        .patch_case(&lead, id, &[CaseField::Status(CaseStatus::Suspected)])
        .await?;
    assert_eq!(
        (r.status, r.body.json()["code"].clone()),
        (reqwest::StatusCode::CONFLICT, "illegal_transition".into())
    );

    // Every move is in the history, with who made it, and in the audit log.
    let moves: Vec<(String, String)> = case_move::Entity::find()
        .filter(case_move::Column::CaseId.eq(case.id))
        .order_by_asc(case_move::Column::RecordedAt)
        .all(&server.state.db.read)
        .await?
        .into_iter()
        .map(|m| (m.from_status, m.to_status))
        .collect();
    let expected = [
        ("suspected", "school_persuasion"),
        ("school_persuasion", "reported"),
        ("reported", "joint_persuasion"),
    ];
    assert_eq!(
        moves,
        expected
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect::<Vec<_>>()
    );
    let audited = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("case.move"))
        .filter(audit_entry::Column::EntityId.eq(case.id))
        .all(&server.state.db.read)
        .await?;
    assert_eq!(audited.len(), 3);
    Ok(())
}

#[tokio::test]
async fn r18_closing_waits_for_the_certificate_and_its_review() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::JointPersuasion).await?;
    let id = CaseId::from(case.id);
    let supervisor = server.token("supervisor").await?;
    let township = server.token("township_officer").await?;
    let teacher = server.token("teacher").await?;
    let approve_closure = approval(ReviewTarget::Closure, case.id);

    // Without a closure request there is nothing to approve.
    let r = server
        .review_case(&supervisor, id, &approve_closure)
        .await?;
    assert_eq!(r.status, 422, "{}", r.body.text());
    assert!(detail(&r).contains("closure reason"), "{}", detail(&r));

    // A teacher neither asks for closing nor reviews.
    let ask = [CaseField::ClosureReason(ClosureReason::MissingOrDead)];
    assert_eq!(server.patch_case(&teacher, id, &ask).await?.status, 403);
    assert_eq!(
        server
            .review_case(&teacher, id, &approve_closure)
            .await?
            .status,
        403
    );
    let r = server.patch_case(&township, id, &ask).await?;
    assert_eq!(r.body.json()["closure_reason"], "missing_or_dead");

    let r = server
        .review_case(&supervisor, id, &approve_closure)
        .await?;
    assert_eq!(r.status, 422);
    assert!(
        detail(&r).contains("one of the documents `police_confirmation`"),
        "{}",
        detail(&r)
    );

    let mut officer = phone_with(&server, "township_officer").await?;
    officer.record_document(DocumentDraft::new(
        id,
        DocumentType::PoliceConfirmation,
        "失联人员情况说明",
    ))?;
    officer.sync(&mut NoProgress).await?;
    let r = server
        .review_case(&supervisor, id, &approve_closure)
        .await?;
    assert_eq!(r.status, 422);
    assert!(
        detail(&r).contains("approving review of the `police_confirmation`"),
        "{}",
        detail(&r)
    );
    let certificate = document::Entity::find()
        .filter(document::Column::CaseId.eq(case.id))
        .filter(document::Column::DocType.eq("police_confirmation"))
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the certificate"))?;

    // A review that does not approve says why.
    let unexplained = ReviewRequest {
        verdict: Verdict::Rejected,
        ..approval(ReviewTarget::Document, certificate.id)
    };
    let r = server.review_case(&supervisor, id, &unexplained).await?;
    assert_eq!(
        (r.status, r.body.json()["code"].clone()),
        (reqwest::StatusCode::BAD_REQUEST, "invalid_body".into())
    );
    let approve_document = approval(ReviewTarget::Document, certificate.id);
    assert_eq!(
        server
            .review_case(&supervisor, id, &approve_document)
            .await?
            .status,
        201
    );
    let r = server
        .review_case(&supervisor, id, &approve_closure)
        .await?;
    assert_eq!(r.status, 201, "{}", r.body.text());
    assert_eq!(r.body.json()["status"], "closed");

    // Every review is in the audit log, and the phone learns the row is closed.
    let reviews = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("case.review"))
        .filter(audit_entry::Column::EntityId.eq(case.id))
        .count(&server.state.db.read)
        .await?;
    assert_eq!(reviews, 2);
    officer.sync(&mut NoProgress).await?;
    assert_eq!(held_case(&officer, id)?.status, CaseStatus::Closed);
    Ok(())
}

#[tokio::test]
async fn r19_a_duplicate_registration_is_written_off_from_suspected_with_its_evidence()
-> anyhow::Result<()> {
    // Seed 001 §一: "已经登记为失学辍学（疑似）的，完善相关证明材料后，可以作为非真实性数据进行核销".
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::Suspected).await?;
    let id = CaseId::from(case.id);
    let supervisor = server.token("supervisor").await?;
    let lead = server.token("school_lead").await?;
    let approve_closure = approval(ReviewTarget::Closure, case.id);

    // A reason that is not R19 does not close a suspected case: it waits for joint persuasion.
    let ask = [CaseField::ClosureReason(ClosureReason::RefusalAfterRuling)];
    assert_eq!(server.patch_case(&lead, id, &ask).await?.status, 200);
    let r = server
        .review_case(&supervisor, id, &approve_closure)
        .await?;
    assert_eq!(r.status, 422, "{}", r.body.text());
    assert!(detail(&r).contains("closure reason"), "{}", detail(&r));

    let ask = [CaseField::ClosureReason(
        ClosureReason::DuplicateRegistration,
    )];
    assert_eq!(server.patch_case(&lead, id, &ask).await?.status, 200);
    let r = server
        .review_case(&supervisor, id, &approve_closure)
        .await?;
    assert_eq!(r.status, 422);
    assert!(
        detail(&r).contains("`deregistration_record`"),
        "{}",
        detail(&r)
    );

    let mut teacher = phone_with(&server, "teacher").await?;
    teacher.record_document(DocumentDraft::new(
        id,
        DocumentType::DeregistrationRecord,
        "重复户籍注销证明",
    ))?;
    teacher.sync(&mut NoProgress).await?;
    let record = document::Entity::find()
        .filter(document::Column::CaseId.eq(case.id))
        .filter(document::Column::DocType.eq("deregistration_record"))
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the deregistration record"))?;
    let approve_document = approval(ReviewTarget::Document, record.id);
    let r = server
        .review_case(&supervisor, id, &approve_document)
        .await?;
    assert_eq!(r.status, 201, "{}", r.body.text());
    let r = server
        .review_case(&supervisor, id, &approve_closure)
        .await?;
    assert_eq!(r.status, 201, "{}", r.body.text());
    assert_eq!(r.body.json()["status"], "closed");
    Ok(())
}

#[tokio::test]
async fn r14_a_return_is_followed_up_under_a_placement_plan_and_a_relapse_counts()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::SchoolPersuasion).await?;
    let id = CaseId::from(case.id);
    let mut phone = phone_with(&server, "teacher").await?;
    phone.edit_case(id, vec![CaseField::Status(CaseStatus::Returned)])?;
    phone.edit_case(id, vec![CaseField::Status(CaseStatus::FollowUp)])?;
    let report = phone.sync(&mut NoProgress).await?;
    assert_eq!(
        (report.applied, report.rejected),
        (1, 1),
        "a return needs only the child; the follow-up needs the plan"
    );
    assert!(
        phone.rejections()?[0].reason.contains("`placement_plan`"),
        "{:?}",
        phone.rejections()?
    );
    phone.record_document(DocumentDraft::new(
        id,
        DocumentType::PlacementPlan,
        "随班就读安置方案",
    ))?;
    phone.edit_case(id, vec![CaseField::Status(CaseStatus::FollowUp)])?;
    phone.edit_case(id, vec![CaseField::Status(CaseStatus::Suspected)])?;
    let report = phone.sync(&mut NoProgress).await?;
    assert_eq!((report.applied, report.rejected), (3, 0));
    let r = server
        .get(
            &format!("/api/v1/cases/{id}"),
            &server.token("teacher").await?,
        )
        .await?
        .body
        .json();
    assert_eq!(
        (r["status"].as_str(), r["relapse_count"].as_i64()),
        (Some("suspected"), Some(case.relapse_count as i64 + 1)),
        "the relapse reopens the same row and counts"
    );
    Ok(())
}

#[tokio::test]
async fn r01_r02_r03_r04_r05_a_reported_absence_brings_the_first_days_due() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let pupil = server.pupil_without_case().await?;
    let teacher = server.token("teacher").await?;
    let body = OpenCase {
        student_id: pupil.id.into(),
        found_by: None,
        first_absent_on: None,
    };
    let r = server.post("/api/v1/cases", &teacher, &body).await?;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body.text());
    let opened: CaseSummary = r.body.parse()?;
    assert_eq!(opened.status, CaseStatus::Absent);
    assert_eq!(opened.found_by, FoundBy::DailyAttendance);
    let rules: Vec<&str> = opened.due.iter().map(|i| i.rule.as_str()).collect();
    assert_eq!(
        rules,
        ["R2", "R3", "R4", "R4", "R4", "R5", "R5"],
        "{opened:?}"
    );

    // One open row per student; another school's teacher does not see the student.
    let again = server.post("/api/v1/cases", &teacher, &body).await?;
    assert_eq!(again.status, reqwest::StatusCode::CONFLICT);
    assert_eq!(again.body.json()["code"], "case_already_open");
    let outsider = server
        .post("/api/v1/cases", &server.token("b-teacher").await?, &body)
        .await?;
    assert_eq!(outsider.status, reqwest::StatusCode::NOT_FOUND);
    let village = server
        .post(
            "/api/v1/cases",
            &server.token("village_member").await?,
            &body,
        )
        .await?;
    assert_eq!(village.status, reqwest::StatusCode::FORBIDDEN);
    let future = OpenCase {
        first_absent_on: chrono::NaiveDate::from_ymd_opt(2999, 1, 1),
        ..body.clone()
    };
    assert!(
        server
            .post("/api/v1/cases", &teacher, &future)
            .await?
            .is_client_problem()
    );

    // The teacher's phone holds it at the next sync.
    let mut phone = server.phone("teacher").await?;
    phone.sync(&mut NoProgress).await?;
    assert!(phone.cases()?.iter().any(|c| c.id == opened.id));
    Ok(())
}

#[tokio::test]
async fn r01_r04_an_absence_that_resolves_ends_and_never_becomes_a_ledger_row() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let pupil = server.pupil_without_case().await?;
    let teacher = server.token("teacher").await?;
    let opened = server.open_absence(&teacher, pupil.id).await?;

    // The township does not end it; the teacher does, with nothing left due.
    let end = [CaseField::Status(CaseStatus::AbsenceEnded)];
    let township = server.token("township_officer").await?;
    let r = server.patch_case(&township, opened.id, &end).await?;
    assert_eq!(
        r.status,
        reqwest::StatusCode::FORBIDDEN,
        "{}",
        r.body.text()
    );
    let elsewhere = server.token("b-teacher").await?;
    let r = server.patch_case(&elsewhere, opened.id, &end).await?;
    assert_eq!(
        (r.status, detail(&r)),
        (reqwest::StatusCode::NOT_FOUND, "no such case".to_owned())
    );
    let r = server.patch_case(&teacher, opened.id, &end).await?;
    assert_eq!(r.status, 200, "{}", r.body.text());
    let ended: CaseSummary = r.body.parse()?;
    assert_eq!(ended.status, CaseStatus::AbsenceEnded);
    assert!(ended.due.is_empty(), "{:?}", ended.due);
    let due = server.get("/api/v1/cases/due", &teacher).await?.body.json();
    assert!(
        !due.to_string().contains(&opened.id.to_string()),
        "an ended absence is on no due list"
    );

    // Who ended it is on the record.
    let teacher_id = server.home.users[0].1.id;
    let moved: Vec<(String, uuid::Uuid)> = case_move::Entity::find()
        .filter(case_move::Column::CaseId.eq(opened.id.0))
        .all(&server.state.db.read)
        .await?
        .into_iter()
        .map(|m| (m.to_status, m.moved_by))
        .collect();
    assert_eq!(moved, [("absence_ended".to_owned(), teacher_id)]);

    // The next absence of the same child is a new row, and this one ends excused.
    let again = server.open_absence(&teacher, pupil.id).await?;
    assert_ne!(again.id, opened.id);
    let lead = server.token("school_lead").await?;
    let excused = [CaseField::Status(CaseStatus::Excused)];
    let r = server.patch_case(&lead, again.id, &excused).await?;
    assert_eq!(r.status, 200, "{}", r.body.text());

    // Neither absence is a ledger row.
    assert_eq!(server.ledger_row(&pupil.registration_no).await?, None);

    // A ledger case does not end as an absence.
    let case = server.school_case_at(CaseStatus::Suspected).await?;
    let r = server.patch_case(&teacher, case.id.into(), &end).await?;
    assert_eq!(r.status, reqwest::StatusCode::CONFLICT, "{}", r.body.text());
    Ok(())
}

#[tokio::test]
async fn r05_the_responsible_person_is_staff_of_the_cases_own_units() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::Suspected).await?;
    let id = CaseId::from(case.id);
    let teacher = server.token("teacher").await?;
    let staff = |demo: &server::demo::Demo, role: Role| {
        demo.users
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, u)| UserId::from(u.id))
            .ok_or_else(|| anyhow::anyhow!("a {role:?}"))
    };
    let outsider = [CaseField::ResponsibleUserId(staff(
        &server.other,
        Role::Teacher,
    )?)];
    let r = server.patch_case(&teacher, id, &outsider).await?;
    assert_eq!(
        r.status,
        reqwest::StatusCode::BAD_REQUEST,
        "{}",
        r.body.text()
    );
    assert!(detail(&r).contains("staff of the case's"), "{}", detail(&r));
    for role in [Role::SchoolLead, Role::TownshipOfficer] {
        let r = server
            .patch_case(
                &teacher,
                id,
                &[CaseField::ResponsibleUserId(staff(&server.home, role)?)],
            )
            .await?;
        assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body.text());
    }
    Ok(())
}
