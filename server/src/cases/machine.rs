//! The case machine with its people and its paperwork: who may make each move, and what each
//! move requires to be on the case first (DOMAIN.md §Case life, R5, R8–R12, R14–R20). The legal
//! moves themselves are `CaseStatus::check_move`, shared with the phone; this adds the rules only
//! the server can judge, as plain functions over a [`CaseHistory`]. Every move, whether it comes
//! by sync from a phone or from the web, is checked here.

use chrono::{Duration, NaiveDate};
use sync_protocol::cases::{CaseStatus, ClosureReason, IllegalMove, ReasonCategory};
use sync_protocol::evidence::DocumentType;
use sync_protocol::org::Role;

use super::history::CaseHistory;
use crate::calendar::age_on;

/// School persuasion attempts before the report (R8, R9).
pub const SCHOOL_ATTEMPTS: u32 = 3;
/// Joint persuasion attempts the township makes (R12, and R15 before a refusal may close).
pub const JOINT_ATTEMPTS: u32 = 3;
/// The age from which R20's special measures apply (beyond primary-school age).
pub const SPECIAL_MEASURES_AGE: i32 = 12;
/// How far before the server receives it a move may be dated: a phone may be offline for
/// weeks, but a move stamped earlier (a wrong or set-back clock) is dated this far back at most,
/// and never before the case's previous move, so no deadline or duration rule can be moved by
/// a device's clock.
pub const MOVE_BACKDATE_LIMIT: chrono::Duration = chrono::Duration::days(30);

/// Days out of school that make a long dropout (R20: a year or more).
pub const LONG_DROPOUT_DAYS: i64 = 365;

/// Something a move needs that the case does not have yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Missing {
    /// A responsible person (专人) must be named (R5).
    ResponsiblePerson,
    /// More school persuasion attempts, or a recorded lost contact (R8, R9).
    SchoolAttempts {
        /// Made in this episode.
        done: u32,
        /// Needed.
        needed: u32,
    },
    /// More joint persuasion attempts (R12, R15, R20).
    JointAttempts {
        /// Made since the report.
        done: u32,
        /// Needed.
        needed: u32,
    },
    /// A document of this type must be attached.
    Document {
        /// The type.
        doc_type: DocumentType,
    },
    /// One document of these types must be attached.
    OneOfDocuments {
        /// The types, any one of which serves.
        doc_types: &'static [DocumentType],
    },
    /// The attached document of this type must be approved by a supervisor's review.
    Review {
        /// The type.
        doc_type: DocumentType,
    },
    /// A follow-up visit after the return (R14).
    FollowUpVisit,
    /// A recording of every attempt of this episode (R20).
    Recordings,
    /// Every attempt of this episode confirmed by every participant (R20, R21).
    Signatures {
        /// The attempts not yet confirmed.
        unconfirmed: u32,
    },
    /// The child must be this old for the measure (R20).
    AgeAtLeast {
        /// Years.
        years: i32,
    },
    /// Out of school a year or more, dropped out again after returning, or averse to school
    /// (R20).
    LongOrRepeatedDropout,
    /// The closure request's reason, fitting where the case stands and the move (R14–R19).
    ClosureReason,
    /// The over-age leaving day (超龄离校): a deferred row is written off from then on
    /// (R15–R17); unknown without a birth date.
    OverAge {
        /// From when.
        on: Option<NaiveDate>,
    },
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ResponsiblePerson => write!(f, "a responsible person"),
            Self::SchoolAttempts { done, needed } => write!(
                f,
                "{needed} school persuasion attempts ({done} made) or a recorded lost contact"
            ),
            Self::JointAttempts { done, needed } => {
                write!(f, "{needed} joint persuasion attempts ({done} made)")
            }
            Self::Document { doc_type } => write!(f, "a `{}` document", doc_type.as_str()),
            Self::OneOfDocuments { doc_types } => {
                let names: Vec<&str> = doc_types.iter().map(|t| t.as_str()).collect();
                write!(f, "one of the documents `{}`", names.join("`, `"))
            }
            Self::Review { doc_type } => {
                write!(
                    f,
                    "an approving review of the `{}` document",
                    doc_type.as_str()
                )
            }
            Self::FollowUpVisit => write!(f, "a follow-up visit after the return"),
            Self::Recordings => write!(f, "a recording of every attempt"),
            Self::Signatures { unconfirmed } => write!(
                f,
                "every participant's signature on every attempt ({unconfirmed} attempt(s) not yet confirmed)"
            ),
            Self::AgeAtLeast { years } => write!(f, "a child aged {years} or over"),
            Self::LongOrRepeatedDropout => write!(
                f,
                "a dropout of a year or more, a repeated dropout, or an aversion to school"
            ),
            Self::ClosureReason => write!(
                f,
                "a closure reason that fits the case's status and the move"
            ),
            Self::OverAge { on: Some(day) } => {
                write!(f, "the over-age leaving day, {day}")
            }
            Self::OverAge { on: None } => {
                write!(
                    f,
                    "the student's birth date, to know the over-age leaving day"
                )
            }
        }
    }
}

