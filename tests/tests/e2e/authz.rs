//! The authorization matrix: every role × every read endpoint × (own scope, foreign scope).
//! A record outside the caller's scope answers exactly like one that does not exist (R23).

use std::collections::BTreeSet;

use reqwest::StatusCode;
use server::db::entity::{case, user};
use sync_protocol::org::{OrgUnitKind, Role};
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
