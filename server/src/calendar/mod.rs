//! The working-day calendar deadlines are counted in (DOMAIN.md: 工作日): Monday to Friday, less
//! statutory holidays, plus the weekend days made working days by adjustment (调休). Each year's
//! schedule is published by the State Council's general office; the project ships the schedules
//! it can cite (`server/calendars/cn-<year>.json`) and more are loaded per year. A date in a year
//! with no schedule is an error ([`CalendarError::YearNotLoaded`]), never a weekend-only guess.
//! Schedules loaded by an administrator (`PUT /api/v1/calendars/{year}`, or `server calendar
//! load FILE`) are kept in the database ([`store`]) and override the shipped ones.

pub mod routes;
pub mod store;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike as _, NaiveDate, Weekday};
use sync_protocol::calendar::{HolidayRange, YearSchedule};

pub use sync_protocol::calendar::{CHINA_OFFSET_SECS, china_date};

/// Age in whole years on `day` of someone born on `birth`.
pub fn age_on(birth: NaiveDate, day: NaiveDate) -> i32 {
    let had_birthday = (day.month(), day.day()) >= (birth.month(), birth.day());
    day.year() - birth.year() - i32::from(!had_birthday)
}

/// The day a child born on `birth` leaves compulsory education over-age (超龄离校, R15–R17):
/// the end of the school year (31 August) in which they turn `years`.
pub fn over_age_on(birth: NaiveDate, years: u32) -> Option<NaiveDate> {
    let turns = birth.checked_add_months(chrono::Months::new(12 * years))?;
    let ends = if turns.month() >= 9 {
        turns.year() + 1
    } else {
        turns.year()
    };
    NaiveDate::from_ymd_opt(ends, 8, 31)
}

/// The schedules shipped with the project.
const SHIPPED: [&str; 2] = [
    include_str!("../../calendars/cn-2025.json"),
    include_str!("../../calendars/cn-2026.json"),
];

/// What the calendar refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// No schedule is loaded for the year: working days cannot be counted in it.
    #[error(
        "no holiday schedule is loaded for {0}; load the State Council's schedule for that year"
    )]
    YearNotLoaded(i32),
    /// A schedule does not hold together.
    #[error("the {year} schedule is not valid: {reason}")]
    Invalid {
        /// The schedule's year.
        year: i32,
        /// What is wrong.
        reason: String,
    },
}

/// The loaded schedules.
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    years: BTreeMap<i32, Year>,
}

#[derive(Debug, Clone)]
struct Year {
    source: String,
    holidays: BTreeSet<NaiveDate>,
    adjusted_working_days: BTreeSet<NaiveDate>,
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

impl WorkCalendar {
    /// The schedules shipped with the project.
    pub fn shipped() -> Result<Self, CalendarError> {
        let mut calendar = Self::default();
        for text in SHIPPED {
            let schedule: YearSchedule =
                serde_json::from_str(text).map_err(|e| CalendarError::Invalid {
                    year: 0,
                    reason: format!("a shipped schedule does not parse: {e}"),
                })?;
            calendar.load(schedule)?;
        }
        Ok(calendar)
    }

    /// Loads (or replaces) a year's schedule after checking it: every date in its year, ranges in
    /// order, adjusted working days on weekends and outside the holidays.
    pub fn load(&mut self, schedule: YearSchedule) -> Result<(), CalendarError> {
        let year = schedule.year;
        let invalid = |reason: String| CalendarError::Invalid { year, reason };
        let mut holidays = BTreeSet::new();
        for HolidayRange { first, last } in &schedule.holidays {
            if first.year() != year || last.year() != year || first > last {
                return Err(invalid(format!("holiday range {first}–{last}")));
            }
            holidays.extend(first.iter_days().take_while(|d| d <= last));
        }
        let mut adjusted_working_days = BTreeSet::new();
        for day in &schedule.adjusted_working_days {
            if day.year() != year || !is_weekend(*day) || holidays.contains(day) {
                return Err(invalid(format!(
                    "{day} cannot be an adjusted working day (not a weekend day of {year}, or a holiday)"
                )));
            }
            adjusted_working_days.insert(*day);
        }
        self.years.insert(
            year,
            Year {
                source: schedule.source,
                holidays,
                adjusted_working_days,
            },
        );
        Ok(())
    }

    /// The years deadlines counted from `today` may fall in that have no schedule: this year, and
    /// from December the next (a schedule is published in November).
    pub fn missing(&self, today: NaiveDate) -> Vec<i32> {
        let year = today.year();
        let needed = if today.month() == 12 {
            vec![year, year + 1]
        } else {
            vec![year]
        };
        needed
            .into_iter()
            .filter(|y| !self.years.contains_key(y))
            .collect()
    }

