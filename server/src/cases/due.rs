//! What is due on a case, by whom and by when, from its history: plain functions over a
//! [`CaseHistory`], deadlines counted on the working-day calendar ([`WorkCalendar`]).
//!
//! - absence (R2–R5): day 1 the teacher contacts the family; day 2 the academic office visits
//!   with the teacher; day 3 a visit with the village committee; day 5 the suspected-dropout case
//!   opens. Days of absence are school days, counted as working days from the first one.
//! - school persuasion (R8, R9): three attempts within 10 working days of the case opening, then
//!   the report if the child is still out.
//! - joint persuasion (R10, R11, R12): the bureau's letter to the township; the notice within 2
//!   days of the report; the family's deadline 5 working days after the notice; three joint
//!   attempts with the departments the reason calls for (no deadline in the rules).
//! - a family gone to another county (R13): the written notice to the household-register place.
//! - return (R14): a placement plan, then a follow-up visit at least every
//!   [`FOLLOW_UP_EVERY_DAYS`] days (the seeds say "regularly"; a month is this project's choice).
//!
//! The items depend on the history only, not on today, so a phone can keep them: whether an
//! item is overdue is `today > due_on`, judged by whoever shows it.

use chrono::{Duration, NaiveDate};
use sync_protocol::cases::{
    AttemptKind, CaseStatus, ClosureReason, DueItem, DueWhat, JudicialStage, ReasonCategory,
};
use sync_protocol::evidence::DocumentType;
use sync_protocol::org::Role;

use super::history::CaseHistory;
use super::machine::{JOINT_ATTEMPTS, SCHOOL_ATTEMPTS};
use super::{departments, measures};
use crate::calendar::{CalendarError, WorkCalendar};

/// Working days R8 gives the school from the case opening.
pub const SCHOOL_WORKING_DAYS: u32 = 10;
/// Days (calendar) R11 gives the township from the report to serving the notice.
pub const NOTICE_DAYS: i64 = 2;
/// Working days the notice gives the family to bring the child back (R11).
pub const RETURN_WORKING_DAYS: u32 = 5;
/// Days between follow-up visits of a returned student (R14).
pub const FOLLOW_UP_EVERY_DAYS: i64 = 30;

fn item(rule: &str, what: DueWhat, who: Role, due_on: Option<NaiveDate>, hint: String) -> DueItem {
    DueItem {
        rule: rule.to_owned(),
        what,
        who,
        due_on,
        hint,
    }
}

/// What is due on the case of `history`, earliest deadline first (items without a deadline
/// last). A deadline in a year without a holiday schedule is an error, never a guess.
pub fn due_items(
    history: &CaseHistory,
    calendar: &WorkCalendar,
) -> Result<Vec<DueItem>, CalendarError> {
    let mut items = match history.status {
        CaseStatus::Absent => [absence(history, calendar)?, written(history, calendar)?].concat(),
        CaseStatus::Suspected | CaseStatus::SchoolPersuasion if history.began_as_absence() => {
            [school(history, calendar)?, written(history, calendar)?].concat()
        }
        CaseStatus::Suspected | CaseStatus::SchoolPersuasion => school(history, calendar)?,
        CaseStatus::Reported | CaseStatus::JointPersuasion => joint(history, calendar)?,
        CaseStatus::CompulsoryReturn => compulsory_return(history),
        CaseStatus::Deferred => deferred(history),
        CaseStatus::Returned | CaseStatus::VocationalSchool | CaseStatus::FollowUp => {
            follow_up(history)
        }
        CaseStatus::AbsenceEnded | CaseStatus::Excused | CaseStatus::Closed => Vec::new(),
    };
    items.extend(cross_county_notice(history));
    items.sort_by_key(|i| (i.due_on.is_none(), i.due_on));
    Ok(items)
}

