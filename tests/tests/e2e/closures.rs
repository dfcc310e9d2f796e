//! The bureau's decisions on a ledger row through the real server: deferring it (R15–R17),
//! writing it off (销号) at the over-age leaving day, and R20's special measures. The township
//! records the evidence from a phone, the bureau reviews it on the web, and the decision is
//! refused, naming what is missing, until the last paper is attached and approved.

use mobile_shared::{AttemptDraft, DocumentDraft, NoProgress};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use server::db::entity::{case, student};
use server::reports::ledger::COLUMNS;
use sync_protocol::CaseId;
use sync_protocol::cases::{
    AttemptKind, AttemptOutcome, CaseStatus, CaseSummary, ClosureReason, DueWhat, JudicialStage,
    Participant,
};
use sync_protocol::evidence::{DocumentType, ReviewTarget};
use sync_protocol::media::MediaKind;
use sync_protocol::sync::CaseField;
use tests::files::wav;
use tests::{TestServer, approval};

/// What the bureau decides on a row in joint persuasion.
#[derive(Debug, Clone, Copy)]
enum Decision {
    /// Approves the closure request for this reason (a `closure` review).
    Approve(ClosureReason),
    /// Moves the row to this status (an R20 measure).
    Move(CaseStatus),
}

/// What one decision needs, as this test supplies it.
struct Evidence {
    decision: Decision,
    joint_attempts: usize,
    recorded: bool,
    /// Every attempt signed by its participant (R20 (1), R21); the last only after the refusal,
    /// which names it.
    signed: bool,
    /// A special measure of R20: the child is made fourteen and a repeated dropout first.
    special_measure: bool,
    /// The papers, the last of them attached only after the refusal that names it.
    documents: Vec<DocumentType>,
}

/// The bureau's decision on a fresh case in joint persuasion: refused while the last document
/// is missing (the refusal names it), made once it is attached and reviewed. Answers the
/// server, the case and the status the decision gave it.
async fn decided_with(evidence: &Evidence) -> anyhow::Result<(TestServer, CaseId, String)> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::JointPersuasion).await?;
    let id = CaseId::from(case.id);
    if evidence.special_measure {
        let born = chrono::Utc::now().date_naive() - chrono::Duration::days(14 * 366);
        set_birth_date(&server, case.student_id, born).await?;
        case::Entity::update_many()
            .col_expr(case::Column::RelapseCount, Expr::value(1))
            .filter(case::Column::Id.eq(case.id))
            .exec(&server.state.db.write)
            .await?;
    }
    let township = server.token("township_officer").await?;
    let supervisor = server.token("supervisor").await?;
    let work = tempfile::tempdir()?;
    if let Decision::Approve(reason) = evidence.decision {
        let asked = server
            .patch_case(&township, id, &[CaseField::ClosureReason(reason)])
            .await?;
        anyhow::ensure!(asked.status.is_success(), "{}", asked.body.text());
    }
    let decide = async || match evidence.decision {
        Decision::Approve(_) => {
            server
                .review_case(&supervisor, id, &approval(ReviewTarget::Closure, case.id))
                .await
        }
        Decision::Move(to) => {
            server
                .patch_case(&supervisor, id, &[CaseField::Status(to)])
                .await
        }
    };

    let mut officer = server
        .phone_in(&work.path().join("officer"), "township_officer")
        .await?;
    officer.sync(&mut NoProgress).await?;
    if evidence.signed {
        officer.register_key().await?;
    }
    let me = officer
        .account()?
        .ok_or_else(|| anyhow::anyhow!("the officer is signed in"))?;
    let mut unsigned = None;
    for n in 0..evidence.joint_attempts {
        let attempt = officer.record_attempt(AttemptDraft {
            participants: vec![Participant {
                user_id: Some(me.id),
                name: me.display_name.clone(),
                unit: "乡镇".into(),
                department: None,
            }],
            ..AttemptDraft::new(id, AttemptKind::JointPersuasion, AttemptOutcome::Refused)
        })?;
        if evidence.recorded {
            let talk = work.path().join(format!("talk{n}.wav"));
            std::fs::write(&talk, wav(600 + 50 * n as u32))?;
            officer.attach(attempt, MediaKind::Audio, &talk)?;
        }
        if evidence.signed {
            if n + 1 < evidence.joint_attempts {
                officer.sign_attempt(attempt, Vec::new())?;
            } else {
                unsigned = Some(attempt);
            }
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

    let refused = decide().await?;
    assert_eq!(
        refused.status,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        evidence.decision
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
    assert_eq!(
        detail.contains("every participant's signature on every attempt (1 attempt(s)"),
        unsigned.is_some(),
        "{detail}"
    );
    if let Some(attempt) = unsigned {
        officer.sign_attempt(attempt, Vec::new())?;
    }

    let paper = officer.record_document(DocumentDraft::new(id, *last, "材料"))?;
    officer.sync(&mut NoProgress).await?;
    server
        .review_case(&supervisor, id, &approval(ReviewTarget::Document, paper.0))
        .await?;
    let decided = decide().await?;
    assert!(decided.status.is_success(), "{}", decided.body.text());
    let status = decided.body.json()["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((server, id, status))
}

/// Gives `student` the birth date `born`.
async fn set_birth_date(
    server: &TestServer,
    student: uuid::Uuid,
    born: chrono::NaiveDate,
) -> anyhow::Result<()> {
    student::Entity::update_many()
        .col_expr(student::Column::BirthDate, Expr::value(born))
        .filter(student::Column::Id.eq(student))
        .exec(&server.state.db.write)
        .await?;
    Ok(())
}

/// The ledger row of `id`'s student, as the supervisor exports it (CSV).
async fn ledger_row(server: &TestServer, id: CaseId) -> anyhow::Result<csv::StringRecord> {
    let case = case::Entity::find_by_id(id.0)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("case {id}"))?;
    let pupil = student::Entity::find_by_id(case.student_id)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("student"))?;
    server
        .ledger_row(&pupil.registration_no)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no ledger row for case {id}"))
}

/// The cell of the ledger column `name` in `row`.
fn cell<'r>(row: &'r csv::StringRecord, name: &str) -> &'r str {
    COLUMNS
        .iter()
        .position(|c| *c == name)
        .and_then(|i| row.get(i))
        .unwrap_or_default()
}

