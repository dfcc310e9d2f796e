//! The working-day calendar as the API carries it: a year's holiday schedule, as the State
//! Council's general office publishes it (`PUT /api/v1/calendars/{year}`, and the files the
//! server ships), and which years are loaded (`GET /api/v1/calendars`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// China Standard Time (UTC+8), in which the ledger's dates are reckoned.
pub const CHINA_OFFSET_SECS: i32 = 8 * 3600;

/// The date in China at the instant `at`.
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    // Total: the last moments chrono can hold have no date in China (a stored value that far
    // must not stop every view of its case); they keep their UTC date.
    at.naive_utc()
        .checked_add_signed(chrono::TimeDelta::seconds(i64::from(CHINA_OFFSET_SECS)))
        .map_or_else(|| at.date_naive(), |local| local.date())
}

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
