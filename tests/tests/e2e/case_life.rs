//! One case's whole life through the real phone client and the API (issue 5): an absence, the
//! suspected case, three school attempts with photos and recordings, the report, the notice,
//! three joint attempts with the departments the reason calls for, a request to defer for illness
//! with R19 (7)'s evidence, the approval refused while a document is missing, and approved after:
//! the row is deferred, not closed. The ledger verifies intact, and the export shows the row.

use mobile_shared::{AttemptDraft, DocumentDraft, NoProgress, Phone};
use sync_protocol::cases::{
    AttemptKind, AttemptOutcome, CaseStatus, ClosureReason, Department, DueWhat, Participant,
    ReasonCategory,
};
use sync_protocol::evidence::{DocumentType, ReviewTarget};
use sync_protocol::media::MediaKind;
use sync_protocol::sync::CaseField;
use sync_protocol::{CaseId, DocumentId};
use tests::files::{jpeg, wav};
use tests::{TestServer, approval, held_case};

/// Records a document on `phone` and syncs it; returns its id.
async fn document(
    phone: &mut Phone,
    id: CaseId,
    doc_type: DocumentType,
    title: &str,
) -> anyhow::Result<DocumentId> {
    let doc = phone.record_document(DocumentDraft::new(id, doc_type, title))?;
    let report = phone.sync(&mut NoProgress).await?;
    anyhow::ensure!(report.rejected == 0, "{:?}", phone.rejections()?);
    Ok(doc)
}

