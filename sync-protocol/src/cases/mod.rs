//! The case ledger as clients read it: cases (台账 rows) and their persuasion attempts; what is
//! due on them ([`due`]) and what the web sends to open and change them ([`edits`]).

pub mod due;
pub mod edits;

pub use due::{DueCase, DueEntry, DueList, DueQuery};
pub use edits::{CaseChange, OpenCase, ReviewRequest};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AttemptId, CaseId, OrgUnitId, StudentId, UserId};

/// Declares a wire enum stored as its snake_case name, with `as_str`, `ALL` and `FromStr`.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("unknown {} `{s}`", stringify!($name)))
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum!(
    /// Where a case stands on the case machine (DOMAIN.md §Case life).
    CaseStatus {
        /// Unexcused absence being followed (R1–R4): not yet a ledger row.
        Absent => "absent",
        /// The absence ended with the child back at school before a case opened (R1–R4).
        AbsenceEnded => "absence_ended",
        /// The absence turned out excused (leave granted after all): it ends, never a case.
        Excused => "excused",
        /// Suspected dropout (疑似辍学): a case with a responsible person (R5).
        Suspected => "suspected",
        /// The school's persuasion attempts (R8).
        SchoolPersuasion => "school_persuasion",
        /// Reported to the bureau with the report form (R9).
        Reported => "reported",
        /// Township and departments persuade together (R11, R12).
        JointPersuasion => "joint_persuasion",
        /// Compulsory return (强制劝返, R20 (2)): a judicial procedure against the guardian, with
        /// teaching delivered while persuasion goes on, until the child returns.
        CompulsoryReturn => "compulsory_return",
        /// Deferred enrolment or suspension (延缓入学/休学, R15–R17, R19 (7)): the school keeps
        /// persuading and following the child until the return or the over-age leaving mark.
        Deferred => "deferred",
        /// Back at school (R14).
        Returned => "returned",
        /// Placed in a vocational school (R20 (1)): a way back to education, the roll kept in
        /// the compulsory school, followed up like a return.
        VocationalSchool => "vocational_school",
        /// Follow-up visits after return (R14).
        FollowUp => "follow_up",
        /// The ledger row is closed (销号, R15–R20).
        Closed => "closed",
    }
);

impl ClosureReason {
    /// Whether the bureau's approval defers enrolment or suspends the child (延缓入学/休学) rather
    /// than closing the row: R15, R16, R17 and R19 (7). Such a row is written off later, with
    /// the over-age leaving mark (超龄离校标注), or ends by return.
    pub fn defers(self) -> bool {
        matches!(
            self,
            Self::RefusalAfterRuling
                | Self::PhysicalCondition
                | Self::PoorHouseholdRefusal
                | Self::DeferredForIllness
        )
    }

    /// Whether this is a write-off as not a real dropout (R19 (1)–(7), seed 001 §一), which is
    /// open from every status from `suspected` on.
    pub fn is_not_a_real_dropout(self) -> bool {
        matches!(
            self,
            Self::AgeMismatch
                | Self::DuplicateRegistration
                | Self::LostContact
                | Self::Death
                | Self::SevereDisability
                | Self::StudyingWithoutRoll
                | Self::DeferredForIllness
        )
    }
}

impl CaseStatus {
    /// The statuses of an absence, followed or ended (R1–R4): attendance follow-up, not a
    /// ledger row (台账) nor counted in its statistics.
    pub const ABSENCE: &'static [CaseStatus] = &[Self::Absent, Self::AbsenceEnded, Self::Excused];

    /// The statuses that end a row for good: nothing is due on it, and the student may have a
    /// new one.
    pub const ENDED: &'static [CaseStatus] = &[Self::AbsenceEnded, Self::Excused, Self::Closed];

    /// Whether the row has ended for good (see [`Self::ENDED`]).
    pub fn is_ended(self) -> bool {
        Self::ENDED.contains(&self)
    }

    /// Whether the row is a ledger row (台账), not an absence (see [`Self::ABSENCE`]).
    pub fn is_ledger_row(self) -> bool {
        !Self::ABSENCE.contains(&self)
    }

