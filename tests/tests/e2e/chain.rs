//! Tamper evidence through the real server (R21: records and evidence kept as they were made):
//! the hash chain of a case's events, and `verify` naming the first broken link when a row is
//! edited behind the application's back or an evidence file is replaced in storage.

use mobile_shared::{AttemptDraft, NoProgress};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use server::db::entity::{attempt, media_object};
use server::storage::{Storage, StorageConfig};
use sync_protocol::CaseId;
use sync_protocol::cases::{AttemptKind, AttemptOutcome, CaseStatus};
use sync_protocol::media::MediaKind;
use sync_protocol::sync::CaseField;
use tests::TestServer;
use tests::files::jpeg;

#[tokio::test]
async fn r21_verify_finds_an_edited_row_and_a_replaced_photo() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = server.school_case_at(CaseStatus::Suspected).await?;
    let id = CaseId::from(case.id);
    let work = tempfile::tempdir()?;
    let mut phone = server
        .phone_in(&work.path().join("phone"), "teacher")
        .await?;
    phone.sync(&mut NoProgress).await?;
    let attempt = phone.record_attempt(AttemptDraft::new(
        id,
        AttemptKind::HomeVisit,
        AttemptOutcome::Refused,
    ))?;
    let photo = work.path().join("visit.jpg");
    std::fs::write(&photo, jpeg(320, 240))?;
    phone.attach(attempt, MediaKind::Photo, &photo)?;
    phone.edit_case(id, vec![CaseField::Status(CaseStatus::SchoolPersuasion)])?;
    let report = phone.sync(&mut NoProgress).await?;
    assert_eq!((report.applied, report.uploaded), (2, 1));

    let supervisor = server.token("supervisor").await?;
    let path = format!("/api/v1/cases/{id}/verify");
    let clean = server.get(&path, &supervisor).await?.body.json();
    assert_eq!(clean["intact"], true, "{clean}");
    assert_eq!(clean["events"], 3, "attempt, move and photo: {clean}");
    assert_eq!(
        server
            .get(&path, &server.token("teacher").await?)
            .await?
            .status,
        reqwest::StatusCode::FORBIDDEN
    );
    assert_eq!(
        server
            .get(&path, &server.token("b-supervisor").await?)
            .await?
            .status,
        reqwest::StatusCode::NOT_FOUND,
        "another district's case does not exist for them"
    );

    // Someone with database access rewrites what the family said (a plain UPDATE, not the API).
    let changed = attempt::Entity::update_many()
        .col_expr(attempt::Column::GuardianStatement, Expr::value("同意返校"))
        .filter(attempt::Column::Id.eq(attempt.0))
        .exec(&server.state.db.write)
        .await?;
    assert_eq!(changed.rows_affected, 1);
    let edited = server.get(&path, &supervisor).await?.body.json();
    assert_eq!(edited["intact"], false);
    let first = &edited["findings"][0];
    assert_eq!(
        (first["seq"].as_i64(), first["entity_kind"].as_str()),
        (Some(1), Some("attempt")),
        "{edited}"
    );
    assert!(
        first["problem"]
            .as_str()
            .unwrap_or_default()
            .contains("differs from its last recorded state")
    );

    // Someone swaps the photo in the media folder.
    let media = media_object::Entity::find()
        .filter(media_object::Column::CaseId.eq(case.id))
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the photo's media object"))?;
    let StorageConfig::Local { root } = &server.state.config.storage else {
        anyhow::bail!("the test server stores media locally");
    };
    let file = root.join(Storage::original_key(&media.sha256).as_ref());
    std::fs::write(&file, jpeg(321, 240))?;
    let swapped = server.get(&path, &supervisor).await?.body.json();
    let findings = swapped["findings"].as_array().cloned().unwrap_or_default();
    assert!(
        findings.iter().any(|f| f["entity_kind"] == "media"
            && f["problem"]
                .as_str()
                .unwrap_or_default()
                .contains("the stored file has changed")),
        "{swapped}"
    );
    Ok(())
}
