//! Schedules loaded by an administrator, kept in `work_calendars` and laid over the shipped ones.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use sync_protocol::calendar::YearSchedule;
use uuid::Uuid;

use super::{CalendarError, WorkCalendar};
use crate::db;

/// What loading a calendar can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The schedule does not hold together.
    #[error(transparent)]
    Invalid(#[from] CalendarError),
    /// A stored schedule does not parse (written by something other than this code).
    #[error("the stored schedule for {year} does not parse: {source}")]
    Corrupt {
        /// The year.
        year: i32,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// What tells one set of stored schedules from another: each year with when it was loaded.
pub type Marks = Vec<(i32, DateTime<Utc>)>;

/// The shipped schedules with every stored one laid over them, and the stored ones' marks.
pub async fn load_all(db: &impl ConnectionTrait) -> Result<(WorkCalendar, Marks), StoreError> {
    let mut calendar = WorkCalendar::shipped()?;
    let mut marks = Vec::new();
    for row in db::calendars::all(db).await? {
        marks.push((row.year, row.loaded_at));
        let schedule: YearSchedule =
            serde_json::from_str(&row.schedule).map_err(|source| StoreError::Corrupt {
                year: row.year,
                source,
            })?;
        calendar.load(schedule)?;
    }
    Ok((calendar, marks))
}

/// Checks `schedule` and stores it, replacing the year's last one.
pub async fn save(
    db: &impl ConnectionTrait,
    schedule: &YearSchedule,
    loaded_by: Option<Uuid>,
) -> Result<(), StoreError> {
    WorkCalendar::default().load(schedule.clone())?;
    let json = serde_json::to_string(schedule).map_err(|source| StoreError::Corrupt {
        year: schedule.year,
        source,
    })?;
    let source = schedule.source.clone();
    db::calendars::save(db, schedule.year, source, json, loaded_by).await?;
    Ok(())
}
