//! Schedules loaded by an administrator, kept in `work_calendars` and laid over the shipped ones.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait as _, Set};
use uuid::Uuid;

use super::{CalendarError, WorkCalendar, YearSchedule};
use crate::db::entity::work_calendar;

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

/// The shipped schedules with every stored one laid over them.
pub async fn load_all(db: &impl ConnectionTrait) -> Result<WorkCalendar, StoreError> {
    let mut calendar = WorkCalendar::shipped()?;
    for row in work_calendar::Entity::find().all(db).await? {
        let schedule: YearSchedule =
            serde_json::from_str(&row.schedule).map_err(|source| StoreError::Corrupt {
                year: row.year,
                source,
            })?;
        calendar.load(schedule)?;
    }
    Ok(calendar)
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
    work_calendar::Entity::insert(work_calendar::ActiveModel {
        year: Set(schedule.year),
        source: Set(schedule.source.clone()),
        schedule: Set(json),
        loaded_at: Set(Utc::now()),
        loaded_by: Set(loaded_by),
    })
    .on_conflict(
        OnConflict::column(work_calendar::Column::Year)
            .update_columns([
                work_calendar::Column::Source,
                work_calendar::Column::Schedule,
                work_calendar::Column::LoadedAt,
                work_calendar::Column::LoadedBy,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}
