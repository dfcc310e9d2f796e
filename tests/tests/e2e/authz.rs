//! The authorization matrix: every role × every read endpoint × (own scope, foreign scope), and
//! every role × every write on records it sees. A record outside the caller's scope answers
//! exactly like one that does not exist (R23).

use std::collections::BTreeSet;

use reqwest::StatusCode;
use server::db::entity::{case, user};
use sync_protocol::DocumentId;
use sync_protocol::cases::{Participant, ReasonCategory};
use sync_protocol::evidence::DocumentType;
use sync_protocol::org::{OrgUnitKind, Role};
use sync_protocol::sync::{
    AttemptField, CaseField, Change, DocumentField, MutationOutcome, NewDocument, RejectCode,
};
use tests::TestServer;
use uuid::Uuid;

/// Whether `case` is inside the scope of `user` (computed from the fixtures, not by the server).
fn in_scope(user: &user::Model, role: Role, case: &case::Model) -> bool {
    let unit = user.org_unit_id;
    match role.org_unit_kind() {
        OrgUnitKind::School => case.school_id == unit,
        OrgUnitKind::Village => case.village_id == unit,
        OrgUnitKind::Township => case.township_id == unit,
        OrgUnitKind::District => case.district_id == unit,
    }
}

/// The detail endpoints of a case: the case itself and its student.
fn detail_paths(case: &case::Model) -> [String; 2] {
    [
        format!("/api/v1/cases/{}", case.id),
        format!("/api/v1/students/{}", case.student_id),
    ]
}

#[tokio::test]
async fn r23_every_role_sees_its_scope_and_nothing_else() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let all_cases: Vec<&case::Model> = server
        .home
        .cases
        .iter()
        .chain(&server.other.cases)
        .collect();
    // What a record that does not exist looks like, per endpoint.
    let admin = server.token("admin").await?;
    let mut missing = Vec::new();
    for path in ["/api/v1/cases/", "/api/v1/students/"] {
        let r = server
            .get(&format!("{path}{}", Uuid::now_v7()), &admin)
            .await?;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        missing.push((path, r.body.text()));
    }
    let missing_body = |path: &str| {
        missing
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix))
            .map(|(_, body)| body.clone())
    };

    for (role, user) in &server.home.users {
        let token = server.token(&user.username).await?;
        let (own, foreign): (Vec<&case::Model>, Vec<&case::Model>) =
            all_cases.iter().partition(|c| in_scope(user, *role, c));
        assert!(
            !own.is_empty(),
            "{role:?} has cases in scope in the fixtures"
        );
        assert!(
            !foreign.is_empty(),
            "{role:?} has cases out of scope in the fixtures"
        );
        if role.org_unit_kind() != OrgUnitKind::District {
            assert!(
                foreign
                    .iter()
                    .any(|c| c.district_id == server.home.district.id),
                "{role:?}: foreign cases include some of its own district"
            );
        }

        // The list holds exactly the cases in scope, across pages.
        let mut listed = BTreeSet::new();
        let mut after = String::new();
        loop {
            let page = server
                .get(&format!("/api/v1/cases?limit=7{after}"), &token)
                .await?;
            assert_eq!(page.status, StatusCode::OK, "{role:?} list");
            let body = page.body.json();
            for item in body["items"].as_array().expect("items") {
                listed.insert(item["id"].as_str().expect("id").to_owned());
            }
            match body["next_after"].as_str() {
                Some(next) => after = format!("&after={next}"),
                None => break,
            }
        }
        let expected: BTreeSet<String> = own.iter().map(|c| c.id.to_string()).collect();
        assert_eq!(listed, expected, "{role:?} lists exactly its scope");

        for case in &own {
            for path in detail_paths(case) {
                let r = server.get(&path, &token).await?;
                assert_eq!(r.status, StatusCode::OK, "{role:?} reads own {path}");
            }
        }
        for case in &foreign {
            for path in detail_paths(case) {
                let r = server.get(&path, &token).await?;
                assert_eq!(
                    r.status,
                    StatusCode::NOT_FOUND,
                    "{role:?} must not read foreign {path}"
                );
                assert_eq!(
                    Some(r.body.text()),
                    missing_body(&path),
                    "same answer as a missing record"
                );
                assert!(!r.body.text().contains(&case.id.to_string()));
                assert!(!r.body.text().contains(&case.student_id.to_string()));
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_read_endpoint_needs_a_token() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let case = &server.home.cases[0];
    let mut paths = detail_paths(case).to_vec();
    paths.push("/api/v1/cases".into());
    for path in paths {
        let r = server
            .request(reqwest::Method::GET, &path, None, None)
            .await?;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(r.is_client_problem(), "{path}: {}", r.body.text());
        assert_eq!(r.body.json()["code"], "unauthenticated");
    }
    Ok(())
}

#[tokio::test]
async fn list_filters_stay_inside_the_scope() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let token = server.token("teacher").await?;
    // Asking for another district's school by filter still returns nothing of it.
    let foreign_school = server.other.townships[0].schools[0].id;
    let r = server
        .get(&format!("/api/v1/cases?school_id={foreign_school}"), &token)
        .await?;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.json()["items"].as_array().map(Vec::len), Some(0));
    // A status filter returns only that status.
    let r = server
        .get(
            "/api/v1/cases?status=reported",
            &server.token("supervisor").await?,
        )
        .await?;
    let items = r.body.json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!items.is_empty());
    assert!(items.iter().all(|c| c["status"] == "reported"));
    Ok(())
}