    /// The statuses of an open ledger row, from the suspected case on: every status but the
    /// absences and `closed`.
    pub const OPEN: &'static [CaseStatus] = &[
        Self::Suspected,
        Self::SchoolPersuasion,
        Self::Reported,
        Self::JointPersuasion,
        Self::CompulsoryReturn,
        Self::Deferred,
        Self::Returned,
        Self::VocationalSchool,
        Self::FollowUp,
    ];

    /// Checks a move along the case machine (DOMAIN.md §Case life, docs/case-workflow.md):
    /// - an absence ends (`absent → absence_ended | excused`) or becomes a case (`→ suspected`);
    /// - the spine `suspected → school_persuasion → reported → joint_persuasion`;
    /// - R20's measures: `joint_persuasion → compulsory_return`, and `joint_persuasion |
    ///   compulsory_return → vocational_school`;
    /// - deferral or suspension (`→ deferred`) from any open status, and a return from it;
    /// - a return from any persuasion step, compulsory return or deferral (`→ returned`), then
    ///   `returned | vocational_school → follow_up`, and a relapse back to `suspected` that
    ///   reopens the same row;
    /// - `closed` from any open status.
    ///
    /// Which reasons fit which deferral or closure the server's rules decide.
    pub fn check_move(self, to: CaseStatus) -> Result<(), IllegalMove> {
        use CaseStatus::*;
        let open = Self::OPEN.contains(&self);
        let legal = match to {
            Suspected => matches!(self, Absent | Returned | VocationalSchool | FollowUp),
            AbsenceEnded | Excused => self == Absent,
            SchoolPersuasion => self == Suspected,
            Reported => self == SchoolPersuasion,
            JointPersuasion => self == Reported,
            CompulsoryReturn => self == JointPersuasion,
            VocationalSchool => matches!(self, JointPersuasion | CompulsoryReturn),
            Deferred => open && self != Deferred,
            Returned => matches!(
                self,
                Suspected
                    | SchoolPersuasion
                    | Reported
                    | JointPersuasion
                    | CompulsoryReturn
                    | Deferred
            ),
            FollowUp => matches!(self, Returned | VocationalSchool),
            Closed => open,
            Absent => false,
        };
        if legal {
            Ok(())
        } else {
            Err(IllegalMove { from: self, to })
        }
    }

    /// Whether moving here from `from` is a relapse (反复辍学), which counts on the row.
    pub fn is_relapse_from(self, from: CaseStatus) -> bool {
        self == CaseStatus::Suspected
            && matches!(
                from,
                CaseStatus::Returned | CaseStatus::VocationalSchool | CaseStatus::FollowUp
            )
    }
}

/// A status move the case machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IllegalMove {
    /// The status the case is in.
    pub from: CaseStatus,
    /// The status asked for.
    pub to: CaseStatus,
}

impl std::fmt::Display for IllegalMove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a case cannot move from {} to {}",
            self.from.as_str(),
            self.to.as_str()
        )
    }
}

wire_enum!(
    /// How the case was found.
    FoundBy {
        /// Daily roll call (R1).
        DailyAttendance => "daily_attendance",
        /// Start-of-year roll against the household register (R6).
        RollComparison => "roll_comparison",
        /// A report from outside the school.
        Report => "report",
    }
);

wire_enum!(
    /// The dropout reason category, which chooses the partner departments (R12).
    ReasonCategory {
        /// Guardian neglect → justice.
        GuardianNeglect => "guardian_neglect",
        /// Working away → human resources and police.
        WorkingAway => "working_away",
        /// Disability → disabled persons' federation and education.
        Disability => "disability",
        /// Early marriage → civil affairs.
        EarlyMarriage => "early_marriage",
        /// Religion → religious affairs.
        Religion => "religion",
        /// Lost contact → police.
        LostContact => "lost_contact",
        /// The family moved to another county after the dropout (R13).
        MovedAcrossCounty => "moved_across_county",
        /// Aversion to school (厌学).
        AversionToSchool => "aversion_to_school",
        /// Family poverty.
        Poverty => "poverty",
        /// Illness.
        Illness => "illness",
        /// Anything else, described in the notes.
        Other => "other",
    }
);