#[tokio::test]
async fn r15_a_refusal_is_deferred_then_written_off_with_the_over_age_mark() -> anyhow::Result<()> {
    let (server, id, status) = decided_with(&Evidence {
        decision: Decision::Approve(ClosureReason::RefusalAfterRuling),
        joint_attempts: 3,
        recorded: false,
        signed: false,
        special_measure: false,
        documents: vec![
            DocumentType::CourtRuling,
            DocumentType::WrittenStatement,
            DocumentType::GovernmentApproval,
        ],
    })
    .await?;
    assert_eq!(status, "deferred", "R15 defers; it does not close at once");

    // Persuasion stays due, and so does the over-age leaving mark.
    let supervisor = server.token("supervisor").await?;
    let case: CaseSummary = server
        .get(&format!("/api/v1/cases/{id}"), &supervisor)
        .await?
        .body
        .parse()?;
    let due: Vec<(&str, &DueWhat)> = case
        .due
        .iter()
        .map(|i| (i.rule.as_str(), &i.what))
        .collect();
    assert!(due.contains(&("R15", &DueWhat::KeepPersuading)), "{due:?}");
    assert!(due.contains(&("R15", &DueWhat::OverAgeLeaving)), "{due:?}");

    // The bureau's approval again is refused before the leaving day …
    let pupil = case::Entity::find_by_id(id.0)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("case"))?
        .student_id;
    let today = server::calendar::china_date(chrono::Utc::now());
    set_birth_date(&server, pupil, today - chrono::Duration::days(12 * 365)).await?;
    let early = server
        .review_case(&supervisor, id, &approval(ReviewTarget::Closure, id.0))
        .await?;
    assert_eq!(early.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        early.body.text().contains("over-age leaving day"),
        "{}",
        early.body.text()
    );
    assert_eq!(
        ledger_row(&server, id).await?[14].to_owned(),
        "延缓入学（休学）"
    );

    // … and writes the row off once the child is over age, which the ledger says.
    set_birth_date(&server, pupil, today - chrono::Duration::days(17 * 366)).await?;
    let closed = server
        .review_case(&supervisor, id, &approval(ReviewTarget::Closure, id.0))
        .await?;
    assert_eq!(
        closed.status,
        reqwest::StatusCode::CREATED,
        "{}",
        closed.body.text()
    );
    assert_eq!(closed.body.json()["status"], "closed");
    let row = ledger_row(&server, id).await?;
    assert_eq!(cell(&row, "核销原因"), "司法裁定后仍拒不复学（超龄离校）");
    Ok(())
}

