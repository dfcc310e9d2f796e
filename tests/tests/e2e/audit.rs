//! R23: reading a student's personal data or a minor's evidence leaves one audit entry per read; the log is
//! append-only; personal data is sealed at rest.

use reqwest::StatusCode;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _,
};
use server::db::entity::{audit_entry, media_object, student};
use tests::TestServer;

#[tokio::test]
async fn r23_each_student_read_writes_one_audit_entry() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = &server.home.cases[0];
    let mut teacher = server.client("teacher").await?;
    let entries = || {
        audit_entry::Entity::find()
            .filter(audit_entry::Column::EntityId.eq(case.student_id))
            .filter(audit_entry::Column::Action.eq("student.read"))
            .count(&server.state.db.read)
    };
    assert_eq!(entries().await?, 0);
    for n in 1..=3 {
        let detail = teacher.student(case.student_id.into()).await?;
        assert_eq!(detail.id.0, case.student_id);
        assert_eq!(entries().await?, n, "one entry per read");
    }
    let teacher_id = server.home.users[0].1.id;
    let last = audit_entry::Entity::find()
        .filter(audit_entry::Column::EntityId.eq(case.student_id))
        .one(&server.state.db.read)
        .await?
        .expect("entry");
    assert_eq!(last.actor_id, Some(teacher_id));
    assert_eq!(last.client_addr.as_deref(), Some("127.0.0.1"));

    // A refused read (outside the scope) reveals nothing and is not a read.
    let outsider = server.token("b-teacher").await?;
    let r = server
        .get(&format!("/api/v1/students/{}", case.student_id), &outsider)
        .await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(entries().await?, 3);
    // Reading the case list is not a read of personal data.
    teacher.all_cases().await?;
    assert_eq!(entries().await?, 3);
    Ok(())
}

#[tokio::test]
async fn r23_the_audit_log_refuses_updates_and_deletes() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = &server.home.cases[0];
    let count = || audit_entry::Entity::find().count(&server.state.db.read);
    let before = count().await?;
    server
        .client("teacher")
        .await?
        .student(case.student_id.into())
        .await?;
    let db = &server.state.db.write;
    assert!(
        db.execute_unprepared("UPDATE audit_log SET action = 'nothing'")
            .await
            .is_err()
    );
    assert!(
        db.execute_unprepared("DELETE FROM audit_log")
            .await
            .is_err()
    );
    assert_eq!(count().await?, before + 1);
    Ok(())
}

#[tokio::test]
async fn r23_personal_data_is_sealed_at_rest_and_found_by_keyed_hash() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = &server.home.cases[0];
    let detail = server
        .client("supervisor")
        .await?
        .student(case.student_id.into())
        .await?;
    let row = student::Entity::find_by_id(case.student_id)
        .one(&server.state.db.read)
        .await?
        .expect("row");
    for plain in [
        &detail.id_number,
        &detail.household_address,
        &detail.residence_address,
    ] {
        assert!(!row.id_number_enc.contains(plain.as_str()));
        assert!(!row.household_address_enc.contains(plain.as_str()));
        assert!(!row.residence_address_enc.contains(plain.as_str()));
    }
    assert!(!row.id_number_lookup.contains(&detail.id_number));
    let found = student::Entity::find()
        .filter(
            student::Column::IdNumberLookup
                .eq(server.state.sealer.id_number_lookup(&detail.id_number)),
        )
        .all(&server.state.db.read)
        .await?;
    assert_eq!(
        found.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![case.student_id]
    );
    // A sealed value copied onto another student no longer opens: the server refuses, not leaks.
    let other = &server.home.cases[1];
    student::Entity::update_many()
        .col_expr(
            student::Column::IdNumberEnc,
            sea_orm::sea_query::Expr::value(row.id_number_enc.clone()),
        )
        .filter(student::Column::Id.eq(other.student_id))
        .exec(&server.state.db.write)
        .await?;
    let r = server
        .get(
            &format!("/api/v1/students/{}", other.student_id),
            &server.token("admin").await?,
        )
        .await?;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!r.body.text().contains(&detail.id_number));
    Ok(())
}

