//! The working-day calendar over HTTP: which years have a holiday schedule, an administrator
//! loading one (checked, stored, audited, used at once), and everyone else refused.

use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use serde_json::json;
use server::db::entity::{audit_entry, work_calendar};
use tests::TestServer;

/// The 2027 schedule as an administrator would type it (dates made up for the test: the State
/// Council had not published 2027 when this was written).
fn schedule_2027() -> serde_json::Value {
    json!({
        "year": 2027,
        "source": "test schedule",
        "holidays": [{ "first": "2027-02-05", "last": "2027-02-12" }],
        "adjusted_working_days": ["2027-02-13"]
    })
}

async fn put(
    server: &TestServer,
    token: &str,
    year: i32,
    body: &serde_json::Value,
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
    let years: Vec<i64> = listed.body.json()["years"]
        .as_array()
        .map(|ys| ys.iter().filter_map(|y| y["year"].as_i64()).collect())
        .unwrap_or_default();
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
    monday["adjusted_working_days"] = json!(["2027-03-01"]);
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
    let listed = server.get("/api/v1/calendars", &teacher).await?.body.json();
    assert!(
        listed["years"]
            .as_array()
            .is_some_and(|ys| ys.iter().any(|y| y["year"] == 2027)),
        "{listed}"
    );
    assert!(
        !listed["missing"]
            .as_array()
            .is_some_and(|m| m.contains(&json!(2027)))
    );

    // Used at once, kept for the next start, and audited.
    let date =
        |m, d| chrono::NaiveDate::from_ymd_opt(2027, m, d).ok_or_else(|| anyhow::anyhow!("date"));
    assert_eq!(
        server.state.calendar().is_working_day(date(2, 13)?),
        Ok(true)
    );
    assert_eq!(
        server.state.calendar().is_working_day(date(2, 8)?),
        Ok(false)
    );
    let reloaded = server::calendar::store::load_all(&server.state.db.read).await?;
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