/// R13: a family that moved to another county after the dropout: the place the child studied
/// notifies the household-register place in writing, which persuades with the new place.
fn cross_county_notice(h: &CaseHistory) -> Option<DueItem> {
    let persuading = matches!(
        h.status,
        CaseStatus::Suspected
            | CaseStatus::SchoolPersuasion
            | CaseStatus::Reported
            | CaseStatus::JointPersuasion
            | CaseStatus::CompulsoryReturn
    );
    (persuading
        && h.reason == Some(ReasonCategory::MovedAcrossCounty)
        && h.first_document(DocumentType::CrossCountyNotice).is_none())
    .then(|| {
        item(
            "R13",
            DueWhat::CrossCountyNotice,
            Role::Supervisor,
            None,
            "家庭跨县流动：书面通知户籍所在地，由其会同新流入地劝返".into(),
        )
    })
}

/// R2–R5: the first days of an unexcused absence.
fn absence(h: &CaseHistory, calendar: &WorkCalendar) -> Result<Vec<DueItem>, CalendarError> {
    let first = h.opened_on;
    let day = |n: u32| calendar.add_working_days(first, n - 1);
    let kinds = |select: &[AttemptKind]| {
        h.attempts
            .iter()
            .filter(|a| a.on >= first && select.contains(&a.kind))
            .count()
    };
    let mut items = Vec::new();
    if h.attempts_on_or_after(first) == 0 {
        items.push(item(
            "R2",
            DueWhat::ContactFamily,
            Role::Teacher,
            Some(first),
            "当天电话或家访联系家长，核实并记录未到校原因".into(),
        ));
    }
    if kinds(&[AttemptKind::HomeVisit, AttemptKind::CollectiveVisit]) == 0 {
        items.push(item(
            "R3",
            DueWhat::SchoolHomeVisit,
            Role::Teacher,
            Some(day(2)?),
            "教务处与班主任共同家访".into(),
        ));
    }
    if kinds(&[AttemptKind::CollectiveVisit]) == 0 {
        items.push(item(
            "R4",
            DueWhat::CollectiveVisit,
            Role::SchoolLead,
            Some(day(3)?),
            "与村委会成员联合家访，结果报乡镇（街道）".into(),
        ));
    }
    items.push(item(
        "R5",
        DueWhat::OpenSuspectedCase,
        Role::SchoolLead,
        Some(day(5)?),
        "启动疑似辍学排查，落实专人动员劝返".into(),
    ));
    Ok(items)
}

/// R4, R5: what the school puts in writing in the first days of an absence, each due until its
/// document is on the case: the notice to the township and the village committee and the
/// dropout notice the guardian signs (day 3), the report to the bureau with the collective
/// visit's records and photos (day 5; the server generates it), after which the township's
/// judicial office may serve legal documents. Days count from the first day of absence.
fn written(h: &CaseHistory, calendar: &WorkCalendar) -> Result<Vec<DueItem>, CalendarError> {
    let day = |n: u32| calendar.add_working_days(h.opened_on, n - 1);
    let papers = [
        (
            "R4",
            DocumentType::TownshipNotice,
            DueWhat::TownshipNotice,
            Role::SchoolLead,
            3,
            "以书面报告形式告知乡镇（街道）和村委会（社区）",
        ),
        (
            "R4",
            DocumentType::DropoutNotice,
            DueWhat::DropoutNotice,
            Role::Teacher,
            3,
            "填写辍学通报，书面告知家长并由家长签字确认",
        ),
        (
            "R5",
            DocumentType::BureauReport,
            DueWhat::BureauReport,
            Role::SchoolLead,
            5,
            "书面报告（含集体家访资料、照片）报区教体局，乡镇（街道）司法部门可依此发放司法文书",
        ),
    ];
    let mut items = Vec::new();
    for (rule, doc_type, what, who, n, hint) in papers {
        // Papers of the first days count whenever the row moved on (the episode starts later).
        let filed = h
            .documents
            .iter()
            .any(|d| d.doc_type == doc_type && d.on >= h.opened_on);
        if !filed {
            items.push(item(rule, what, who, Some(day(n)?), hint.into()));
        }
    }
    Ok(items)
}

