//! Closing a ledger row (销号) for each reason of R15–R17 and R20 through the real server: the
//! township records the evidence from a phone, the bureau reviews it on the web, and the approval
//! is refused, naming what is missing, until the last paper is attached and approved.

use mobile_shared::{AttemptDraft, DocumentDraft, NoProgress};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use server::db::entity::{case, student};
use sync_protocol::CaseId;
use sync_protocol::cases::{AttemptKind, AttemptOutcome, CaseStatus, ClosureReason};
use sync_protocol::evidence::{DocumentType, ReviewTarget};
use sync_protocol::media::MediaKind;
use sync_protocol::sync::CaseField;
use tests::files::wav;
use tests::{TestServer, approval};

/// What one closure reason needs, as this test supplies it.
struct Evidence {
    reason: ClosureReason,
    joint_attempts: usize,
    recorded: bool,
    /// A special measure of R20: the child is made fourteen and a repeated dropout first.
    special_measure: bool,
    /// The papers, the last of them attached only after the refusal that names it.
    documents: Vec<DocumentType>,
}

/// Closes a fresh case for `evidence.reason`: refused while the last document is missing (the
/// refusal names it), approved once it is attached and reviewed.
async fn closes_with(evidence: &Evidence) -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::JointPersuasion).await?;
    let id = CaseId::from(case.id);
    if evidence.special_measure {
        let born = chrono::Utc::now().date_naive() - chrono::Duration::days(14 * 366);
        student::Entity::update_many()
            .col_expr(student::Column::BirthDate, Expr::value(born))
            .filter(student::Column::Id.eq(case.student_id))
            .exec(&server.state.db.write)
            .await?;
        case::Entity::update_many()
            .col_expr(case::Column::RelapseCount, Expr::value(1))
            .filter(case::Column::Id.eq(case.id))
            .exec(&server.state.db.write)
            .await?;
    }
    let township = server.token("township_officer").await?;
    let supervisor = server.token("supervisor").await?;
    let work = tempfile::tempdir()?;
    let asked = server
        .patch_case(&township, id, &[CaseField::ClosureReason(evidence.reason)])
        .await?;
    anyhow::ensure!(asked.status.is_success(), "{}", asked.body.text());

    let mut officer = server
        .phone_in(&work.path().join("officer"), "township_officer")
        .await?;
    officer.sync(&mut NoProgress).await?;
    for n in 0..evidence.joint_attempts {
        let attempt = officer.record_attempt(AttemptDraft::new(
            id,
            AttemptKind::JointPersuasion,
            AttemptOutcome::Refused,
        ))?;
        if evidence.recorded {
            let talk = work.path().join(format!("talk{n}.wav"));
            std::fs::write(&talk, wav(600 + 50 * n as u32))?;
            officer.attach(attempt, MediaKind::Audio, &talk)?;
        }
    }
    let (last, first) = evidence
        .documents
        .split_last()
        .ok_or_else(|| anyhow::anyhow!("no documents"))?;
    let mut papers = Vec::new();
    for doc_type in first {
        papers.push(officer.record_document(DocumentDraft::new(id, *doc_type, "材料"))?);
    }
    let report = officer.sync(&mut NoProgress).await?;
    anyhow::ensure!(
        report.rejected == 0 && report.upload_failed == 0,
        "{report:?}"
    );
    for paper in &papers {
        let r = server
            .review_case(&supervisor, id, &approval(ReviewTarget::Document, paper.0))
            .await?;
        anyhow::ensure!(
            r.status == reqwest::StatusCode::CREATED,
            "{}",
            r.body.text()
        );
    }

    let refused = server
        .review_case(&supervisor, id, &approval(ReviewTarget::Closure, case.id))
        .await?;
    assert_eq!(
        refused.status,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        evidence.reason
    );
    let detail = refused.body.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains(&format!("`{}`", last.as_str())), "{detail}");
    for done in first {
        assert!(
            !detail.contains(&format!("`{}`", done.as_str())),
            "{detail}"
        );
    }

    let paper = officer.record_document(DocumentDraft::new(id, *last, "材料"))?;
    officer.sync(&mut NoProgress).await?;
    server
        .review_case(&supervisor, id, &approval(ReviewTarget::Document, paper.0))
        .await?;
    let closed = server
        .review_case(&supervisor, id, &approval(ReviewTarget::Closure, case.id))
        .await?;
    assert_eq!(
        closed.status,
        reqwest::StatusCode::CREATED,
        "{}",
        closed.body.text()
    );
    assert_eq!(closed.body.json()["status"], "closed");
    Ok(())
}

#[tokio::test]
async fn r15_a_refusal_closes_after_three_joint_attempts_the_ruling_the_statement_and_approval()
-> anyhow::Result<()> {
    closes_with(&Evidence {
        reason: ClosureReason::RefusalAfterRuling,
        joint_attempts: 3,
        recorded: false,
        special_measure: false,
        documents: vec![
            DocumentType::CourtRuling,
            DocumentType::WrittenStatement,
            DocumentType::GovernmentApproval,
        ],
    })
    .await
}

#[tokio::test]
async fn r16_r17_a_physical_condition_and_a_poor_household_close_on_their_deciding_papers()
-> anyhow::Result<()> {
    for (reason, paper) in [
        (
            ClosureReason::PhysicalCondition,
            DocumentType::ExpertAssessment,
        ),
        (
            ClosureReason::PoorHouseholdRefusal,
            DocumentType::RuralRevitalisationApproval,
        ),
    ] {
        // An unrelated paper first: the refusal still names the deciding one.
        closes_with(&Evidence {
            reason,
            joint_attempts: 0,
            recorded: false,
            special_measure: false,
            documents: vec![DocumentType::Other, paper],
        })
        .await?;
    }
    Ok(())
}

#[tokio::test]
async fn r20_a_vocational_placement_closes_with_consents_plan_letter_and_recorded_attempts()
-> anyhow::Result<()> {
    closes_with(&Evidence {
        reason: ClosureReason::VocationalSchool,
        joint_attempts: 3,
        recorded: true,
        special_measure: true,
        documents: vec![
            DocumentType::GuardianConsent,
            DocumentType::ChildConsent,
            DocumentType::EducationPlan,
            DocumentType::AcceptanceLetter,
        ],
    })
    .await
}