/// Why a move is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The case machine has no such move.
    Illegal(IllegalMove),
    /// The caller's role does not make this move.
    Forbidden {
        /// The status asked for.
        to: CaseStatus,
        /// The roles that may.
        roles: &'static [Role],
    },
    /// The case lacks what the move needs.
    Unmet {
        /// The status asked for.
        to: CaseStatus,
        /// What is missing, in the order to fix it.
        missing: Vec<Missing>,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Illegal(e) => e.fmt(f),
            Self::Forbidden { to, roles } => {
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                write!(
                    f,
                    "only {} may move a case to {}",
                    names.join(", "),
                    to.as_str()
                )
            }
            Self::Unmet { to, missing } => {
                let items: Vec<String> = missing.iter().map(ToString::to_string).collect();
                write!(f, "moving to {} needs {}", to.as_str(), items.join("; "))
            }
        }
    }
}

/// Who may move a case into `to` (from wherever the machine allows).
pub fn movers(to: CaseStatus) -> &'static [Role] {
    use Role::*;
    match to {
        // The school follows an absence to its end (R1–R4), opens the suspected case (R5) and
        // reopens it on a relapse.
        CaseStatus::AbsenceEnded
        | CaseStatus::Excused
        | CaseStatus::Suspected
        | CaseStatus::SchoolPersuasion
        | CaseStatus::FollowUp => &[Teacher, SchoolLead],
        // The school's lead signs the report to the bureau (R9).
        CaseStatus::Reported => &[SchoolLead],
        // The township starts joint persuasion on the bureau's letter (R10, R11).
        CaseStatus::JointPersuasion => &[TownshipOfficer, Supervisor],
        // Whoever sees the child back at school.
        CaseStatus::Returned => &[Teacher, SchoolLead, TownshipOfficer, Supervisor],
        // The township's judicial office or the bureau starts a compulsory return (R20 (2)).
        CaseStatus::CompulsoryReturn => &[TownshipOfficer, Supervisor],
        // The bureau leads a vocational placement (R20 (1): 由县级教育行政部门牵头), approves a
        // deferral (R15–R17, R19 (7)) and closes a ledger row (销号).
        CaseStatus::VocationalSchool | CaseStatus::Deferred | CaseStatus::Closed => &[Supervisor],
        // Nothing moves a case back to `absent`: the machine has no such move.
        CaseStatus::Absent => &[],
    }
}

/// Where the bureau's approval of a closure request moves a row standing at `status` that asks
/// `reason`: a deferring reason defers it first (R15–R17, R19 (7)); any other, or a deferred
/// row's own reason at the over-age leaving day, closes it.
pub fn approved_closure(status: CaseStatus, reason: Option<ClosureReason>) -> CaseStatus {
    match reason {
        Some(r) if r.defers() && status != CaseStatus::Deferred => CaseStatus::Deferred,
        _ => CaseStatus::Closed,
    }
}

/// Who may ask for a row to be closed (set its closure reason).
pub const CLOSURE_REQUESTERS: &[Role] =
    &[Role::SchoolLead, Role::TownshipOfficer, Role::Supervisor];

/// Checks that `role` may move the case of `history` to `to` on `today`.
pub fn check_move(
    role: Role,
    history: &CaseHistory,
    to: CaseStatus,
    today: NaiveDate,
) -> Result<(), Refusal> {
    history.status.check_move(to).map_err(Refusal::Illegal)?;
    let roles = movers(to);
    if !roles.contains(&role) {
        return Err(Refusal::Forbidden { to, roles });
    }
    let missing = requirements(history, to, today);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Unmet { to, missing })
    }
}