wire_enum!(
    /// Why a ledger row may be closed (销号) or deferred, each with the evidence it needs
    /// (R14–R19; R20's measures are statuses, not reasons).
    ClosureReason {
        /// R15: refuses after joint persuasion and a court ruling; deferred enrolment or suspension.
        RefusalAfterRuling => "refusal_after_ruling",
        /// R16: physical condition, assessed by the expert committee.
        PhysicalCondition => "physical_condition",
        /// R17: a poor household refusing, verified by the rural-revitalisation bureau.
        PoorHouseholdRefusal => "poor_household_refusal",
        /// R18: missing or dead, as determined by the police.
        MissingOrDead => "missing_or_dead",
        /// R19 (1): not a dropout, the age was recorded wrong.
        AgeMismatch => "age_mismatch",
        /// R19 (2): not a dropout, registered twice.
        DuplicateRegistration => "duplicate_registration",
        /// R19 (3): not a dropout, contact lost (police confirmation).
        LostContact => "lost_contact",
        /// R19 (4): not a dropout, the child died.
        Death => "death",
        /// R19 (5): not a dropout, severe disability.
        SevereDisability => "severe_disability",
        /// R19 (6): not a dropout, studying elsewhere without a roll entry.
        StudyingWithoutRoll => "studying_without_roll",
        /// R19 (7): not a dropout, enrolment deferred or suspended for illness.
        DeferredForIllness => "deferred_for_illness",
        /// R14: returned to school and followed up.
        ReturnedAndSettled => "returned_and_settled",
    }
);

wire_enum!(
    /// A step of the judicial procedure of a compulsory return (R20 (2)), in order; each is
    /// shown by a document of the case.
    JudicialStage {
        /// The procedure against the guardian is filed (启动司法程序, `judicial_filing`).
        Filing => "filing",
        /// The (circuit) court heard it (巡回法庭, `hearing_record`).
        Hearing => "hearing",
        /// The court ruled (`court_ruling`).
        Ruling => "ruling",
        /// The ruling was enforced (强制执行, `law_enforcement_record`).
        Enforcement => "enforcement",
    }
);

wire_enum!(
    /// The kind of contact an attempt was.
    AttemptKind {
        /// A phone call to the family.
        PhoneCall => "phone_call",
        /// A home visit by school staff.
        HomeVisit => "home_visit",
        /// A visit together with the village committee (R4).
        CollectiveVisit => "collective_visit",
        /// Joint persuasion by township and departments (R12).
        JointPersuasion => "joint_persuasion",
    }
);

wire_enum!(
    /// What came of an attempt.
    AttemptOutcome {
        /// The family agreed the child returns.
        AgreedToReturn => "agreed_to_return",
        /// The family or child refused.
        Refused => "refused",
        /// No decision yet.
        Undecided => "undecided",
        /// Nobody could be reached.
        NotReached => "not_reached",
    }
);

wire_enum!(
    /// A partner department of joint persuasion (R12).
    Department {
        /// 司法: justice.
        Justice => "justice",
        /// 人社: human resources and social security.
        HumanResources => "human_resources",
        /// 公安: police.
        Police => "police",
        /// 残联: the disabled persons' federation.
        DisabledPersonsFederation => "disabled_persons_federation",
        /// 教育: education (home teaching, remote teaching).
        Education => "education",
        /// 民政: civil affairs.
        CivilAffairs => "civil_affairs",
        /// 宗教事务: religious affairs.
        ReligiousAffairs => "religious_affairs",
        /// 乡村振兴: rural revitalisation.
        RuralRevitalisation => "rural_revitalisation",
    }
);

