//! The start-of-year comparison of the roll with the household register (R6), through the real
//! server: children of school age on no roll are listed for the township they live in, sealed;
//! the others are told apart; nobody else sees the list.

use sea_orm::EntityTrait as _;
use server::db::entity::{student, unenrolled_child};
use sync_protocol::org::Role;
use sync_protocol::students::{ComparisonReport, RegisteredChild, RollComparison, UnenrolledChild};
use tests::TestServer;

/// A child of the register, born on `born` (`YYYY-MM-DD`), living in `village`.
fn child(name: &str, born: &str, id_number: &str, village: uuid::Uuid) -> RegisteredChild {
    RegisteredChild {
        name: name.to_owned(),
        birth_date: born.parse().unwrap_or_default(),
        id_number: id_number.to_owned(),
        village_id: village.into(),
    }
}

/// A comparison of `children` as of the 2026 school year's start.
fn comparison(children: Vec<RegisteredChild>) -> RollComparison {
    RollComparison {
        as_of: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap_or_default(),
        children,
    }
}

#[tokio::test]
async fn r06_children_on_no_roll_are_routed_to_the_township_they_live_in() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let pupil = student::Entity::find()
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a student"))?;
    let pupil_id_number = server.id_number_of(&pupil)?;
    let mine = &server.home.townships[0];
    let theirs = &server.home.townships[1];
    let body = comparison(vec![
        child(
            &pupil.name,
            &pupil.birth_date.to_string(),
            &pupil_id_number,
            mine.villages[0].id,
        ),
        child(
            "王小虎",
            "2016-03-02",
            "520102201603020011",
            mine.villages[0].id,
        ),
        child(
            "李小花",
            "2014-07-15",
            "520102201407150022",
            theirs.villages[0].id,
        ),
        child(
            "张大山",
            "2006-01-01",
            "520102200601010033",
            mine.villages[0].id,
        ),
        child(
            "赵小宝",
            "2021-01-01",
            "520102202101010044",
            mine.villages[0].id,
        ),
    ]);
    let supervisor = server.token("supervisor").await?;
    let r = server
        .post("/api/v1/roll-comparisons", &supervisor, &body)
        .await?;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body.text());
    let report: ComparisonReport = r.body.parse()?;
    assert_eq!(
        (
            report.children,
            report.on_roll,
            report.out_of_age,
            report.already_listed,
        ),
        (5, 1, 2, 0),
        "{report:?}"
    );
    let listed: Vec<(String, uuid::Uuid)> = report
        .unenrolled
        .into_iter()
        .map(|c| (c.name, c.township_id))
        .collect();
    assert_eq!(
        listed,
        [
            ("王小虎".to_owned(), mine.unit.id),
            ("李小花".to_owned(), theirs.unit.id),
        ]
    );
    // The ID numbers are sealed at rest and never sent back; the names are sealed at rest (R23).
    assert!(!r.body.text().contains("520102201603020011"));
    for row in unenrolled_child::Entity::find()
        .all(&server.state.db.read)
        .await?
    {
        assert!(!row.id_number_enc.contains("5201022"));
        for name in ["王小虎", "李小花"] {
            assert!(
                !format!("{row:?}").contains(name),
                "a child's name in the clear: {row:?}"
            );
        }
    }

    // A second comparison lists nobody twice.
    let again: ComparisonReport = server
        .post("/api/v1/roll-comparisons", &supervisor, &body)
        .await?
        .body
        .parse()?;
    assert_eq!(again.already_listed, 2);
    assert!(again.unenrolled.is_empty());

    // Each township sees its own; schools and other districts see none.
    let officer = server.token("township_officer").await?;
    let theirs_list: Vec<UnenrolledChild> = server
        .get("/api/v1/unenrolled-children", &officer)
        .await?
        .body
        .parse()?;
    let names: Vec<&str> = theirs_list.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["王小虎"]);
    let outsider: Vec<UnenrolledChild> = server
        .get(
            "/api/v1/unenrolled-children",
            &server.token("b-supervisor").await?,
        )
        .await?
        .body
        .parse()?;
    assert!(outsider.is_empty());
    let teacher = server.token("teacher").await?;
    assert_eq!(
        server
            .get("/api/v1/unenrolled-children", &teacher)
            .await?
            .status,
        reqwest::StatusCode::FORBIDDEN
    );
    assert_eq!(
        server
            .post("/api/v1/roll-comparisons", &officer, &body)
            .await?
            .status,
        reqwest::StatusCode::FORBIDDEN
    );

    // A village of another district is refused, naming the child.
    let foreign = comparison(vec![child(
        "钱小二",
        "2015-05-05",
        "520102201505050055",
        server.other.townships[0].villages[0].id,
    )]);
    let r = server
        .post("/api/v1/roll-comparisons", &supervisor, &foreign)
        .await?;
    assert!(r.is_client_problem());
    assert!(r.body.text().contains("钱小二"), "{}", r.body.text());
    Ok(())
}