/// R8, R9: the school's persuasion and its report.
fn school(h: &CaseHistory, calendar: &WorkCalendar) -> Result<Vec<DueItem>, CalendarError> {
    let deadline = calendar.add_working_days(h.episode_start(), SCHOOL_WORKING_DAYS)?;
    let done = h.school_attempts();
    let mut items = Vec::new();
    if done < SCHOOL_ATTEMPTS {
        items.push(item(
            "R8",
            DueWhat::SchoolAttempts {
                done,
                needed: SCHOOL_ATTEMPTS,
            },
            Role::Teacher,
            Some(deadline),
            format!("{deadline}前完成不少于{SCHOOL_ATTEMPTS}次劝返（已劝返{done}次）"),
        ));
    }
    items.push(item(
        "R9",
        DueWhat::DropoutReport,
        Role::SchoolLead,
        Some(deadline),
        "劝返无效或失联的，填写《义务教育阶段学生辍学情况报告单》报区教体局".into(),
    ));
    Ok(items)
}

/// R10, R11, R12: the bureau's letter, the notice, the family's deadline, the joint attempts.
fn joint(h: &CaseHistory, calendar: &WorkCalendar) -> Result<Vec<DueItem>, CalendarError> {
    let mut items = Vec::new();
    if h.status == CaseStatus::Reported
        && h.first_document(DocumentType::JointPersuasionRequest)
            .is_none()
    {
        items.push(item(
            "R10",
            DueWhat::JointPersuasionRequest,
            Role::Supervisor,
            None,
            "向乡镇（街道）下发《请求劝返辍学生函》，启动联合劝返".into(),
        ));
    }
    let Some(notice) = h.first_document(DocumentType::ReturnNotice) else {
        let reported = h
            .entered(CaseStatus::Reported)
            .unwrap_or_else(|| h.in_status_since());
        items.push(item(
            "R11",
            DueWhat::ReturnNotice,
            Role::TownshipOfficer,
            reported.checked_add_signed(Duration::days(NOTICE_DAYS)),
            "收到报告单后2日内向监护人送达《限期返校通知书》".into(),
        ));
        return Ok(items);
    };
    let deadline = calendar.add_working_days(notice.on, RETURN_WORKING_DAYS)?;
    items.push(item(
        "R11",
        DueWhat::ReturnDeadline,
        Role::TownshipOfficer,
        Some(deadline),
        format!("监护人须在{deadline}前送学生返校"),
    ));
    let done = h.joint_attempts();
    if h.status == CaseStatus::JointPersuasion && done < JOINT_ATTEMPTS {
        let wanted = h.reason.map(departments::for_reason).unwrap_or_default();
        let joined = h.joint_departments();
        let not_yet_joined: Vec<_> = wanted
            .iter()
            .copied()
            .filter(|d| !joined.contains(d))
            .collect();
        let names: Vec<&str> = wanted.iter().map(|d| departments::name(*d)).collect();
        let with = if names.is_empty() {
            String::new()
        } else {
            format!("联合{}", names.join("、"))
        };
        items.push(item(
            "R12",
            DueWhat::JointAttempts {
                done,
                needed: JOINT_ATTEMPTS,
                departments: wanted.to_vec(),
                not_yet_joined,
            },
            Role::TownshipOfficer,
            None,
            format!("{with}开展联合劝返，不少于{JOINT_ATTEMPTS}次（已{done}次）"),
        ));
    }
    Ok(items)
}

/// The day a month after the last attempt on or after `since` (or after `since` itself, if
/// none): when the next monthly visit is due.
fn a_month_after_the_last_attempt(h: &CaseHistory, since: NaiveDate) -> Option<NaiveDate> {
    let last = h
        .attempts
        .iter()
        .filter(|a| a.on >= since)
        .map(|a| a.on)
        .max()
        .unwrap_or(since);
    last.checked_add_signed(Duration::days(FOLLOW_UP_EVERY_DAYS))
}

/// The rule that deferred or suspended the row: R15, R16, R17 or R19 (7).
fn deferral_rule(h: &CaseHistory) -> &'static str {
    match h.closure_reason {
        Some(ClosureReason::PhysicalCondition) => "R16",
        Some(ClosureReason::PoorHouseholdRefusal) => "R17",
        Some(ClosureReason::DeferredForIllness) => "R19",
        _ => "R15",
    }
}