/// What moving the case of `history` to `to` on `today` needs that it does not have.
pub fn requirements(history: &CaseHistory, to: CaseStatus, today: NaiveDate) -> Vec<Missing> {
    let mut missing = Vec::new();
    match to {
        CaseStatus::Suspected if !history.responsible => missing.push(Missing::ResponsiblePerson),
        CaseStatus::Reported => {
            let done = history.school_attempts();
            if done < SCHOOL_ATTEMPTS && !history.contact_lost() {
                missing.push(Missing::SchoolAttempts {
                    done,
                    needed: SCHOOL_ATTEMPTS,
                });
            }
        }
        CaseStatus::JointPersuasion => {
            need_document(history, DocumentType::ReturnNotice, false, &mut missing)
        }
        CaseStatus::FollowUp => {
            need_document(history, DocumentType::PlacementPlan, false, &mut missing)
        }
        CaseStatus::CompulsoryReturn => {
            need_evidence(history, COMPULSORY_RETURN, today, &mut missing)
        }
        CaseStatus::VocationalSchool => {
            need_evidence(history, VOCATIONAL_SCHOOL, today, &mut missing)
        }
        CaseStatus::Deferred | CaseStatus::Closed => {
            reason_requirements(history, to, today, &mut missing)
        }
        _ => {}
    }
    missing
}

/// Pushes what is missing for a document of `doc_type` (and its approval, if `reviewed`).
fn need_document(
    history: &CaseHistory,
    doc_type: DocumentType,
    reviewed: bool,
    missing: &mut Vec<Missing>,
) {
    let mut attached = history.documents_of(doc_type).peekable();
    if attached.peek().is_none() {
        missing.push(Missing::Document { doc_type });
    } else if reviewed && !attached.any(|d| d.approved) {
        missing.push(Missing::Review { doc_type });
    }
}

/// One item of evidence a closure reason needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// A document of this type, approved by a review.
    Document(DocumentType),
    /// A document of this type, attached (no review awaited).
    Attached(DocumentType),
    /// A document of any of these types, approved by a review.
    OneOf(&'static [DocumentType]),
    /// This many joint persuasion attempts.
    JointAttempts(u32),
    /// A recording of every attempt of the episode.
    Recordings,
    /// Every attempt of the episode confirmed by every participant (R21).
    Signatures,
    /// A follow-up visit after the return.
    FollowUpVisit,
    /// A child the special measures are for: aged 12 or over, and out a year or more, dropped
    /// out again, or averse to school.
    SpecialMeasuresEligibility,
}

/// What shows a child missing or dead (R18) or dead (R19 (4)): a police confirmation, a medical
/// death certificate, a cremation certificate, or the household deregistration (户口注销证明).
const MISSING_OR_DEAD: &[DocumentType] = &[
    DocumentType::PoliceConfirmation,
    DocumentType::DeathCertificate,
    DocumentType::CremationCertificate,
    DocumentType::DeregistrationRecord,
];

/// What a compulsory return needs (R20 (2)): a child the special measures are for, whose
/// guardian joint persuasion did not move, and the judicial procedure filed against the
/// guardian (its first step: the measure starts there).
const COMPULSORY_RETURN: &[Evidence] = &[
    Evidence::SpecialMeasuresEligibility,
    Evidence::JointAttempts(JOINT_ATTEMPTS),
    Evidence::Attached(DocumentType::JudicialFiling),
];

/// What a vocational placement needs (R20 (1)): a child the special measures are for, three
/// failed attempts, a recording of every attempt and its record signed by every participant
/// (R21), both consents, a personal education plan and the vocational school's acceptance, each
/// approved.
const VOCATIONAL_SCHOOL: &[Evidence] = &[
    Evidence::SpecialMeasuresEligibility,
    Evidence::JointAttempts(JOINT_ATTEMPTS),
    Evidence::Recordings,
    Evidence::Signatures,
    Evidence::Document(DocumentType::GuardianConsent),
    Evidence::Document(DocumentType::ChildConsent),
    Evidence::Document(DocumentType::EducationPlan),
    Evidence::Document(DocumentType::AcceptanceLetter),
];