#[tokio::test]
async fn r06_a_comparison_learns_nothing_of_another_districts_roll_or_list() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    // A pupil on the other district's roll, in this district's register extract.
    let theirs = student::Entity::find_by_id(server.other.cases[0].student_id)
        .one(&server.state.db.read)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a student of the other district"))?;
    let id_number = server.id_number_of(&theirs)?;
    let body = |village: uuid::Uuid| {
        let born = theirs.birth_date.to_string();
        comparison(vec![child(&theirs.name, &born, &id_number, village)])
    };
    let counts = |r: &tests::Raw| -> anyhow::Result<(u64, u64, usize)> {
        let report: ComparisonReport = r.body.parse()?;
        Ok((
            report.on_roll,
            report.already_listed,
            report.unenrolled.len(),
        ))
    };
    let here = server.token("supervisor").await?;
    let r = server
        .post(
            "/api/v1/roll-comparisons",
            &here,
            &body(server.home.townships[0].villages[0].id),
        )
        .await?;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body.text());
    assert_eq!(
        counts(&r)?,
        (0, 0, 1),
        "another district's roll is not this district's to learn"
    );

    // A child on no roll, listed here first, is listed by the other district too: our list
    // does not hide it from theirs.
    let nobody = |village: uuid::Uuid| {
        comparison(vec![child(
            "孙小燕",
            "2015-05-05",
            "520102201505050066",
            village,
        )])
    };
    let here_village = server.home.townships[0].villages[0].id;
    let r = server
        .post("/api/v1/roll-comparisons", &here, &nobody(here_village))
        .await?;
    assert_eq!(counts(&r)?, (0, 0, 1));
    let there = server
        .token(&TestServer::other_username(Role::Supervisor))
        .await?;
    let other_village = server.other.townships[0].villages[0].id;
    let r = server
        .post("/api/v1/roll-comparisons", &there, &nobody(other_village))
        .await?;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body.text());
    assert_eq!(counts(&r)?, (0, 0, 1));
    Ok(())
}

#[tokio::test]
async fn r23_a_name_stored_in_the_clear_before_is_sealed_at_the_next_start() -> anyhow::Result<()> {
    use sea_orm::ActiveModelTrait as _;
    let server = TestServer::start().await?;
    let township = &server.home.townships[0];
    let id = uuid::Uuid::now_v7();
    let supervisor = &server
        .home
        .users
        .iter()
        .find(|(r, _)| *r == Role::Supervisor)
        .expect("supervisor")
        .1;
    // A row as an older server wrote it: the name in the clear.
    unenrolled_child::ActiveModel {
        id: sea_orm::Set(id),
        district_id: sea_orm::Set(server.home.district.id),
        township_id: sea_orm::Set(township.unit.id),
        village_id: sea_orm::Set(township.villages[0].id),
        name: sea_orm::Set("周小雨".into()),
        birth_date: sea_orm::Set(chrono::NaiveDate::from_ymd_opt(2016, 4, 4).expect("date")),
        id_number_enc: sea_orm::Set(String::new()),
        id_number_lookup: sea_orm::Set("legacy".into()),
        as_of: sea_orm::Set(chrono::NaiveDate::from_ymd_opt(2026, 9, 1).expect("date")),
        found_at: sea_orm::Set(chrono::Utc::now()),
        found_by: sea_orm::Set(supervisor.id),
        name_enc: sea_orm::Set(None),
    }
    .insert(&server.state.db.write)
    .await?;

    let _restarted = server.another_instance().await?;
    let row = unenrolled_child::Entity::find_by_id(id)
        .one(&server.state.db.read)
        .await?
        .expect("the row");
    assert!(!format!("{row:?}").contains("周小雨"), "{row:?}");
    let token = server.token("supervisor").await?;
    let listed = server.get("/api/v1/unenrolled-children", &token).await?;
    assert!(
        listed.body.text().contains("周小雨"),
        "{}",
        listed.body.text()
    );
    Ok(())
}