/// What a due item asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DueWhat {
    /// Call or visit the family on the first day of absence and record why (R2).
    ContactFamily,
    /// The academic office and the teacher visit the family together (R3).
    SchoolHomeVisit,
    /// Written notice to township and village, and a visit with the village committee (R4).
    CollectiveVisit,
    /// Open the suspected-dropout case with a responsible person (R5).
    OpenSuspectedCase,
    /// The school's written notice to the township and the village committee (R4, a
    /// `township_notice` document).
    TownshipNotice,
    /// The written dropout notice to the family, signed by the guardian (R4, a
    /// `dropout_notice` document).
    DropoutNotice,
    /// The written report to the bureau with the collective visit's records and photos (R5, a
    /// `bureau_report` document the server generates).
    BureauReport,
    /// More school persuasion attempts (R8).
    SchoolAttempts {
        /// Made in this episode.
        done: u32,
        /// Needed.
        needed: u32,
    },
    /// The dropout report to the bureau (R9, 辍学情况报告单).
    DropoutReport,
    /// The bureau's request for joint persuasion to the township (R10, 请求劝返辍学生函).
    JointPersuasionRequest,
    /// The written notice to the household-register place when the family moved to another
    /// county (R13).
    CrossCountyNotice,
    /// Serve the return-by-deadline notice (R11, 限期返校通知书).
    ReturnNotice,
    /// The last day the notice gives the family to bring the child back (R11).
    ReturnDeadline,
    /// Joint persuasion attempts with the departments the reason calls for (R12).
    JointAttempts {
        /// Made since the report.
        done: u32,
        /// Needed.
        needed: u32,
        /// The departments the reason calls for.
        departments: Vec<Department>,
        /// Of those, the ones no joint attempt has included yet.
        not_yet_joined: Vec<Department>,
    },
    /// A placement plan for the returned student (R14).
    PlacementPlan,
    /// A follow-up visit to prevent relapse (R14).
    FollowUpVisit,
    /// A persuasion attempt at least every month while the child is deferred or suspended
    /// (R15–R17, R19 (7)) or under a compulsory return (R20 (2)): the row keeps following them.
    KeepPersuading,
    /// The over-age leaving mark (超龄离校标注) and the write-off of a deferred row, due at the
    /// end of the school year in which the child reaches the leaving age (R15–R17).
    OverAgeLeaving,
    /// Teaching delivered while a compulsory return goes on (送教服务, R20 (2)), at least monthly.
    TeachingService,
    /// The next step of the judicial procedure against the guardian (R20 (2)), shown by its
    /// document.
    JudicialStep {
        /// The step.
        step: JudicialStage,
    },
    /// A deadline falls in a year with no holiday schedule loaded: an administrator loads it.
    CalendarMissing {
        /// The year.
        year: i32,
    },
}

/// One thing due on a case: which rule asks it, what, of whom, by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueItem {
    /// The rule (DOMAIN.md) that asks for it.
    pub rule: String,
    /// What is asked.
    pub what: DueWhat,
    /// Who does it.
    pub who: crate::org::Role,
    /// The last day it is in time; absent when the rules set no deadline.
    pub due_on: Option<NaiveDate>,
    /// The next step in words field staff read (Simplified Chinese).
    pub hint: String,
}

impl DueItem {
    /// Whether its deadline has passed on `today` (the last day in time is not overdue).
    pub fn overdue_on(&self, today: NaiveDate) -> bool {
        self.due_on.is_some_and(|day| today > day)
    }
}

/// A GPS fix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeoPoint {
    /// Latitude in degrees (WGS 84).
    pub lat: f64,
    /// Longitude in degrees (WGS 84).
    pub lon: f64,
    /// Horizontal accuracy in metres, if known.
    pub accuracy_m: Option<f64>,
}

/// Someone who took part in an attempt and signs its record (R21).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Participant {
    /// The participant's account, when they have one.
    pub user_id: Option<UserId>,
    /// Name as signed.
    pub name: String,
    /// Their unit or department (school, village committee, police…).
    pub unit: String,
    /// The partner department they came for, on a joint attempt (R12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Department>,
}

/// One ledger row as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseSummary {
    /// The case id.
    pub id: CaseId,
    /// The student.
    pub student_id: StudentId,
    /// The student's name.
    pub student_name: String,
    /// The student's school.
    pub school_id: OrgUnitId,
    /// The village of residence.
    pub village_id: OrgUnitId,
    /// The township of the school.
    pub township_id: OrgUnitId,
    /// Where the case stands.
    pub status: CaseStatus,
    /// How it was found.
    pub found_by: FoundBy,
    /// The reason category, once known.
    pub reason: Option<ReasonCategory>,
    /// The responsible person (专人).
    pub responsible_user_id: Option<UserId>,
    /// The day the case was opened.
    pub opened_on: NaiveDate,
    /// How often the student dropped out again after returning (反复辍学).
    pub relapse_count: i32,
    /// Why closing is asked for, once someone asks (the closure request).
    #[serde(default)]
    pub closure_reason: Option<ClosureReason>,
    /// What is due on the case, earliest first: the first is the next step to show.
    #[serde(default)]
    pub due: Vec<DueItem>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
    /// The row's version: a change from the web sends it as `base_version`.
    #[serde(default)]
    pub version: i64,
}

