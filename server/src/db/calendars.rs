//! Queries on the holiday schedules an administrator loaded (`work_calendars`, one row a year).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait as _, QueryOrder as _, QuerySelect as _, Set};
use uuid::Uuid;

use crate::db::entity::work_calendar;

/// Each stored year with when it was loaded, by year.
pub async fn marks(db: &impl ConnectionTrait) -> Result<Vec<(i32, DateTime<Utc>)>, DbErr> {
    work_calendar::Entity::find()
        .select_only()
        .column(work_calendar::Column::Year)
        .column(work_calendar::Column::LoadedAt)
        .order_by_asc(work_calendar::Column::Year)
        .into_tuple()
        .all(db)
        .await
}

/// Every stored schedule, by year.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<work_calendar::Model>, DbErr> {
    work_calendar::Entity::find()
        .order_by_asc(work_calendar::Column::Year)
        .all(db)
        .await
}

/// Stores the schedule of `year` (`json`, from `source`), replacing the year's last one.
pub async fn save(
    db: &impl ConnectionTrait,
    year: i32,
    source: String,
    json: String,
    loaded_by: Option<Uuid>,
) -> Result<(), DbErr> {
    work_calendar::Entity::insert(work_calendar::ActiveModel {
        year: Set(year),
        source: Set(source),
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
    .await
    .map(|_| ())
}