/// R15–R17, R19 (7): a deferred or suspended child is still persuaded and followed, monthly,
/// until the return or the over-age leaving mark (from its day on, the bureau writes the row
/// off).
fn deferred(h: &CaseHistory) -> Vec<DueItem> {
    let since = h
        .entered(CaseStatus::Deferred)
        .unwrap_or_else(|| h.in_status_since());
    let rule = deferral_rule(h);
    vec![
        item(
            rule,
            DueWhat::KeepPersuading,
            Role::Teacher,
            a_month_after_the_last_attempt(h, since),
            "延缓入学（休学）期间继续劝返复学、跟踪了解情况（每月至少一次）".into(),
        ),
        item(
            rule,
            DueWhat::OverAgeLeaving,
            Role::Supervisor,
            h.over_age_on,
            match h.over_age_on {
                Some(day) => format!("{day}起作超龄离校标注并销号"),
                None => "补录出生日期，以确定超龄离校标注日期".into(),
            },
        ),
    ]
}

/// R20 (2): a compulsory return goes step by step through the courts, with teaching delivered
/// and persuasion kept up, monthly, until the child returns.
fn compulsory_return(h: &CaseHistory) -> Vec<DueItem> {
    let since = h
        .entered(CaseStatus::CompulsoryReturn)
        .unwrap_or_else(|| h.in_status_since());
    let mut items = Vec::new();
    if let Some(step) = measures::next_judicial_step(h) {
        items.push(item(
            "R20",
            DueWhat::JudicialStep { step },
            Role::TownshipOfficer,
            None,
            format!("强制劝返：{}", judicial_step_hint(step)),
        ));
    }
    let (_, last_taught) = measures::teaching(h);
    items.push(item(
        "R20",
        DueWhat::TeachingService,
        Role::Teacher,
        last_taught
            .unwrap_or(since)
            .max(since)
            .checked_add_signed(Duration::days(FOLLOW_UP_EVERY_DAYS)),
        "劝返成功前开展送教服务（每月至少一次，录入送教记录）".into(),
    ));
    items.push(item(
        "R20",
        DueWhat::KeepPersuading,
        Role::Teacher,
        a_month_after_the_last_attempt(h, since),
        "跟进思想教育和劝返引导（每月至少一次）".into(),
    ));
    items
}

/// What the township does next in the judicial procedure, for field staff.
fn judicial_step_hint(step: JudicialStage) -> &'static str {
    match step {
        JudicialStage::Filing => "对拒不送学的监护人启动司法程序",
        JudicialStage::Hearing => "巡回法庭开庭审理，录入庭审记录",
        JudicialStage::Ruling => "录入法院判决裁定",
        JudicialStage::Enforcement => "强制执行，录入执法记录",
    }
}

/// R14: the placement plan and the follow-up visits of a returned student (back at school or
/// placed in a vocational school, R20 (1)).
fn follow_up(h: &CaseHistory) -> Vec<DueItem> {
    let returned = h.returned_on().unwrap_or_else(|| h.in_status_since());
    let mut items = Vec::new();
    if h.first_document(DocumentType::PlacementPlan).is_none() {
        items.push(item(
            "R14",
            DueWhat::PlacementPlan,
            Role::SchoolLead,
            None,
            "制定安置方案（随班就读、单独编班、个别辅导、送教上门或职业学校）".into(),
        ));
    }
    items.push(item(
        "R14",
        DueWhat::FollowUpVisit,
        Role::Teacher,
        a_month_after_the_last_attempt(h, returned),
        "定期回访，了解学习生活情况，防止反复辍学".into(),
    ));
    items
}