/// The evidence each closure (or deferral) reason declares (R14–R19).
pub fn evidence(reason: ClosureReason) -> &'static [Evidence] {
    use DocumentType as D;
    use Evidence::*;
    match reason {
        ClosureReason::RefusalAfterRuling => &[
            JointAttempts(JOINT_ATTEMPTS),
            Document(D::CourtRuling),
            Document(D::WrittenStatement),
            Document(D::GovernmentApproval),
        ],
        ClosureReason::PhysicalCondition | ClosureReason::SevereDisability => {
            &[Document(D::ExpertAssessment)]
        }
        ClosureReason::PoorHouseholdRefusal => &[Document(D::RuralRevitalisationApproval)],
        ClosureReason::MissingOrDead => &[OneOf(MISSING_OR_DEAD)],
        ClosureReason::AgeMismatch => &[Document(D::CorrectedHouseholdRecord)],
        ClosureReason::DuplicateRegistration => &[Document(D::DeregistrationRecord)],
        ClosureReason::LostContact => &[Document(D::PoliceConfirmation)],
        ClosureReason::Death => &[OneOf(MISSING_OR_DEAD)],
        ClosureReason::StudyingWithoutRoll => &[Document(D::NewRollRecord)],
        ClosureReason::DeferredForIllness => &[
            Document(D::GuardianApplication),
            Document(D::HospitalCertificate),
            Document(D::SuspensionApproval),
        ],
        ClosureReason::ReturnedAndSettled => &[Document(D::PlacementPlan), FollowUpVisit],
    }
}

/// Whether a row standing at `status` may move to `to` (`deferred` or `closed`) for `reason`:
/// - a deferral for illness (R19 (7)) from any open status, one of R15–R17 after joint
///   persuasion (or during a compulsory return, whose ruling R15 names);
/// - a deferred row closes for its own reason only (with the over-age leaving mark);
/// - any other write-off as not a real dropout (R19) from any open status;
/// - a settled return after the follow-up; missing or dead (R18) after joint persuasion.
fn fits(reason: ClosureReason, status: CaseStatus, to: CaseStatus) -> bool {
    let after_joint = matches!(
        status,
        CaseStatus::JointPersuasion | CaseStatus::CompulsoryReturn
    );
    match to {
        CaseStatus::Deferred => reason.defers() && (reason.is_not_a_real_dropout() || after_joint),
        CaseStatus::Closed if reason.defers() => status == CaseStatus::Deferred,
        CaseStatus::Closed if reason.is_not_a_real_dropout() => true,
        CaseStatus::Closed if reason == ClosureReason::ReturnedAndSettled => {
            status == CaseStatus::FollowUp
        }
        CaseStatus::Closed => after_joint,
        _ => false,
    }
}

/// What deferring or closing (`to`) needs: a reason that fits, its evidence, and for a deferred
/// row's write-off the over-age leaving day (R15–R17).
fn reason_requirements(
    history: &CaseHistory,
    to: CaseStatus,
    today: NaiveDate,
    missing: &mut Vec<Missing>,
) {
    let Some(reason) = history
        .closure_reason
        .filter(|r| fits(*r, history.status, to))
    else {
        missing.push(Missing::ClosureReason);
        return;
    };
    need_evidence(history, evidence(reason), today, missing);
    if to == CaseStatus::Closed && reason.defers() {
        match history.over_age_on {
            Some(day) if day <= today => {}
            on => missing.push(Missing::OverAge { on }),
        }
    }
}

/// Pushes what of `items` the case of `history` lacks on `today`.
fn need_evidence(
    history: &CaseHistory,
    items: &[Evidence],
    today: NaiveDate,
    missing: &mut Vec<Missing>,
) {
    for item in items {
        match *item {
            Evidence::Document(doc_type) => need_document(history, doc_type, true, missing),
            Evidence::Attached(doc_type) => need_document(history, doc_type, false, missing),
            Evidence::OneOf(doc_types) => {
                let attached: Vec<_> = doc_types
                    .iter()
                    .flat_map(|t| history.documents_of(*t))
                    .collect();
                if attached.is_empty() {
                    missing.push(Missing::OneOfDocuments { doc_types });
                } else if !attached.iter().any(|d| d.approved) {
                    missing.push(Missing::Review {
                        doc_type: attached[0].doc_type,
                    });
                }
            }
            Evidence::JointAttempts(needed) => {
                let done = history.joint_attempts();
                if done < needed {
                    missing.push(Missing::JointAttempts { done, needed });
                }
            }
            Evidence::Recordings if !history.every_attempt_recorded() => {
                missing.push(Missing::Recordings)
            }
            Evidence::FollowUpVisit => {
                let returned = history.returned_on().unwrap_or(history.opened_on);
                if history.attempts_on_or_after(returned) == 0 {
                    missing.push(Missing::FollowUpVisit);
                }
            }
            Evidence::Recordings => {}
            Evidence::Signatures => {
                let unconfirmed = history.unconfirmed_attempts();
                if unconfirmed > 0 {
                    missing.push(Missing::Signatures { unconfirmed });
                }
            }
            Evidence::SpecialMeasuresEligibility => need_eligibility(history, today, missing),
        }
    }
}

