//! The papers of an absence's first days through the real server (R4, R5; seed 003): the notice
//! to the township and the village committee and the dropout notice the guardian signs fall due
//! on day 3, the written report to the bureau on day 5; the server generates that report from
//! the case (attempts, who took part, what the guardian said, the visit's photos), the school's
//! lead files it, and it becomes a document of the case whose file is the report as filed.

use mobile_shared::{AttemptDraft, DocumentDraft, NoProgress};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use server::db::entity::document;
use sync_protocol::cases::{AttemptKind, AttemptOutcome, CaseSummary, DueWhat};
use sync_protocol::evidence::DocumentType;
use sync_protocol::media::MediaKind;
use sync_protocol::org::Role;
use sync_protocol::reports::FiledReport;
use tests::TestServer;

/// The rows of every table of `page` (HTML as the server writes it), each as its cells' text.
fn cells(page: &str) -> Vec<Vec<String>> {
    page.split("<tr>")
        .skip(1)
        .map(|row| {
            let row = row.split("</tr>").next().unwrap_or_default();
            row.split("<t")
                .skip(1)
                .filter_map(|cell| {
                    let (_, text) = cell.split_once('>')?;
                    text.split("</t").next().map(str::to_owned)
                })
                .collect()
        })
        .collect()
}

/// The row of `rows` whose first cell is `first`.
fn row<'r>(rows: &'r [Vec<String>], first: &str) -> anyhow::Result<&'r Vec<String>> {
    rows.iter()
        .find(|r| r.first().is_some_and(|c| c == first))
        .ok_or_else(|| anyhow::anyhow!("no row `{first}` in {rows:?}"))
}

/// The kinds of what is due on `case`.
fn due_kinds(case: &CaseSummary) -> Vec<(&str, &DueWhat, Role)> {
    case.due
        .iter()
        .map(|i| (i.rule.as_str(), &i.what, i.who))
        .collect()
}

#[tokio::test]
async fn r04_r05_the_written_notices_fall_due_and_the_day_5_report_is_generated_and_filed()
-> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let pupil = server.pupil_without_case().await?;
    let teacher = server.token("teacher").await?;
    let opened = server.open_absence(&teacher, pupil.id).await?;
    let id = opened.id;
    let due = due_kinds(&opened);
    for expected in [
        ("R4", &DueWhat::TownshipNotice, Role::SchoolLead),
        ("R4", &DueWhat::DropoutNotice, Role::Teacher),
        ("R5", &DueWhat::BureauReport, Role::SchoolLead),
    ] {
        assert!(due.contains(&expected), "{expected:?} in {due:?}");
    }

    // The teacher's phone records the collective visit with a photo and the guardian's words.
    let work = tempfile::tempdir()?;
    let mut phone = server.phone_in(&work.path().join("t"), "teacher").await?;
    phone.sync(&mut NoProgress).await?;
    let mut visit = AttemptDraft::new(id, AttemptKind::CollectiveVisit, AttemptOutcome::Refused);
    visit.met_whom = "父亲".into();
    visit.guardian_statement = "孩子不愿意上学，想外出打工".into();
    visit.next_step = "请乡镇司法所介入".into();
    let attempt = phone.record_attempt(visit)?;
    let photo = work.path().join("visit.jpg");
    std::fs::write(&photo, tests::files::jpeg(640, 480))?;
    phone.attach(attempt, MediaKind::Photo, &photo)?;
    let report = phone.sync(&mut NoProgress).await?;
    anyhow::ensure!(
        report.rejected == 0 && report.upload_failed == 0,
        "{report:?}"
    );

    // The report reads the case: the student, the attempt row cell by cell, the photo.
    let lead = server.token("school_lead").await?;
    let path = format!("/api/v1/cases/{id}/bureau-report");
    let page = server.get(&path, &lead).await?;
    assert_eq!(page.status, 200, "{}", page.body.text());
    let html = page.body.text();
    let rows = cells(&html);
    assert_eq!(row(&rows, "学生姓名")?[1], pupil.name);
    let roll = row(&rows, "学籍号")?;
    assert_eq!(
        (roll[1].as_str(), roll[3].as_str()),
        (
            pupil.registration_no.as_str(),
            opened.opened_on.to_string().as_str()
        )
    );
    let today = server::calendar::china_date(chrono::Utc::now()).to_string();
    let attempt_row = row(&rows, &today)?;
    assert_eq!(attempt_row[1], "联合村委会家访");
    assert_eq!(
        attempt_row[3..],
        [
            "父亲",
            "孩子不愿意上学，想外出打工",
            "拒绝",
            "请乡镇司法所介入"
        ]
    );
    assert_eq!(html.matches("data:image/jpeg;base64,").count(), 1);
    assert!(
        html.contains("尚未书面告知"),
        "neither notice is on the case yet"
    );
    assert!(
        !html.contains(&server.id_number_of(&pupil)?),
        "no ID number"
    );

    // The teacher reads it but does not file it; another school does not see it.
    assert_eq!(
        server.post(&path, &teacher, &()).await?.status,
        reqwest::StatusCode::FORBIDDEN
    );
    let outsider = server.token("b-school_lead").await?;
    assert_eq!(
        server.get(&path, &outsider).await?.status,
        reqwest::StatusCode::NOT_FOUND
    );

    // The lead files it: a `bureau_report` document whose file is the report as read.
    let r = server.post(&path, &lead, &()).await?;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body.text());
    let filed: FiledReport = r.body.parse()?;
    let supervisor = server.token("supervisor").await?;
    let file = server
        .get(&format!("/api/v1/media/{}", filed.media_id), &supervisor)
        .await?;
    assert_eq!(file.status, 200);
    assert_eq!(server::digest::sha256_hex(&file.body.0), filed.sha256);
    assert_eq!(file.body.text(), html, "the file is the report as read");
    let documents = document::Entity::find()
        .filter(document::Column::CaseId.eq(id.0))
        .all(&server.state.db.read)
        .await?;
    assert!(
        documents
            .iter()
            .any(|d| d.id == filed.document_id.0 && d.doc_type == "bureau_report"),
        "{documents:?}"
    );

    // The notices recorded from the phone meet R4; nothing written is due any more.
    phone.record_document(DocumentDraft::new(
        id,
        DocumentType::TownshipNotice,
        "关于学生无故不到校的书面告知",
    ))?;
    phone.record_document(DocumentDraft::new(
        id,
        DocumentType::DropoutNotice,
        "辍学通报（家长已签字）",
    ))?;
    phone.sync(&mut NoProgress).await?;
    let now: CaseSummary = server
        .get(&format!("/api/v1/cases/{id}"), &teacher)
        .await?
        .body
        .parse()?;
    let due = due_kinds(&now);
    assert!(
        due.iter().all(|(_, what, _)| !matches!(
            what,
            DueWhat::TownshipNotice | DueWhat::DropoutNotice | DueWhat::BureauReport
        )),
        "{due:?}"
    );
    let verified = server
        .get(&format!("/api/v1/cases/{id}/verify"), &supervisor)
        .await?
        .body
        .json();
    assert_eq!(verified["intact"], true, "{verified}");
    Ok(())
}
