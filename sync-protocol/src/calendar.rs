//! The working-day calendar as the API carries it: a year's holiday schedule, as the State
//! Council's general office publishes it (`PUT /api/v1/calendars/{year}`, and the files the
//! server ships), and which years are loaded (`GET /api/v1/calendars`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One year's published schedule, as the JSON files and the API carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct YearSchedule {
    /// The year.
    pub year: i32,
    /// The notice it comes from (title, number, date).
    pub source: String,
    /// Days off; weekend days inside a range count too.
    pub holidays: Vec<HolidayRange>,
    /// Weekend days that are working days (调休上班).
    pub adjusted_working_days: Vec<NaiveDate>,
}

/// Consecutive days off, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HolidayRange {
    /// The first day off.
    pub first: NaiveDate,
    /// The last day off.
    pub last: NaiveDate,
}

/// A year with a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoadedYear {
    /// The year.
    pub year: i32,
    /// The notice its schedule comes from.
    pub source: String,
}

/// The years with a schedule, and the years deadlines may need that have none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CalendarYears {
    /// Years loaded, oldest first.
    pub years: Vec<LoadedYear>,
    /// Years without a schedule that deadlines counted from today may fall in: working days
    /// cannot be counted there until one is loaded.
    pub missing: Vec<i32>,
}