/// Pushes one mutation as the holder of `token`: `None` if it was applied, else the refusal.
async fn push_one(
    server: &TestServer,
    token: &str,
    change: Change,
) -> anyhow::Result<Option<RejectCode>> {
    Ok(match server.push_one(token, change).await? {
        MutationOutcome::Applied { .. } => None,
        MutationOutcome::Rejected { code, .. } => Some(code),
    })
}

#[tokio::test]
async fn every_role_writes_only_what_its_role_may_on_the_records_it_sees() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let home = &server.home;
    let case = home
        .cases
        .iter()
        .find(|c| home.users.iter().all(|(role, u)| in_scope(u, *role, c)))
        .expect("a case every local account sees");
    let lead = home
        .users
        .iter()
        .find(|(role, _)| *role == Role::SchoolLead)
        .map(|(_, u)| u.id)
        .expect("a school lead");

    // The teacher's attempt, with the school lead listed as a participant, and a document.
    let teacher = server.token("teacher").await?;
    let mut attempt = tests::sample_attempt(case.id.into(), "老师的记录");
    attempt.participants.push(Participant {
        user_id: Some(lead.into()),
        name: "校长".into(),
        unit: "学校".into(),
        department: None,
    });
    let document = NewDocument {
        id: DocumentId::new(),
        case_id: case.id.into(),
        doc_type: DocumentType::ReturnNotice,
        title: "限期返校通知书".into(),
        issued_by: "青山镇人民政府".into(),
        issued_on: None,
        notes: String::new(),
    };
    for change in [
        Change::CreateAttempt {
            attempt: attempt.clone(),
        },
        Change::CreateDocument {
            document: document.clone(),
        },
    ] {
        assert_eq!(push_one(&server, &teacher, change).await?, None);
    }

    let forbidden = |allowed: bool| (!allowed).then_some(RejectCode::Forbidden);
    for (role, user) in &home.users {
        let token = server.token(&user.username).await?;
        let role = *role;
        let records = role != Role::Admin;
        let new = tests::sample_attempt(case.id.into(), role.as_str());
        let got = push_one(&server, &token, Change::CreateAttempt { attempt: new }).await?;
        assert_eq!(got, forbidden(records), "{role:?} records an attempt");

        let rewrite = Change::UpdateAttempt {
            attempt_id: attempt.id,
            fields: vec![AttemptField::Notes(format!("{role:?} 改写"))],
            add_participants: Vec::new(),
        };
        let author_or_there = matches!(role, Role::Teacher | Role::SchoolLead);
        let got = push_one(&server, &token, rewrite).await?;
        assert_eq!(
            got,
            forbidden(author_or_there),
            "{role:?} edits the teacher's attempt"
        );

        let mut own_document = document.clone();
        own_document.id = DocumentId::new();
        let got = push_one(
            &server,
            &token,
            Change::CreateDocument {
                document: own_document,
            },
        )
        .await?;
        assert_eq!(got, forbidden(records), "{role:?} records a document");
        let rewrite = Change::UpdateDocument {
            document_id: document.id,
            fields: vec![DocumentField::Notes(format!("{role:?} 改写"))],
        };
        let got = push_one(&server, &token, rewrite).await?;
        assert_eq!(
            got,
            forbidden(role == Role::Teacher),
            "{role:?} edits the teacher's document"
        );

        let case_fields = !matches!(role, Role::VillageMember | Role::Admin);
        let reason = Change::UpdateCase {
            case_id: case.id.into(),
            fields: vec![CaseField::Reason(ReasonCategory::Poverty)],
        };
        let got = push_one(&server, &token, reason).await?;
        assert_eq!(got, forbidden(case_fields), "{role:?} edits the case");
        let reason = [CaseField::Reason(ReasonCategory::Illness)];
        let r = server.patch_case(&token, case.id.into(), &reason).await?;
        let expected = if case_fields {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(
            r.status,
            expected,
            "{role:?} PATCHes the case: {}",
            r.body.text()
        );
    }
    Ok(())
}
