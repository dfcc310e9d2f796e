//! The working-day calendar over HTTP: which years have a holiday schedule, an administrator
//! loading one (checked, stored, audited, used at once), and everyone else refused; two servers
//! on one database that behave as one.

use chrono::NaiveDate;
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use server::db::entity::{audit_entry, work_calendar};
use sync_protocol::DeviceId;
use sync_protocol::calendar::{CalendarYears, HolidayRange, YearSchedule};
use sync_protocol::sync::{
    Change, PROTOCOL_VERSION, PullRequest, PullResponse, PushRequest, PushResponse,
};
use tests::TestServer;

/// The 2027 schedule as an administrator would type it (dates made up for the test: the State
/// Council had not published 2027 when this was written).
fn schedule_2027() -> YearSchedule {
    let day = |m, d| NaiveDate::from_ymd_opt(2027, m, d).unwrap_or_default();
    YearSchedule {
        year: 2027,
        source: "test schedule".into(),
        holidays: vec![HolidayRange {
            first: day(2, 5),
            last: day(2, 12),
        }],
        adjusted_working_days: vec![day(2, 13)],
    }
}

async fn put(
    server: &TestServer,
    token: &str,
    year: i32,
    body: &YearSchedule,
) -> anyhow::Result<tests::Raw> {
    server
        .request(
            Method::PUT,
            &format!("/api/v1/calendars/{year}"),
            Some(token),
            Some(("application/json", serde_json::to_vec(body)?)),
        )
        .await
}

#[tokio::test]
async fn an_administrator_loads_a_year_and_working_days_count_with_it() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let teacher = server.token("teacher").await?;
    let listed = server.get("/api/v1/calendars", &teacher).await?;
    assert_eq!(listed.status, StatusCode::OK);
    let years: Vec<i32> = listed
        .body
        .parse::<CalendarYears>()?
        .years
        .iter()
        .map(|y| y.year)
        .collect();
    assert!(years.contains(&2025) && years.contains(&2026), "{years:?}");
    assert!(!years.contains(&2027));

    // Only an administrator loads one.
    let refused = put(&server, &teacher, 2027, &schedule_2027()).await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(refused.body.json()["code"], "forbidden");

    let admin = server.token("admin").await?;
    // A schedule for another year than the address, or one that does not hold together.
    let elsewhere = put(&server, &admin, 2028, &schedule_2027()).await?;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
    assert_eq!(elsewhere.body.json()["code"], "invalid_parameter");
    let mut monday = schedule_2027();
    monday.adjusted_working_days = NaiveDate::from_ymd_opt(2027, 3, 1).into_iter().collect();
    let bad = put(&server, &admin, 2027, &monday).await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.json()["detail"]
            .as_str()
            .unwrap_or("")
            .contains("2027-03-01")
    );
    assert!(
        work_calendar::Entity::find()
            .all(&server.state.db.read)
            .await?
            .is_empty(),
        "nothing refused was stored"
    );

    let loaded = put(&server, &admin, 2027, &schedule_2027()).await?;
    assert_eq!(loaded.status, StatusCode::NO_CONTENT);
    let listed: CalendarYears = server
        .get("/api/v1/calendars", &teacher)
        .await?
        .body
        .parse()?;
    assert!(listed.years.iter().any(|y| y.year == 2027), "{listed:?}");
    assert!(!listed.missing.contains(&2027));

    // Used at once, kept for the next start, and audited.
    let date =
        |m, d| chrono::NaiveDate::from_ymd_opt(2027, m, d).ok_or_else(|| anyhow::anyhow!("date"));
    assert_eq!(
        server.state.calendar().await?.is_working_day(date(2, 13)?),
        Ok(true)
    );
    assert_eq!(
        server.state.calendar().await?.is_working_day(date(2, 8)?),
        Ok(false)
    );
    let (reloaded, _) = server::calendar::store::load_all(&server.state.db.read).await?;
    assert_eq!(
        reloaded.add_working_days(date(2, 4)?, 2),
        Ok(date(2, 15)?),
        "Thu 4 Feb + 2 working days: Sat 13 (adjusted), Mon 15"
    );
    let audited = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("calendar.load"))
        .all(&server.state.db.read)
        .await?;
    assert_eq!(audited.len(), 1);
    Ok(())
}

#[tokio::test]
async fn two_servers_on_one_database_behave_as_one() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let other = server.another_instance().await?;
    let on_other = |path: &str| format!("{}{path}", other.url);
    let http = reqwest::Client::new();

    // A schedule loaded through one server counts on the other at once.
    let admin = server.token("admin").await?;
    let loaded = put(&server, &admin, 2027, &schedule_2027()).await?;
    assert_eq!(
        loaded.status,
        StatusCode::NO_CONTENT,
        "{}",
        loaded.body.text()
    );
    let years: serde_json::Value = http
        .get(on_other("/api/v1/calendars"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    assert!(
        years["years"]
            .as_array()
            .is_some_and(|ys| ys.iter().any(|y| y["year"] == 2027)),
        "the other server does not know the 2027 schedule: {years}"
    );

    // An account disabled through one server is refused by the other at once.
    let teacher = server
        .client("teacher")
        .await?
        .session()
        .expect("signed in")
        .clone();
    let r = server
        .post(
            &format!("/api/v1/users/{}/disable", teacher.user.id),
            &admin,
            &(),
        )
        .await?;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = http
        .get(on_other("/api/v1/cases"))
        .bearer_auth(&teacher.access_token)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // A push answered by one server is answered the same by the other, applied once; a cursor
    // of one is good on the other; scope is the same on both.
    let lead = server.token("school_lead").await?;
    let case = server.school_cases().next().cloned().expect("a case");
    let push = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        mutations: vec![tests::mutation(
            DeviceId::new(),
            0,
            Change::CreateAttempt {
                attempt: tests::sample_attempt(case.id.into(), "两台服务器"),
            },
        )],
    };
    let first = server.post("/api/v1/sync/push", &lead, &push).await?;
    let again: PushResponse = http
        .post(on_other("/api/v1/sync/push"))
        .bearer_auth(&lead)
        .json(&push)
        .send()
        .await?
        .json()
        .await?;
    let first: PushResponse = serde_json::from_slice(&first.body.0)?;
    assert_eq!(first.results, again.results);
    let pull = |cursor: Option<String>| PullRequest {
        protocol_version: PROTOCOL_VERSION,
        cursor,
        limit: None,
    };
    let mut cursor = None;
    loop {
        let page: PullResponse = serde_json::from_slice(
            &server
                .post("/api/v1/sync/pull", &lead, &pull(cursor))
                .await?
                .body
                .0,
        )?;
        cursor = Some(page.cursor);
        if !page.more {
            break;
        }
    }
    let rest: PullResponse = http
        .post(on_other("/api/v1/sync/pull"))
        .bearer_auth(&lead)
        .json(&pull(cursor))
        .send()
        .await?
        .json()
        .await?;
    assert!(rest.records.is_empty(), "{:?}", rest.records);
    let foreign = &server.other.cases[0];
    let r = http
        .get(on_other(&format!("/api/v1/cases/{}", foreign.id)))
        .bearer_auth(&lead)
        .send()
        .await?;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    Ok(())
}