#[tokio::test]
async fn r07_each_school_reconciles_its_roll_within_two_weeks_of_the_term() -> anyhow::Result<()> {
    use sync_protocol::students::{ReconcileRoll, Reconciliations, SchoolReconciliation};
    let server = TestServer::start().await?;
    let lead = server.token("school_lead").await?;
    let supervisor = server.token("supervisor").await?;
    let path = "/api/v1/roll-reconciliations";

    // The lead sees the school's item, due two weeks after the term's start.
    let mine: Reconciliations = server.get(path, &lead).await?.body.parse()?;
    let school = server.home.users[0].1.org_unit_id;
    assert_eq!(mine.due_on, mine.term_start + chrono::Duration::days(14));
    assert_eq!(mine.schools.len(), 1);
    assert_eq!(mine.schools[0].school_id.0, school);
    let today = server::calendar::china_date(chrono::Utc::now());
    assert_eq!(mine.schools[0].overdue, today > mine.due_on);
    assert!(mine.schools[0].reconciled_at.is_none());

    // The bureau sees every school of the district; a teacher or a village member nothing.
    let all: Reconciliations = server.get(path, &supervisor).await?.body.parse()?;
    assert!(all.schools.len() > 1, "{all:?}");
    assert!(all.schools.iter().any(|s| s.school_id.0 == school));
    for refused in ["teacher", "village_member"] {
        let token = server.token(refused).await?;
        assert_eq!(
            server.get(path, &token).await?.status,
            reqwest::StatusCode::FORBIDDEN,
            "{refused}"
        );
    }

    // Another school's lead cannot confirm this school; a teacher confirms nothing.
    let body = ReconcileRoll {
        school_id: school.into(),
        notes: "转出2人，休学1人，已更新学籍".into(),
    };
    let other = server.token("b-school_lead").await?;
    assert_eq!(
        server.post(path, &other, &body).await?.status,
        reqwest::StatusCode::NOT_FOUND
    );
    let teacher = server.token("teacher").await?;
    assert_eq!(
        server.post(path, &teacher, &body).await?.status,
        reqwest::StatusCode::FORBIDDEN
    );

    // The lead confirms it; the bureau sees who and when; sent again, the first stands.
    let r = server.post(path, &lead, &body).await?;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{}", r.body.text());
    let done: SchoolReconciliation = r.body.parse()?;
    let lead_id = server
        .home
        .users
        .iter()
        .find(|(role, _)| *role == Role::SchoolLead)
        .map(|(_, u)| u.id);
    assert_eq!(done.reconciled_by.map(|u| u.0), lead_id);
    assert!(!done.overdue);
    let again = ReconcileRoll {
        notes: "again".into(),
        ..body
    };
    let second: SchoolReconciliation = server.post(path, &lead, &again).await?.body.parse()?;
    assert_eq!(second.notes, "转出2人，休学1人，已更新学籍");
    let all: Reconciliations = server.get(path, &supervisor).await?.body.parse()?;
    let line = all
        .schools
        .iter()
        .find(|s| s.school_id.0 == school)
        .ok_or_else(|| anyhow::anyhow!("the school"))?;
    assert_eq!(
        (line.reconciled_at, line.overdue),
        (done.reconciled_at, false)
    );
    Ok(())
}