/// One persuasion attempt (劝返记录).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attempt {
    /// The attempt id.
    pub id: AttemptId,
    /// The case it belongs to.
    pub case_id: CaseId,
    /// The kind of contact.
    pub kind: AttemptKind,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Where it happened.
    pub location: Option<GeoPoint>,
    /// Who took part.
    pub participants: Vec<Participant>,
    /// Whom they met (guardian, grandparent, the child…).
    pub met_whom: String,
    /// What the guardian said.
    pub guardian_statement: String,
    /// What came of it.
    pub outcome: AttemptOutcome,
    /// The next step agreed.
    pub next_step: String,
    /// Free notes.
    pub notes: String,
    /// Who recorded it.
    pub author_id: UserId,
    /// When the server first stored it.
    pub created_at: DateTime<Utc>,
}

/// A page of cases, ordered by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CasePage {
    /// The cases on this page.
    pub items: Vec<CaseSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<CaseId>,
}

/// Query of `GET /api/v1/cases`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct CaseListQuery {
    /// Only cases in this status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CaseStatus>,
    /// Only cases with this reason category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReasonCategory>,
    /// Only cases of this school.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub school_id: Option<OrgUnitId>,
    /// Only cases of this village of residence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub village_id: Option<OrgUnitId>,
    /// Only cases of this township of residence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub township_id: Option<OrgUnitId>,
    /// The `next_after` of the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<CaseId>,
    /// Page size, 1–500 (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    pub limit: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_case_machine_allows_its_path_and_refuses_skips() {
        use CaseStatus::*;
        let path = [
            Absent,
            Suspected,
            SchoolPersuasion,
            Reported,
            JointPersuasion,
            Returned,
            FollowUp,
            Closed,
        ];
        for pair in path.windows(2) {
            assert_eq!(pair[0].check_move(pair[1]), Ok(()), "{pair:?}");
        }
        assert!(Absent.check_move(Reported).is_err());
        assert!(
            Absent.check_move(Closed).is_err(),
            "an absence is no ledger row to close"
        );
        assert!(
            Closed.check_move(Suspected).is_err(),
            "a closed row stays closed"
        );
        assert!(Returned.check_move(Suspected).is_ok() && Suspected.is_relapse_from(FollowUp));
        assert!(!Suspected.is_relapse_from(Absent));
    }

    #[test]
    fn r15_r20_deferral_and_special_measures_keep_the_row_open_until_return_or_write_off() {
        use CaseStatus::*;
        // R20: compulsory return after joint persuasion, a vocational placement after either.
        assert_eq!(JointPersuasion.check_move(CompulsoryReturn), Ok(()));
        assert!(Reported.check_move(CompulsoryReturn).is_err());
        for from in [JointPersuasion, CompulsoryReturn] {
            assert_eq!(from.check_move(VocationalSchool), Ok(()), "{from:?}");
        }
        assert_eq!(VocationalSchool.check_move(FollowUp), Ok(()));
        assert!(Suspected.is_relapse_from(VocationalSchool));
        assert_eq!(CompulsoryReturn.check_move(Returned), Ok(()));
        // Deferral from every open status; from it, a return or the write-off.
        for from in CaseStatus::OPEN.iter().filter(|s| **s != Deferred) {
            assert_eq!(from.check_move(Deferred), Ok(()), "{from:?}");
            assert_eq!(from.check_move(Closed), Ok(()), "{from:?}");
        }
        assert_eq!(Deferred.check_move(Returned), Ok(()));
        assert_eq!(Deferred.check_move(Closed), Ok(()));
        assert!(Deferred.check_move(JointPersuasion).is_err());
        for ended in CaseStatus::ENDED.iter().chain([&Absent]) {
            assert!(ended.check_move(Deferred).is_err(), "{ended:?}");
        }
    }

    #[test]
    fn r01_r04_an_absence_ends_for_good_and_is_no_ledger_row() {
        use CaseStatus::*;
        for end in [AbsenceEnded, Excused] {
            assert_eq!(Absent.check_move(end), Ok(()));
            assert!(end.is_ended() && !end.is_ledger_row());
            for to in CaseStatus::ALL {
                assert!(end.check_move(*to).is_err(), "{end:?} → {to:?}");
            }
            assert!(
                Suspected.check_move(end).is_err(),
                "a ledger case does not end as an absence"
            );
        }
        assert!(!Absent.is_ended() && !Absent.is_ledger_row());
        assert!(Suspected.is_ledger_row() && !Suspected.is_ended());
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in CaseStatus::ALL {
            assert_eq!(status.as_str().parse::<CaseStatus>(), Ok(*status));
            let json = serde_json::to_string(status).expect("serialize");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
    }
}