/// R20: a child aged 12 or over, out a year or more, dropped out again, or averse to school.
fn need_eligibility(history: &CaseHistory, today: NaiveDate, missing: &mut Vec<Missing>) {
    let age = history.birth_date.map(|born| age_on(born, today));
    if age.is_none_or(|age| age < SPECIAL_MEASURES_AGE) {
        missing.push(Missing::AgeAtLeast {
            years: SPECIAL_MEASURES_AGE,
        });
    }
    let long = today - history.episode_start() >= Duration::days(LONG_DROPOUT_DAYS);
    let repeated = history.relapse_count > 0;
    let averse = history.reason == Some(ReasonCategory::AversionToSchool);
    if !(long || repeated || averse) {
        missing.push(Missing::LongOrRepeatedDropout);
    }
}

#[cfg(test)]
mod tests {
    use sync_protocol::cases::{AttemptKind, AttemptOutcome};

    use super::*;
    use crate::cases::history::{AttemptFact, DocumentFact, Moved};

    const TODAY: NaiveDate = match NaiveDate::from_ymd_opt(2026, 3, 31) {
        Some(day) => day,
        None => NaiveDate::MIN,
    };

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).expect("a March day")
    }

    fn case(status: CaseStatus) -> CaseHistory {
        CaseHistory::new(status, day(2))
    }

    fn attempt(kind: AttemptKind, d: u32, outcome: AttemptOutcome) -> AttemptFact {
        AttemptFact {
            kind,
            on: day(d),
            outcome,
            recorded: true,
            confirmed: true,
            standing: Vec::new(),
            departments: Vec::new(),
        }
    }

    fn document(doc_type: DocumentType, approved: bool) -> DocumentFact {
        DocumentFact {
            doc_type,
            on: day(20),
            approved,
        }
    }

    fn missing(history: &CaseHistory, to: CaseStatus, role: Role) -> Vec<Missing> {
        match check_move(role, history, to, TODAY) {
            Ok(()) => Vec::new(),
            Err(Refusal::Unmet { missing, .. }) => missing,
            Err(other) => panic!("refused otherwise: {other}"),
        }
    }

    #[test]
    fn r05_a_suspected_case_needs_a_responsible_person() {
        let mut h = case(CaseStatus::Absent);
        h.responsible = false;
        assert_eq!(
            missing(&h, CaseStatus::Suspected, Role::Teacher),
            vec![Missing::ResponsiblePerson]
        );
        h.responsible = true;
        assert_eq!(
            check_move(Role::Teacher, &h, CaseStatus::Suspected, TODAY),
            Ok(())
        );
        assert!(matches!(
            check_move(Role::VillageMember, &h, CaseStatus::Suspected, TODAY),
            Err(Refusal::Forbidden { .. })
        ));
    }

    #[test]
    fn r09_the_report_needs_three_school_attempts_of_this_episode_or_a_lost_contact() {
        let mut h = case(CaseStatus::SchoolPersuasion);
        h.moves.push(Moved {
            from: CaseStatus::Absent,
            to: CaseStatus::Suspected,
            on: day(5),
        });
        // One before the suspected case opened does not count (R8 counts from the opening).
        h.attempts = vec![
            attempt(AttemptKind::PhoneCall, 3, AttemptOutcome::Undecided),
            attempt(AttemptKind::HomeVisit, 6, AttemptOutcome::Refused),
            attempt(AttemptKind::HomeVisit, 9, AttemptOutcome::Refused),
        ];
        assert_eq!(
            missing(&h, CaseStatus::Reported, Role::SchoolLead),
            vec![Missing::SchoolAttempts { done: 2, needed: 3 }]
        );
        assert!(
            matches!(
                check_move(Role::Teacher, &h, CaseStatus::Reported, TODAY),
                Err(Refusal::Forbidden { .. })
            ),
            "the lead signs the report, not the teacher"
        );
        h.attempts.push(attempt(
            AttemptKind::CollectiveVisit,
            11,
            AttemptOutcome::Refused,
        ));
        assert_eq!(
            check_move(Role::SchoolLead, &h, CaseStatus::Reported, TODAY),
            Ok(())
        );

        let mut lost = case(CaseStatus::SchoolPersuasion);
        lost.attempts = vec![attempt(
            AttemptKind::HomeVisit,
            4,
            AttemptOutcome::NotReached,
        )];
        assert_eq!(
            check_move(Role::SchoolLead, &lost, CaseStatus::Reported, TODAY),
            Ok(()),
            "a family that cannot be found is reported at once"
        );
    }

    #[test]
    fn r11_joint_persuasion_starts_with_the_served_notice() {
        let mut h = case(CaseStatus::Reported);
        assert_eq!(
            missing(&h, CaseStatus::JointPersuasion, Role::TownshipOfficer),
            vec![Missing::Document {
                doc_type: DocumentType::ReturnNotice
            }]
        );
        h.documents
            .push(document(DocumentType::ReturnNotice, false));
        assert_eq!(
            check_move(
                Role::TownshipOfficer,
                &h,
                CaseStatus::JointPersuasion,
                TODAY
            ),
            Ok(())
        );
        assert!(matches!(
            check_move(Role::SchoolLead, &h, CaseStatus::JointPersuasion, TODAY),
            Err(Refusal::Forbidden { .. })
        ));
    }

    #[test]
    fn r14_a_returned_student_is_followed_up_under_a_placement_plan() {
        let mut h = case(CaseStatus::Returned);
        assert_eq!(
            missing(&h, CaseStatus::FollowUp, Role::Teacher),
            vec![Missing::Document {
                doc_type: DocumentType::PlacementPlan
            }]
        );
        h.documents
            .push(document(DocumentType::PlacementPlan, false));
        assert_eq!(
            check_move(Role::Teacher, &h, CaseStatus::FollowUp, TODAY),
            Ok(())
        );

        h.status = CaseStatus::FollowUp;
        h.moves.push(Moved {
            from: CaseStatus::JointPersuasion,
            to: CaseStatus::Returned,
            on: day(21),
        });
        h.closure_reason = Some(ClosureReason::ReturnedAndSettled);
        assert_eq!(
            missing(&h, CaseStatus::Closed, Role::Supervisor),
            vec![
                Missing::Review {
                    doc_type: DocumentType::PlacementPlan
                },
                Missing::FollowUpVisit
            ]
        );
    }

    #[test]
    fn r15_a_refusal_defers_after_three_joint_attempts_a_ruling_a_statement_and_approval() {
        let mut h = case(CaseStatus::JointPersuasion);
        assert_eq!(
            missing(&h, CaseStatus::Deferred, Role::Supervisor),
            vec![Missing::ClosureReason]
        );
        h.closure_reason = Some(ClosureReason::RefusalAfterRuling);
        h.attempts = vec![attempt(
            AttemptKind::JointPersuasion,
            10,
            AttemptOutcome::Refused,
        )];
        h.documents = vec![
            document(DocumentType::CourtRuling, true),
            document(DocumentType::WrittenStatement, false),
        ];
        assert_eq!(
            missing(&h, CaseStatus::Closed, Role::Supervisor),
            vec![Missing::ClosureReason],
            "R15 defers first: the row is not closed from joint persuasion"
        );
        assert_eq!(
            missing(&h, CaseStatus::Deferred, Role::Supervisor),
            vec![
                Missing::JointAttempts { done: 1, needed: 3 },
                Missing::Review {
                    doc_type: DocumentType::WrittenStatement
                },
                Missing::Document {
                    doc_type: DocumentType::GovernmentApproval
                },
            ]
        );
        assert!(matches!(
            check_move(Role::SchoolLead, &h, CaseStatus::Deferred, TODAY),
            Err(Refusal::Forbidden { .. })
        ));
    }

    #[test]
    fn r15_r17_a_deferred_row_is_written_off_only_from_its_over_age_leaving_day() {
        for reason in [
            ClosureReason::RefusalAfterRuling,
            ClosureReason::PhysicalCondition,
            ClosureReason::PoorHouseholdRefusal,
            ClosureReason::DeferredForIllness,
        ] {
            let mut h = case(CaseStatus::Deferred);
            h.closure_reason = Some(reason);
            h.attempts = (10..13)
                .map(|d| attempt(AttemptKind::JointPersuasion, d, AttemptOutcome::Refused))
                .collect();
            for item in evidence(reason) {
                match item {
                    Evidence::Document(t) => h.documents.push(document(*t, true)),
                    Evidence::JointAttempts(_) => {}
                    other => panic!("{reason:?} declares {other:?}"),
                }
            }
            assert_eq!(
                missing(&h, CaseStatus::Closed, Role::Supervisor),
                vec![Missing::OverAge { on: None }],
                "{reason:?}: no birth date, no leaving day"
            );
            h.over_age_on = Some(TODAY + Duration::days(1));
            assert_eq!(
                missing(&h, CaseStatus::Closed, Role::Supervisor),
                vec![Missing::OverAge { on: h.over_age_on }],
                "{reason:?}: the day before"
            );
            h.over_age_on = Some(TODAY);
            assert_eq!(
                check_move(Role::Supervisor, &h, CaseStatus::Closed, TODAY),
                Ok(()),
                "{reason:?}"
            );
            // The approval of the request defers a row first, and closes a deferred one.
            assert_eq!(
                approved_closure(CaseStatus::JointPersuasion, Some(reason)),
                CaseStatus::Deferred
            );
            assert_eq!(
                approved_closure(CaseStatus::Deferred, Some(reason)),
                CaseStatus::Closed
            );
        }
        assert_eq!(
            approved_closure(CaseStatus::Suspected, Some(ClosureReason::Death)),
            CaseStatus::Closed
        );
    }

    #[test]
    fn r19_7_a_deferral_for_illness_defers_from_every_open_status() {
        for status in CaseStatus::OPEN
            .iter()
            .copied()
            .filter(|s| *s != CaseStatus::Deferred)
        {
            let mut h = case(status);
            h.closure_reason = Some(ClosureReason::DeferredForIllness);
            for t in [
                DocumentType::GuardianApplication,
                DocumentType::HospitalCertificate,
                DocumentType::SuspensionApproval,
            ] {
                h.documents.push(document(t, true));
            }
            assert_eq!(
                check_move(Role::Supervisor, &h, CaseStatus::Deferred, TODAY),
                Ok(()),
                "from {status:?}"
            );
            assert_eq!(
                missing(&h, CaseStatus::Closed, Role::Supervisor),
                vec![Missing::ClosureReason],
                "R19 (7) defers, it does not close, from {status:?}"
            );
        }
    }

    #[test]
    fn r16_r17_each_reason_names_its_deciding_document() {
        for (reason, doc_type) in [
            (
                ClosureReason::PhysicalCondition,
                DocumentType::ExpertAssessment,
            ),
            (
                ClosureReason::PoorHouseholdRefusal,
                DocumentType::RuralRevitalisationApproval,
            ),
        ] {
            let mut h = case(CaseStatus::JointPersuasion);
            h.closure_reason = Some(reason);
            assert_eq!(
                missing(&h, CaseStatus::Deferred, Role::Supervisor),
                vec![Missing::Document { doc_type }]
            );
            h.documents.push(document(doc_type, true));
            assert_eq!(
                check_move(Role::Supervisor, &h, CaseStatus::Deferred, TODAY),
                Ok(())
            );
        }
    }

    #[test]
    fn r18_r19_one_approved_certificate_of_several_serves() {
        let mut h = case(CaseStatus::JointPersuasion);
        h.closure_reason = Some(ClosureReason::Death);
        assert!(matches!(
            missing(&h, CaseStatus::Closed, Role::Supervisor)[..],
            [Missing::OneOfDocuments { .. }]
        ));
        h.documents
            .push(document(DocumentType::CremationCertificate, true));
        assert_eq!(
            check_move(Role::Supervisor, &h, CaseStatus::Closed, TODAY),
            Ok(())
        );
        h.closure_reason = Some(ClosureReason::ReturnedAndSettled);
        assert_eq!(
            missing(&h, CaseStatus::Closed, Role::Supervisor),
            vec![Missing::ClosureReason],
            "a child still out does not close as settled"
        );
    }

    #[test]
    fn r19_a_write_off_as_not_a_real_dropout_is_open_from_every_open_status() {
        use CaseStatus::*;
        for status in CaseStatus::OPEN.iter().copied() {
            let mut h = case(status);
            h.closure_reason = Some(ClosureReason::AgeMismatch);
            h.documents
                .push(document(DocumentType::CorrectedHouseholdRecord, true));
            assert_eq!(
                check_move(Role::Supervisor, &h, Closed, TODAY),
                Ok(()),
                "from {status:?}"
            );
            h.closure_reason = Some(ClosureReason::PoorHouseholdRefusal);
            h.documents
                .push(document(DocumentType::RuralRevitalisationApproval, true));
            let deferred = check_move(Role::Supervisor, &h, Deferred, TODAY);
            assert_eq!(
                deferred.is_ok(),
                matches!(status, JointPersuasion | CompulsoryReturn),
                "R17 defers only after joint persuasion, not from {status:?}"
            );
        }
        assert!(check_move(Role::Supervisor, &case(Absent), Closed, TODAY).is_err());
    }

    #[test]
    fn r18_r19_a_death_is_written_off_on_any_certificate_the_seeds_name() {
        // Seed 001 §一 (4) and seed 000 §三: a medical death certificate, a cremation certificate,
        // a police certificate, or the household deregistration (户口注销证明).
        for reason in [ClosureReason::Death, ClosureReason::MissingOrDead] {
            for doc_type in [
                DocumentType::DeathCertificate,
                DocumentType::CremationCertificate,
                DocumentType::PoliceConfirmation,
                DocumentType::DeregistrationRecord,
            ] {
                let mut h = case(CaseStatus::JointPersuasion);
                h.closure_reason = Some(reason);
                h.documents.push(document(doc_type, true));
                assert_eq!(
                    check_move(Role::Supervisor, &h, CaseStatus::Closed, TODAY),
                    Ok(()),
                    "{reason:?} on {doc_type:?}"
                );
            }
        }
    }

    #[test]
    fn r20_r21_a_vocational_placement_needs_consents_plans_and_every_attempt_recorded_and_signed() {
        let mut h = case(CaseStatus::JointPersuasion);
        h.birth_date = NaiveDate::from_ymd_opt(2012, 5, 1);
        h.relapse_count = 1;
        h.attempts = (10..13)
            .map(|d| attempt(AttemptKind::JointPersuasion, d, AttemptOutcome::Refused))
            .collect();
        h.attempts[1].recorded = false;
        h.attempts[2].confirmed = false;
        for t in [
            DocumentType::GuardianConsent,
            DocumentType::ChildConsent,
            DocumentType::EducationPlan,
            DocumentType::AcceptanceLetter,
        ] {
            h.documents.push(document(t, true));
        }
        assert_eq!(
            missing(&h, CaseStatus::VocationalSchool, Role::Supervisor),
            vec![Missing::Recordings, Missing::Signatures { unconfirmed: 1 }]
        );
        h.attempts[1].recorded = true;
        h.attempts[2].confirmed = true;
        assert_eq!(
            check_move(Role::Supervisor, &h, CaseStatus::VocationalSchool, TODAY),
            Ok(())
        );
        assert!(
            matches!(
                check_move(
                    Role::TownshipOfficer,
                    &h,
                    CaseStatus::VocationalSchool,
                    TODAY
                ),
                Err(Refusal::Forbidden { .. })
            ),
            "the bureau leads a placement"
        );
    }

    #[test]
    fn r20_special_measures_are_for_children_of_twelve_out_long_or_again() {
        let mut h = case(CaseStatus::JointPersuasion);
        h.attempts = (10..13)
            .map(|d| attempt(AttemptKind::JointPersuasion, d, AttemptOutcome::Refused))
            .collect();
        h.documents
            .push(document(DocumentType::JudicialFiling, false));
        h.birth_date = NaiveDate::from_ymd_opt(2014, 4, 1);
        assert_eq!(
            missing(&h, CaseStatus::CompulsoryReturn, Role::TownshipOfficer),
            vec![
                Missing::AgeAtLeast { years: 12 },
                Missing::LongOrRepeatedDropout
            ],
            "eleven on 2026-03-31, out since 2026-03-02, never back before"
        );
        h.birth_date = NaiveDate::from_ymd_opt(2014, 3, 31);
        h.reason = Some(ReasonCategory::AversionToSchool);
        assert_eq!(
            check_move(
                Role::TownshipOfficer,
                &h,
                CaseStatus::CompulsoryReturn,
                TODAY
            ),
            Ok(()),
            "twelve today, and averse to school"
        );
        h.reason = None;
        h.opened_on = day(1) - Duration::days(LONG_DROPOUT_DAYS);
        assert_eq!(
            check_move(Role::Supervisor, &h, CaseStatus::CompulsoryReturn, TODAY),
            Ok(()),
            "out a year"
        );
        h.attempts.pop();
        assert_eq!(
            missing(&h, CaseStatus::CompulsoryReturn, Role::Supervisor),
            vec![Missing::JointAttempts { done: 2, needed: 3 }]
        );
    }

    #[test]
    fn illegal_moves_are_refused_before_roles() {
        let h = case(CaseStatus::Suspected);
        assert!(matches!(
            check_move(Role::Teacher, &h, CaseStatus::JointPersuasion, TODAY),
            Err(Refusal::Illegal(_))
        ));
    }
}