    /// The years loaded, with the notice each comes from.
    pub fn years(&self) -> impl Iterator<Item = (i32, &str)> {
        self.years
            .iter()
            .map(|(y, year)| (*y, year.source.as_str()))
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        let year = self
            .years
            .get(&date.year())
            .ok_or(CalendarError::YearNotLoaded(date.year()))?;
        Ok(year.adjusted_working_days.contains(&date)
            || (!is_weekend(date) && !year.holidays.contains(&date)))
    }

    /// The `n`th working day after `start` (`start` itself is not counted): the deadline of
    /// something due "within `n` working days" of `start`.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut day = start;
        let mut counted = 0;
        while counted < n {
            day = day
                .succ_opt()
                .ok_or(CalendarError::YearNotLoaded(day.year().saturating_add(1)))?;
            if self.is_working_day(day)? {
                counted += 1;
            }
        }
        Ok(day)
    }

    /// Working days after `from` up to and including `to` (0 if `to` is not after `from`).
    pub fn working_days_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<u32, CalendarError> {
        let mut count = 0;
        for day in from.iter_days().skip(1).take_while(|d| *d <= to) {
            if self.is_working_day(day)? {
                count += 1;
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
    }

    fn calendar() -> WorkCalendar {
        WorkCalendar::shipped().expect("the shipped schedules load")
    }

    #[test]
    fn r15_a_child_leaves_over_age_at_the_end_of_the_school_year_they_turn_the_age() {
        // Turning 16 in spring: that school year ends in the summer of the same year.
        assert_eq!(over_age_on(date(2010, 3, 5), 16), Some(date(2026, 8, 31)));
        // Turning 16 on the first day of a school year: it ends the next summer.
        assert_eq!(over_age_on(date(2010, 9, 1), 16), Some(date(2027, 8, 31)));
        assert_eq!(over_age_on(date(2010, 8, 31), 16), Some(date(2026, 8, 31)));
        assert_eq!(over_age_on(date(2012, 2, 29), 15), Some(date(2027, 8, 31)));
    }

    #[test]
    fn r08_ten_working_days_cross_the_spring_festival_and_count_its_adjusted_saturdays() {
        // A case opened on Monday 9 February 2026: Tue–Fri count 4, Saturday the 14th is a
        // working day (5), the festival runs 15–23 February, Tue 24–Fri 27 count 9, and
        // Saturday the 28th, adjusted, is the tenth.
        let calendar = calendar();
        assert_eq!(
            calendar.add_working_days(date(2026, 2, 9), 10),
            Ok(date(2026, 2, 28))
        );
        assert_eq!(
            calendar.working_days_between(date(2026, 2, 9), date(2026, 2, 28)),
            Ok(10)
        );
        assert_eq!(calendar.is_working_day(date(2026, 2, 14)), Ok(true));
        assert_eq!(calendar.is_working_day(date(2026, 2, 16)), Ok(false));
        assert_eq!(
            calendar.is_working_day(date(2026, 2, 21)),
            Ok(false),
            "a Saturday off"
        );
    }

    #[test]
    fn r11_a_notice_served_before_national_day_is_due_five_working_days_later() {
        // Served Monday 29 September 2025: the 30th counts 1, 1–8 October are off, Thu 9 and
        // Fri 10 count 2 and 3, Saturday 11 October is an adjusted working day (4), Monday 13 is 5.
        assert_eq!(
            calendar().add_working_days(date(2025, 9, 29), 5),
            Ok(date(2025, 10, 13))
        );
    }

    #[test]
    fn a_year_without_a_schedule_is_an_error_not_a_guess() {
        let calendar = calendar();
        assert_eq!(
            calendar.is_working_day(date(2027, 3, 1)),
            Err(CalendarError::YearNotLoaded(2027))
        );
        assert_eq!(
            calendar.add_working_days(date(2026, 12, 28), 10),
            Err(CalendarError::YearNotLoaded(2027)),
            "counting into an unloaded year stops"
        );
    }

    #[test]
    fn a_schedule_that_does_not_hold_together_is_refused() {
        let mut calendar = WorkCalendar::default();
        let range = |first, last| HolidayRange { first, last };
        let schedule = |holidays: Vec<HolidayRange>, adjusted: Vec<NaiveDate>| YearSchedule {
            year: 2027,
            source: "test".into(),
            holidays,
            adjusted_working_days: adjusted,
        };
        // An adjusted working day on a Monday (not a weekend day).
        assert!(matches!(
            calendar.load(schedule(vec![], vec![date(2027, 3, 1)])),
            Err(CalendarError::Invalid { year: 2027, .. })
        ));
        // A range in the wrong year, and one backwards.
        assert!(
            calendar
                .load(schedule(
                    vec![range(date(2026, 1, 1), date(2026, 1, 2))],
                    vec![]
                ))
                .is_err()
        );
        assert!(
            calendar
                .load(schedule(
                    vec![range(date(2027, 1, 3), date(2027, 1, 1))],
                    vec![]
                ))
                .is_err()
        );
        assert!(calendar.years().next().is_none(), "nothing was loaded");
    }
}