#[tokio::test]
async fn r10_r19_a_case_lives_from_absence_to_deferral_through_phones_and_the_web()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::Absent).await?;
    let id = CaseId::from(case.id);
    let work = tempfile::tempdir()?;

    // The teacher: the suspected case, then three attempts with a photo and a recording each.
    let mut teacher = server
        .phone_in(&work.path().join("teacher"), "teacher")
        .await?;
    teacher.sync(&mut NoProgress).await?;
    assert_eq!(
        held_case(&teacher, id)?
            .due
            .first()
            .map(|d| d.rule.as_str()),
        Some("R2"),
        "an absence first asks for a call to the family"
    );
    teacher.edit_case(
        id,
        vec![
            CaseField::Status(CaseStatus::Suspected),
            CaseField::Reason(ReasonCategory::WorkingAway),
        ],
    )?;
    teacher.edit_case(id, vec![CaseField::Status(CaseStatus::SchoolPersuasion)])?;
    for (n, kind) in [
        AttemptKind::PhoneCall,
        AttemptKind::HomeVisit,
        AttemptKind::CollectiveVisit,
    ]
    .into_iter()
    .enumerate()
    {
        let attempt =
            teacher.record_attempt(AttemptDraft::new(id, kind, AttemptOutcome::Refused))?;
        let (photo, audio) = (
            work.path().join(format!("visit{n}.jpg")),
            work.path().join(format!("talk{n}.wav")),
        );
        std::fs::write(&photo, jpeg(320 + n as u32, 240))?;
        std::fs::write(&audio, wav(800 + 100 * n as u32))?;
        teacher.attach(attempt, MediaKind::Photo, &photo)?;
        teacher.attach(attempt, MediaKind::Audio, &audio)?;
    }
    let report = teacher.sync(&mut NoProgress).await?;
    assert_eq!(
        (
            report.applied,
            report.rejected,
            report.uploaded,
            report.upload_failed
        ),
        (5, 0, 6, 0)
    );

    // The school's lead files the report from the web.
    let lead = server.token("school_lead").await?;
    let r = server
        .patch_case(&lead, id, &[CaseField::Status(CaseStatus::Reported)])
        .await?;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body.text());
    let r10 = r.body.json()["due"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|d| d["rule"] == "R10" && d["who"] == "supervisor");
    assert!(r10, "the bureau owes the township its letter (R10)");

    // The township serves the notice and persuades with the departments the reason calls for.
    let mut officer = server
        .phone_in(&work.path().join("officer"), "township_officer")
        .await?;
    officer.sync(&mut NoProgress).await?;
    assert_eq!(
        held_case(&officer, id)?.due.first().map(|d| d.what.clone()),
        Some(DueWhat::ReturnNotice)
    );
    officer.record_document(DocumentDraft::new(
        id,
        DocumentType::ReturnNotice,
        "限期返校通知书",
    ))?;
    officer.edit_case(id, vec![CaseField::Status(CaseStatus::JointPersuasion)])?;
    for department in [
        Department::HumanResources,
        Department::Police,
        Department::Police,
    ] {
        let mut draft =
            AttemptDraft::new(id, AttemptKind::JointPersuasion, AttemptOutcome::Refused);
        draft.participants = vec![
            Participant {
                user_id: None,
                name: "乡镇专干".into(),
                unit: "乡镇".into(),
                department: None,
            },
            Participant {
                user_id: None,
                name: "部门同志".into(),
                unit: "部门".into(),
                department: Some(department),
            },
        ];
        officer.record_attempt(draft)?;
    }
    let report = officer.sync(&mut NoProgress).await?;
    assert_eq!(
        (report.applied, report.rejected),
        (5, 0),
        "{:?}",
        officer.rejections()?
    );
    assert!(
        held_case(&officer, id)?.due.iter().all(|d| d.rule != "R12"),
        "three joint attempts with human resources and police: R12 is met"
    );

    // A closure request with R19 (7)'s evidence: two of the three papers.
    let township = server.token("township_officer").await?;
    let ask = [CaseField::ClosureReason(ClosureReason::DeferredForIllness)];
    assert_eq!(
        server.patch_case(&township, id, &ask).await?.status,
        reqwest::StatusCode::OK
    );
    let application = document(
        &mut officer,
        id,
        DocumentType::GuardianApplication,
        "监护人申请",
    )
    .await?;
    let certificate = document(
        &mut officer,
        id,
        DocumentType::HospitalCertificate,
        "指定医院诊断证明",
    )
    .await?;
    let supervisor = server.token("supervisor").await?;
    for doc in [application, certificate] {
        let r = server
            .review_case(&supervisor, id, &approval(ReviewTarget::Document, doc.0))
            .await?;
        assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body.text());
    }
    let refused = server
        .review_case(&supervisor, id, &approval(ReviewTarget::Closure, case.id))
        .await?;
    assert_eq!(refused.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let detail = refused.body.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("`suspension_approval`"), "{detail}");
    assert!(!detail.contains("`hospital_certificate`"), "{detail}");

    // The approval arrives, is reviewed, and the row is deferred (R19 (7)): the school keeps
    // following the child until the return or the over-age leaving mark.
    let suspension = document(
        &mut officer,
        id,
        DocumentType::SuspensionApproval,
        "休学审批表",
    )
    .await?;
    assert_eq!(
        server
            .review_case(
                &supervisor,
                id,
                &approval(ReviewTarget::Document, suspension.0)
            )
            .await?
            .status,
        reqwest::StatusCode::CREATED
    );
    let closed = server
        .review_case(&supervisor, id, &approval(ReviewTarget::Closure, case.id))
        .await?;
    assert_eq!(
        closed.status,
        reqwest::StatusCode::CREATED,
        "{}",
        closed.body.text()
    );
    assert_eq!(closed.body.json()["status"], "deferred");

    // Every phone learns it; the ledger verifies; the export shows the deferred row.
    teacher.sync(&mut NoProgress).await?;
    assert_eq!(held_case(&teacher, id)?.status, CaseStatus::Deferred);
    let verified = server
        .get(&format!("/api/v1/cases/{id}/verify"), &supervisor)
        .await?
        .body
        .json();
    assert_eq!(verified["intact"], true, "{verified}");
    // 6 attempts, 6 files, 4 documents, 4 reviews, 5 moves (the deferral among them).
    assert_eq!(verified["events"], 6 + 6 + 4 + 4 + 5, "{verified}");
    let month = server::calendar::china_date(chrono::Utc::now()).format("%Y-%m");
    let csv_body = server
        .get(
            &format!("/api/v1/reports/ledger.csv?month={month}"),
            &supervisor,
        )
        .await?
        .body
        .text();
    let row = csv_body
        .lines()
        .find(|l| l.contains("因病延缓入学或休学"))
        .ok_or_else(|| anyhow::anyhow!("no deferred row in\n{csv_body}"))?;
    assert!(
        row.contains("延缓入学（休学）") && row.contains(",3,3,"),
        "{row}"
    );
    Ok(())
}