#[tokio::test]
async fn r23_every_read_of_a_minors_evidence_is_audited() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let token = server.token("teacher").await?;
    let attempt = server.school_attempt().await?;
    let photo = tests::files::jpeg(64, 48);
    let sha = server::digest::sha256_hex(&photo);
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/uploads", server.url))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", photo.len())
        .header(
            "Upload-Metadata",
            tests::tus_metadata("photo", &sha, attempt),
        )
        .header("Content-Type", "application/offset+octet-stream")
        .body(photo)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::CREATED);
    let media = media_object::Entity::find()
        .filter(media_object::Column::Sha256.eq(&sha))
        .one(&server.state.db.read)
        .await?
        .expect("the photo");
    let count = |action: &'static str| {
        audit_entry::Entity::find()
            .filter(audit_entry::Column::Action.eq(action))
            .count(&server.state.db.read)
    };

    for (path, action) in [
        (format!("/api/v1/media/{}", media.id), "evidence.read"),
        (
            format!("/api/v1/media/{}/thumbnail", media.id),
            "evidence.read",
        ),
        (format!("/api/v1/cases/{}", media.case_id), "case.read"),
    ] {
        let before = count(action).await?;
        let r = server.get(&path, &token).await?;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(
            count(action).await?,
            before + 1,
            "{path} is audited as {action}"
        );
    }
    let before = count("sync.pull").await?;
    let request = sync_protocol::sync::PullRequest {
        protocol_version: sync_protocol::sync::PROTOCOL_VERSION,
        cursor: None,
        limit: None,
    };
    let r = server.post("/api/v1/sync/pull", &token, &request).await?;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        count("sync.pull").await?,
        before + 1,
        "a pull of attempts is audited"
    );

    // A read refused by scope reads nothing and is not recorded.
    let outsider = server.token("b-teacher").await?;
    let before = count("evidence.read").await?;
    let r = server
        .get(&format!("/api/v1/media/{}", media.id), &outsider)
        .await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(count("evidence.read").await?, before);
    Ok(())
}

#[tokio::test]
async fn r23_the_free_text_of_attempts_is_sealed_at_rest() -> anyhow::Result<()> {
    use sync_protocol::sync::{AttemptField, Change, Mutation, PROTOCOL_VERSION, PushRequest};
    let server = TestServer::start().await?;
    let token = server.token("teacher").await?;
    let case = server.school_cases().next().cloned().expect("a case");
    let mut new = tests::sample_attempt(case.id.into(), "父亲在外地打工，孩子由奶奶照看");
    new.met_whom = "奶奶（监护人）".into();
    new.guardian_statement = "奶奶说孩子不愿意去学校".into();
    let device = sync_protocol::DeviceId::new();
    let mutation = |change| Mutation {
        id: sync_protocol::MutationId::new(),
        base_version: 1,
        hlc: sync_protocol::hlc::HlcStamp {
            millis: chrono::Utc::now().timestamp_millis(),
            counter: 0,
            device,
        },
        change,
    };
    let push = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        mutations: vec![
            mutation(Change::CreateAttempt {
                attempt: new.clone(),
            }),
            mutation(Change::UpdateAttempt {
                attempt_id: new.id,
                fields: vec![AttemptField::Notes("补记：母亲也同意送回学校".into())],
                add_participants: Vec::new(),
            }),
        ],
    };
    let r = server.post("/api/v1/sync/push", &token, &push).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body.text());

    let stored = server::db::entity::attempt::Entity::find_by_id(new.id.0)
        .one(&server.state.db.read)
        .await?
        .expect("stored");
    let at_rest = format!("{stored:?}");
    for plain in ["奶奶", "打工", "母亲", "不愿意"] {
        assert!(
            !at_rest.contains(plain),
            "`{plain}` in the clear: {at_rest}"
        );
    }
    // The people allowed to read it read it as written.
    let detail = server
        .get(&format!("/api/v1/cases/{}", case.id), &token)
        .await?
        .body
        .json();
    let attempt = detail["attempts"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["id"] == new.id.to_string()))
        .cloned()
        .expect("the attempt");
    assert_eq!(attempt["notes"], "补记：母亲也同意送回学校");
    assert_eq!(attempt["met_whom"], "奶奶（监护人）");
    assert_eq!(attempt["guardian_statement"], "奶奶说孩子不愿意去学校");

    // An edit of the notes made offline earlier loses to the one above: the lost text is kept
    // in a conflict record, sealed too, and a pull opens it.
    let mut earlier = mutation(Change::UpdateAttempt {
        attempt_id: new.id,
        fields: vec![AttemptField::Notes("较早的离线记录：舅舅也在场".into())],
        add_participants: Vec::new(),
    });
    earlier.hlc.millis -= 60_000;
    earlier.hlc.device = sync_protocol::DeviceId::new();
    let push = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        mutations: vec![earlier],
    };
    let r = server.post("/api/v1/sync/push", &token, &push).await?;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body.text());
    let kept = server::db::entity::conflict::Entity::find()
        .filter(server::db::entity::conflict::Column::EntityId.eq(new.id.0))
        .all(&server.state.db.read)
        .await?;
    assert!(!kept.is_empty(), "the lost edit is kept");
    for row in &kept {
        assert!(!format!("{row:?}").contains("舅舅"), "{row:?}");
    }
    let pull = sync_protocol::sync::PullRequest {
        protocol_version: PROTOCOL_VERSION,
        cursor: None,
        limit: Some(2000),
    };
    let page = server.post("/api/v1/sync/pull", &token, &pull).await?;
    assert!(
        page.body.text().contains("舅舅"),
        "the pull opens the kept value"
    );
    Ok(())
}
