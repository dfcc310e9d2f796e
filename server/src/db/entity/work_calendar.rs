//! Holiday schedules loaded by an administrator, one row per year.

use sea_orm::entity::prelude::*;

/// A row of `work_calendars`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "work_calendars")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub year: i32,
    pub source: String,
    /// The schedule as loaded (JSON of `calendar::YearSchedule`).
    pub schedule: String,
    pub loaded_at: DateTimeUtc,
    /// The administrator who loaded it (none from the command line).
    pub loaded_by: Option<Uuid>,
}

/// No relations are declared: queries join explicitly.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