#[tokio::test]
async fn r16_r17_a_physical_condition_and_a_poor_household_are_deferred_on_their_deciding_papers()
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
        let (_, _, status) = decided_with(&Evidence {
            decision: Decision::Approve(reason),
            joint_attempts: 0,
            recorded: false,
            signed: false,
            special_measure: false,
            documents: vec![DocumentType::Other, paper],
        })
        .await?;
        assert_eq!(status, "deferred", "{reason:?}");
    }
    Ok(())
}

#[tokio::test]
async fn r20_r21_a_vocational_placement_is_a_return_with_consents_plan_letter_and_recorded_signed_attempts()
-> anyhow::Result<()> {
    let (server, id, status) = decided_with(&Evidence {
        decision: Decision::Move(CaseStatus::VocationalSchool),
        joint_attempts: 3,
        recorded: true,
        signed: true,
        special_measure: true,
        documents: vec![
            DocumentType::GuardianConsent,
            DocumentType::ChildConsent,
            DocumentType::EducationPlan,
            DocumentType::AcceptanceLetter,
        ],
    })
    .await?;
    assert_eq!(status, "vocational_school");
    // The row stays open, followed up like a return, and names its measure.
    let teacher = server.token("teacher").await?;
    let case: CaseSummary = server
        .get(&format!("/api/v1/cases/{id}"), &teacher)
        .await?
        .body
        .parse()?;
    assert!(
        case.due.iter().any(|i| i.what == DueWhat::FollowUpVisit),
        "{:?}",
        case.due
    );
    let row = ledger_row(&server, id).await?;
    assert!(
        cell(&row, "劝返措施类型及进度").starts_with("引导至中职学校就读"),
        "{row:?}"
    );
    assert!(
        cell(&row, "签字确认").starts_with("3/"),
        "R21: the three signed attempts: {row:?}"
    );
    Ok(())
}

#[tokio::test]
async fn r20_a_compulsory_return_is_a_measure_in_progress_until_the_child_returns()
-> anyhow::Result<()> {
    let (server, id, status) = decided_with(&Evidence {
        decision: Decision::Move(CaseStatus::CompulsoryReturn),
        joint_attempts: 3,
        recorded: false,
        signed: false,
        special_measure: true,
        documents: vec![DocumentType::JudicialFiling],
    })
    .await?;
    assert_eq!(status, "compulsory_return");
    let township = server.token("township_officer").await?;
    let path = format!("/api/v1/cases/{id}");
    let case: CaseSummary = server.get(&path, &township).await?.body.parse()?;
    assert!(
        case.due.iter().any(|i| i.what
            == DueWhat::JudicialStep {
                step: JudicialStage::Hearing
            }),
        "after the filing, the hearing: {:?}",
        case.due
    );
    assert!(case.due.iter().any(|i| i.what == DueWhat::TeachingService));

    // Teaching is delivered and recorded; the ledger shows the measure and its progress.
    let mut officer = server.phone("township_officer").await?;
    officer.sync(&mut NoProgress).await?;
    officer.record_document(DocumentDraft::new(
        id,
        DocumentType::TeachingRecord,
        "送教记录",
    ))?;
    officer.sync(&mut NoProgress).await?;
    let row = ledger_row(&server, id).await?;
    let progress = cell(&row, "劝返措施类型及进度");
    assert!(progress.starts_with("强制劝返"), "{progress}");
    assert!(progress.contains("启动司法程序"), "{progress}");
    assert!(progress.contains("送教1次"), "{progress}");
    assert_eq!(cell(&row, "核销原因"), "", "a measure is no write-off");

    // The row stays open until the child returns.
    let back = server
        .patch_case(&township, id, &[CaseField::Status(CaseStatus::Returned)])
        .await?;
    assert_eq!(back.status, 200, "{}", back.body.text());
    Ok(())
}
