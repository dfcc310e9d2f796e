//! The supervisor's case detail through the real server (`GET /api/v1/cases/{id}`, issue 18
//! item 11): everything a reviewer needs in one answer, each link answering, and the version a
//! change from the web is made on.

use mobile_shared::{AttemptDraft, DocumentDraft, NoProgress};
use sea_orm::EntityTrait as _;
use server::db::entity::case;
use sync_protocol::CaseId;
use sync_protocol::cases::{
    AttemptKind, AttemptOutcome, CaseStatus, Participant, ReasonCategory, ReviewRequest,
};
use sync_protocol::detail::CaseDetail;
use sync_protocol::evidence::{DocumentType, ReviewTarget, Verdict};
use sync_protocol::media::MediaKind;
use sync_protocol::sync::CaseField;
use tests::TestServer;

#[tokio::test]
async fn r21_the_case_detail_carries_attempts_media_documents_reviews_moves_and_version()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let row = server.school_case_at(CaseStatus::Suspected).await?;
    let id = CaseId::from(row.id);

    // A visit with its photo and a scanned notice, from the teacher's phone.
    let work = tempfile::tempdir()?;
    let mut phone = server.phone_in(&work.path().join("t"), "teacher").await?;
    phone.sync(&mut NoProgress).await?;
    let mut visit = AttemptDraft::new(id, AttemptKind::HomeVisit, AttemptOutcome::Undecided);
    visit.guardian_statement = "考虑让孩子下周返校".into();
    visit.participants = vec![Participant {
        user_id: Some(server.home.users[0].1.id.into()),
        name: "班主任".into(),
        unit: "学校".into(),
        department: None,
    }];
    let attempt = phone.record_attempt(visit)?;
    let photo = work.path().join("visit.jpg");
    std::fs::write(&photo, tests::files::jpeg(800, 600))?;
    phone.attach(attempt, MediaKind::Photo, &photo)?;
    let notice = phone.record_document(DocumentDraft::new(
        id,
        DocumentType::DropoutNotice,
        "辍学通报",
    ))?;
    // A photo of the signed paper, taken on the phone (issue 18, item 12).
    let paper = work.path().join("notice.jpg");
    std::fs::write(&paper, tests::files::jpeg(600, 800))?;
    phone.attach_to_document(notice, MediaKind::Photo, &paper)?;
    phone.edit_case(id, vec![CaseField::Status(CaseStatus::SchoolPersuasion)])?;
    let report = phone.sync(&mut NoProgress).await?;
    anyhow::ensure!(
        report.rejected == 0 && report.upload_failed == 0,
        "{report:?}"
    );

    // The bureau asks for more on the visit.
    let supervisor = server.token("supervisor").await?;
    let review = ReviewRequest {
        target: ReviewTarget::Attempt,
        target_id: attempt.0,
        verdict: Verdict::MoreEvidence,
        reason: "请补充与监护人谈话录音".into(),
    };
    let r = server.review_case(&supervisor, id, &review).await?;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body.text());

    let path = format!("/api/v1/cases/{id}");
    let r = server.get(&path, &supervisor).await?;
    assert_eq!(r.status, 200, "{}", r.body.text());
    let detail: CaseDetail = r.body.parse()?;
    let stored = case::Entity::find_by_id(row.id)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("case"))?;
    assert_eq!(detail.case.version, stored.version, "the row's version");
    assert_eq!(detail.case.status, CaseStatus::SchoolPersuasion);
    assert!(!detail.case.due.is_empty());

    let a = &detail.attempts[0];
    assert_eq!(
        (a.id, a.guardian_statement.as_str()),
        (attempt, "考虑让孩子下周返校")
    );
    assert_eq!(a.participants[0].name, "班主任", "who took part");
    assert_eq!(detail.documents.len(), 1);
    assert_eq!(
        (detail.documents[0].id, detail.documents[0].doc_type),
        (notice, DocumentType::DropoutNotice)
    );
    assert_eq!(detail.reviews.len(), 1);
    assert_eq!(detail.reviews[0].reason, "请补充与监护人谈话录音");
    let teacher_id = server.home.users[0].1.id;
    let moves: Vec<_> = detail
        .moves
        .iter()
        .map(|m| (m.from, m.to, m.moved_by.0))
        .collect();
    assert_eq!(
        moves,
        [(
            CaseStatus::Suspected,
            CaseStatus::SchoolPersuasion,
            teacher_id
        )]
    );

    // The photo of the visit, with links that answer: the original and its thumbnail.
    let photos: Vec<_> = detail
        .media
        .iter()
        .filter(|m| m.media.target_id == attempt.0 && m.media.preview_of.is_none())
        .collect();
    assert_eq!(photos.len(), 1, "{:?}", detail.media);
    let original = server.get(&photos[0].download_url, &supervisor).await?;
    assert_eq!(original.status, 200);
    assert_eq!(
        server::digest::sha256_hex(&original.body.0),
        photos[0].media.sha256
    );
    let thumbnail_url = photos[0]
        .thumbnail_url
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("a photo has a thumbnail link"))?;
    let thumbnail = server.get(thumbnail_url, &supervisor).await?;
    assert_eq!(thumbnail.status, 200);
    assert!(thumbnail.body.0.starts_with(&[0xFF, 0xD8]), "a JPEG");

    // The paper's photo is the document's evidence.
    let of_paper: Vec<_> = detail
        .media
        .iter()
        .filter(|m| m.media.target_kind == "document" && m.media.preview_of.is_none())
        .collect();
    assert_eq!(of_paper.len(), 1, "{:?}", detail.media);
    assert_eq!(of_paper[0].media.target_id, notice.0);
    let scan = server.get(&of_paper[0].download_url, &supervisor).await?;
    assert_eq!(
        server::digest::sha256_hex(&scan.body.0),
        of_paper[0].media.sha256
    );

    // A change from the web on the version read is applied; another school sees nothing.
    let lead = server.token("school_lead").await?;
    let r = server
        .patch_case(&lead, id, &[CaseField::Reason(ReasonCategory::Illness)])
        .await?;
    assert_eq!(r.status, 200, "{}", r.body.text());
    let after: CaseDetail = server.get(&path, &supervisor).await?.body.parse()?;
    assert_eq!(after.case.version, detail.case.version + 1);
    let outsider = server.token("b-teacher").await?;
    assert_eq!(
        server.get(&path, &outsider).await?.status,
        reqwest::StatusCode::NOT_FOUND
    );
    Ok(())
}