/// What is due, or, when a deadline falls in a year without a schedule, one item that says so
/// (for an administrator to load the year) instead of a guess.
pub fn due_or_calendar_missing(history: &CaseHistory, calendar: &WorkCalendar) -> Vec<DueItem> {
    match due_items(history, calendar) {
        Ok(items) => items,
        Err(CalendarError::YearNotLoaded(year)) => vec![item(
            "calendar",
            DueWhat::CalendarMissing { year },
            Role::Admin,
            None,
            format!("{year}年节假日安排未导入，期限无法计算"),
        )],
        Err(CalendarError::Invalid { year, reason }) => {
            tracing::error!(year, %reason, "the loaded calendar is invalid");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use sync_protocol::cases::{AttemptOutcome, Department, ReasonCategory};

    use super::*;
    use crate::cases::history::{AttemptFact, DocumentFact, Moved};

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
    }

    fn case(status: CaseStatus, opened_on: NaiveDate) -> CaseHistory {
        CaseHistory::new(status, opened_on)
    }

    fn attempt(kind: AttemptKind, on: NaiveDate) -> AttemptFact {
        AttemptFact {
            kind,
            on,
            outcome: AttemptOutcome::Refused,
            recorded: false,
            confirmed: false,
            standing: Vec::new(),
            departments: Vec::new(),
        }
    }

    fn due(h: &CaseHistory) -> Vec<DueItem> {
        let calendar = WorkCalendar::shipped().expect("the shipped schedules load");
        due_items(h, &calendar).expect("2025 and 2026 are loaded")
    }

    fn rules(items: &[DueItem]) -> Vec<(&str, Option<NaiveDate>)> {
        items.iter().map(|i| (i.rule.as_str(), i.due_on)).collect()
    }

    #[test]
    fn r02_r03_r04_r05_the_first_days_of_an_absence_across_a_weekend() {
        // Thursday 2026-03-05 is the first day of absence.
        let mut h = case(CaseStatus::Absent, date(2026, 3, 5));
        let (day3, day5) = (Some(date(2026, 3, 9)), Some(date(2026, 3, 11)));
        assert_eq!(
            rules(&due(&h)),
            vec![
                ("R2", Some(date(2026, 3, 5))),
                ("R3", Some(date(2026, 3, 6))),
                ("R4", day3),
                ("R4", day3),
                ("R4", day3),
                ("R5", day5),
                ("R5", day5),
            ]
        );
        h.attempts
            .push(attempt(AttemptKind::PhoneCall, date(2026, 3, 5)));
        h.attempts
            .push(attempt(AttemptKind::HomeVisit, date(2026, 3, 6)));
        h.attempts
            .push(attempt(AttemptKind::CollectiveVisit, date(2026, 3, 9)));
        let paper = |doc_type, d| DocumentFact {
            doc_type,
            on: date(2026, 3, d),
            approved: false,
        };
        h.documents.push(paper(DocumentType::TownshipNotice, 9));
        let items = due(&h);
        assert_eq!(
            items.iter().map(|i| &i.what).collect::<Vec<_>>(),
            [
                &DueWhat::DropoutNotice,
                &DueWhat::OpenSuspectedCase,
                &DueWhat::BureauReport
            ],
            "the call, the visits and the township's notice were made"
        );
        // The papers of the first days stay due after the case opens, until they are filed.
        h.status = CaseStatus::Suspected;
        h.moves.push(Moved {
            from: CaseStatus::Absent,
            to: CaseStatus::Suspected,
            on: date(2026, 3, 11),
        });
        h.documents.push(paper(DocumentType::DropoutNotice, 10));
        let whats: Vec<DueWhat> = due(&h).into_iter().map(|i| i.what).collect();
        assert!(whats.contains(&DueWhat::BureauReport), "{whats:?}");
        assert!(
            !whats.contains(&DueWhat::DropoutNotice),
            "filed before the case opened: {whats:?}"
        );
    }

    #[test]
    fn r15_r19_a_deferred_child_is_still_persuaded_monthly_until_the_over_age_mark() {
        let mut h = case(CaseStatus::Deferred, date(2026, 3, 2));
        h.closure_reason = Some(ClosureReason::DeferredForIllness);
        h.over_age_on = Some(date(2027, 8, 31));
        h.moves.push(Moved {
            from: CaseStatus::SchoolPersuasion,
            to: CaseStatus::Deferred,
            on: date(2026, 3, 10),
        });
        let items = due(&h);
        assert_eq!(
            rules(&items),
            vec![
                ("R19", Some(date(2026, 4, 9))),
                ("R19", Some(date(2027, 8, 31)))
            ]
        );
        assert_eq!(
            (items[0].what.clone(), items[1].what.clone()),
            (DueWhat::KeepPersuading, DueWhat::OverAgeLeaving)
        );
        assert_eq!(items[1].who, Role::Supervisor);
        h.attempts
            .push(attempt(AttemptKind::HomeVisit, date(2026, 4, 1)));
        assert_eq!(due(&h)[0].due_on, Some(date(2026, 5, 1)), "a month on");
    }

    #[test]
    fn r20_a_compulsory_return_asks_the_next_judicial_step_teaching_and_persuasion() {
        let mut h = case(CaseStatus::CompulsoryReturn, date(2026, 3, 2));
        h.moves.push(Moved {
            from: CaseStatus::JointPersuasion,
            to: CaseStatus::CompulsoryReturn,
            on: date(2026, 3, 10),
        });
        h.documents.push(DocumentFact {
            doc_type: DocumentType::JudicialFiling,
            on: date(2026, 3, 11),
            approved: false,
        });
        h.documents.push(DocumentFact {
            doc_type: DocumentType::TeachingRecord,
            on: date(2026, 3, 20),
            approved: false,
        });
        let items = due(&h);
        let what: Vec<_> = items.iter().map(|i| (i.what.clone(), i.due_on)).collect();
        assert_eq!(
            what,
            vec![
                (DueWhat::KeepPersuading, Some(date(2026, 4, 9))),
                (DueWhat::TeachingService, Some(date(2026, 4, 19))),
                (
                    DueWhat::JudicialStep {
                        step: JudicialStage::Hearing
                    },
                    None
                ),
            ]
        );
        assert!(items.iter().all(|i| i.rule == "R20"));
    }

    #[test]
    fn r08_ten_working_days_cross_the_spring_festival_and_count_its_adjusted_saturday() {
        let mut h = case(CaseStatus::Suspected, date(2026, 2, 9));
        h.attempts
            .push(attempt(AttemptKind::HomeVisit, date(2026, 2, 10)));
        let items = due(&h);
        assert_eq!(
            rules(&items),
            vec![
                ("R8", Some(date(2026, 2, 28))),
                ("R9", Some(date(2026, 2, 28)))
            ]
        );
        assert_eq!(
            items[0].what,
            DueWhat::SchoolAttempts { done: 1, needed: 3 }
        );
        assert_eq!(items[0].who, Role::Teacher);
        assert!(items[0].hint.contains("已劝返1次"), "{}", items[0].hint);
    }

    #[test]
    fn r08_a_relapse_starts_a_new_ten_days_and_old_attempts_do_not_count() {
        let mut h = case(CaseStatus::Suspected, date(2025, 9, 1));
        h.attempts = (2..5)
            .map(|d| attempt(AttemptKind::HomeVisit, date(2025, 9, d)))
            .collect();
        h.moves.push(Moved {
            from: CaseStatus::FollowUp,
            to: CaseStatus::Suspected,
            on: date(2026, 3, 2),
        });
        let items = due(&h);
        assert_eq!(
            items[0].what,
            DueWhat::SchoolAttempts { done: 0, needed: 3 }
        );
        assert_eq!(items[0].due_on, Some(date(2026, 3, 16)));
    }

    #[test]
    fn r09_three_attempts_done_leave_only_the_report() {
        let mut h = case(CaseStatus::SchoolPersuasion, date(2026, 3, 2));
        h.attempts = (3..6)
            .map(|d| attempt(AttemptKind::HomeVisit, date(2026, 3, d)))
            .collect();
        let items = due(&h);
        assert_eq!(rules(&items), vec![("R9", Some(date(2026, 3, 16)))]);
        assert_eq!(items[0].who, Role::SchoolLead);
    }

    #[test]
    fn r11_the_notice_within_two_days_then_five_working_days_across_national_day() {
        let mut h = case(CaseStatus::Reported, date(2025, 9, 1));
        h.moves.push(Moved {
            from: CaseStatus::SchoolPersuasion,
            to: CaseStatus::Reported,
            on: date(2025, 9, 27),
        });
        assert_eq!(
            rules(&due(&h)),
            vec![("R11", Some(date(2025, 9, 29))), ("R10", None)]
        );
        h.documents.push(DocumentFact {
            doc_type: DocumentType::ReturnNotice,
            on: date(2025, 9, 29),
            approved: false,
        });
        let items = due(&h);
        assert_eq!(items[0].what, DueWhat::ReturnDeadline);
        assert_eq!(
            items[0].due_on,
            Some(date(2025, 10, 13)),
            "the National Day week does not count; the adjusted Saturday 10-11 does"
        );
    }

    #[test]
    fn r10_the_bureau_owes_the_township_its_letter_once_the_report_arrives() {
        let mut h = case(CaseStatus::Reported, date(2026, 3, 2));
        let r10 = |h: &CaseHistory| due(h).into_iter().find(|i| i.rule == "R10");
        let owed = r10(&h).expect("the letter is due");
        assert_eq!(
            (owed.what, owed.who),
            (DueWhat::JointPersuasionRequest, Role::Supervisor)
        );
        h.documents.push(DocumentFact {
            doc_type: DocumentType::JointPersuasionRequest,
            on: date(2026, 3, 3),
            approved: false,
        });
        assert_eq!(r10(&h), None);
    }

    #[test]
    fn r13_a_family_gone_to_another_county_is_notified_to_the_household_register_place() {
        let mut h = case(CaseStatus::SchoolPersuasion, date(2026, 3, 2));
        h.reason = Some(ReasonCategory::MovedAcrossCounty);
        let r13 = |h: &CaseHistory| due(h).into_iter().find(|i| i.rule == "R13");
        let owed = r13(&h).expect("the notice is due");
        assert_eq!(
            (owed.what, owed.who),
            (DueWhat::CrossCountyNotice, Role::Supervisor)
        );
        h.documents.push(DocumentFact {
            doc_type: DocumentType::CrossCountyNotice,
            on: date(2026, 3, 4),
            approved: false,
        });
        assert_eq!(r13(&h), None, "sent");
        h.documents.clear();
        h.reason = Some(ReasonCategory::WorkingAway);
        assert_eq!(
            r13(&h),
            None,
            "a family working away is persuaded where the child studied"
        );
    }

    #[test]
    fn r12_joint_attempts_name_the_departments_the_reason_calls_for() {
        let mut h = case(CaseStatus::JointPersuasion, date(2026, 3, 2));
        h.reason = Some(ReasonCategory::WorkingAway);
        h.documents.push(DocumentFact {
            doc_type: DocumentType::ReturnNotice,
            on: date(2026, 3, 20),
            approved: false,
        });
        let mut joint = attempt(AttemptKind::JointPersuasion, date(2026, 3, 30));
        joint.departments = vec![Department::Police];
        h.attempts.push(joint);
        let items = due(&h);
        let r12 = items.iter().find(|i| i.rule == "R12").expect("R12 is due");
        assert_eq!(
            r12.what,
            DueWhat::JointAttempts {
                done: 1,
                needed: 3,
                departments: vec![Department::HumanResources, Department::Police],
                not_yet_joined: vec![Department::HumanResources],
            }
        );
        assert_eq!(r12.due_on, None, "the rules set no deadline");
        assert!(r12.hint.starts_with("联合人社、公安"), "{}", r12.hint);
    }

    #[test]
    fn r14_a_returned_student_needs_a_plan_and_a_visit_a_month() {
        let mut h = case(CaseStatus::FollowUp, date(2026, 3, 2));
        h.moves.push(Moved {
            from: CaseStatus::JointPersuasion,
            to: CaseStatus::Returned,
            on: date(2026, 4, 1),
        });
        h.attempts
            .push(attempt(AttemptKind::HomeVisit, date(2026, 4, 20)));
        let items = due(&h);
        assert_eq!(
            rules(&items),
            vec![("R14", Some(date(2026, 5, 20))), ("R14", None)]
        );
        assert_eq!(items[1].what, DueWhat::PlacementPlan);
    }

    #[test]
    fn a_deadline_in_a_year_without_a_schedule_is_named_not_guessed() {
        let calendar = WorkCalendar::shipped().expect("the shipped schedules load");
        let h = case(CaseStatus::Suspected, date(2026, 12, 28));
        assert_eq!(
            due_items(&h, &calendar),
            Err(CalendarError::YearNotLoaded(2027))
        );
        let items = due_or_calendar_missing(&h, &calendar);
        assert_eq!(items[0].what, DueWhat::CalendarMissing { year: 2027 });
    }

    #[test]
    fn a_closed_case_owes_nothing() {
        assert!(due(&case(CaseStatus::Closed, date(2026, 3, 2))).is_empty());
    }
}
