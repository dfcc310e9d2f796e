//! What is due on a case, by whom and by when, from its history: plain functions over the
//! ledger, with deadlines in working days ([`WorkCalendar`]). So far the school's stage:
//! R8 (at least three persuasion attempts within 10 working days of the case opening) and R9
//! (the dropout report when the student is still out after that).

use chrono::NaiveDate;
use serde::Serialize;
use sync_protocol::cases::{AttemptKind, CaseStatus};
use sync_protocol::org::Role;
use utoipa::ToSchema;

use crate::calendar::{CalendarError, WorkCalendar};

/// School persuasion attempts R8 asks for.
pub const SCHOOL_ATTEMPTS: u32 = 3;
/// Working days R8 gives the school from the case opening.
pub const SCHOOL_WORKING_DAYS: u32 = 10;

/// What a due item asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DueWhat {
    /// More school persuasion attempts (R8).
    SchoolAttempts {
        /// Recorded so far since the case opened.
        done: u32,
        /// Needed in all.
        needed: u32,
    },
    /// The dropout report to the bureau (R9, 辍学情况报告单).
    DropoutReport,
}

/// One thing due on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DueItem {
    /// The rule (DOMAIN.md) that asks for it.
    pub rule: &'static str,
    /// What is asked.
    pub what: DueWhat,
    /// Who does it.
    pub who: Role,
    /// The last day it is in time.
    pub due_on: NaiveDate,
    /// Whether that day has passed.
    pub overdue: bool,
}

/// What the rules need to know of a case.
#[derive(Debug, Clone, Copy)]
pub struct CaseFacts {
    /// Where it stands.
    pub status: CaseStatus,
    /// When it opened.
    pub opened_on: NaiveDate,
    /// School persuasion attempts (not joint ones) made on or after the opening day.
    pub school_attempts: u32,
}

/// Whether an attempt of `kind` is the school's own (R8), not a joint one (R12).
pub fn is_school_attempt(kind: AttemptKind) -> bool {
    kind != AttemptKind::JointPersuasion
}

/// What is due on a case as of `today`. A deadline in a year without a holiday schedule is an
/// error, not a guess.
pub fn due_items(
    case: CaseFacts,
    calendar: &WorkCalendar,
    today: NaiveDate,
) -> Result<Vec<DueItem>, CalendarError> {
    if !matches!(
        case.status,
        CaseStatus::Suspected | CaseStatus::SchoolPersuasion
    ) {
        return Ok(Vec::new());
    }
    let due_on = calendar.add_working_days(case.opened_on, SCHOOL_WORKING_DAYS)?;
    let overdue = today > due_on;
    let mut items = Vec::new();
    if case.school_attempts < SCHOOL_ATTEMPTS {
        items.push(DueItem {
            rule: "R8",
            what: DueWhat::SchoolAttempts {
                done: case.school_attempts,
                needed: SCHOOL_ATTEMPTS,
            },
            who: Role::Teacher,
            due_on,
            overdue,
        });
    }
    if case.school_attempts >= SCHOOL_ATTEMPTS || overdue {
        items.push(DueItem {
            rule: "R9",
            what: DueWhat::DropoutReport,
            who: Role::SchoolLead,
            due_on,
            overdue,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
    }

    fn facts(status: CaseStatus, school_attempts: u32) -> CaseFacts {
        CaseFacts {
            status,
            opened_on: date(2026, 2, 9),
            school_attempts,
        }
    }

    fn due(case: CaseFacts, today: NaiveDate) -> Vec<DueItem> {
        let calendar = WorkCalendar::shipped().expect("the shipped schedules load");
        due_items(case, &calendar, today).expect("2026 is loaded")
    }

    #[test]
    fn r08_a_new_case_owes_three_school_attempts_within_ten_working_days() {
        let items = due(facts(CaseStatus::Suspected, 1), date(2026, 2, 27));
        assert_eq!(
            items,
            vec![DueItem {
                rule: "R8",
                what: DueWhat::SchoolAttempts { done: 1, needed: 3 },
                who: Role::Teacher,
                due_on: date(2026, 2, 28),
                overdue: false,
            }],
            "the Spring Festival does not count; the adjusted Saturday does"
        );
    }

    #[test]
    fn r08_r09_past_the_deadline_the_attempts_are_overdue_and_the_report_is_due() {
        let items = due(facts(CaseStatus::SchoolPersuasion, 2), date(2026, 3, 2));
        let rules: Vec<(&str, bool)> = items.iter().map(|i| (i.rule, i.overdue)).collect();
        assert_eq!(rules, vec![("R8", true), ("R9", true)]);
    }

    #[test]
    fn r09_three_attempts_done_leave_only_the_report() {
        let items = due(facts(CaseStatus::SchoolPersuasion, 3), date(2026, 2, 20));
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].what, DueWhat::DropoutReport);
        assert_eq!(items[0].who, Role::SchoolLead);
        assert!(!items[0].overdue);
    }

    #[test]
    fn a_reported_case_owes_the_school_nothing_more() {
        assert!(due(facts(CaseStatus::Reported, 0), date(2026, 3, 30)).is_empty());
    }

    #[test]
    fn a_deadline_in_a_year_without_a_schedule_is_an_error() {
        let calendar = WorkCalendar::shipped().expect("the shipped schedules load");
        let late = CaseFacts {
            opened_on: date(2026, 12, 28),
            ..facts(CaseStatus::Suspected, 0)
        };
        assert_eq!(
            due_items(late, &calendar, date(2026, 12, 29)),
            Err(CalendarError::YearNotLoaded(2027))
        );
    }
}
