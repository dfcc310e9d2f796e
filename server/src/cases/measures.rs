//! R20's special measures as a row carries them ("标明劝返措施类型和进度", seed 001 §二): which
//! measure the episode is under and how far it has gone, read from the case's moves and
//! documents. A measure is a status, not a closure reason: a compulsory return
//! (`compulsory_return`) keeps the row open with its judicial procedure and the teaching
//! delivered until the child returns; a vocational placement (`vocational_school`) is a way back
//! to education, followed up like a return.

use chrono::NaiveDate;
use sync_protocol::cases::{CaseStatus, JudicialStage};
use sync_protocol::evidence::DocumentType;

use super::history::CaseHistory;

/// A special measure of R20.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// R20 (1): placed in a vocational school.
    VocationalSchool,
    /// R20 (2): compulsory return through the courts.
    CompulsoryReturn,
}

/// How far the measure of an episode has gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The measure.
    pub measure: Measure,
    /// The day the row entered it.
    pub since: NaiveDate,
    /// The steps of the judicial procedure shown by a document, in order, each with the day
    /// its first document was recorded (a compulsory return only).
    pub steps: Vec<(JudicialStage, NaiveDate)>,
    /// Teaching delivered while the compulsory return went on (送教记录): how often, and when
    /// last.
    pub teaching: (u32, Option<NaiveDate>),
}

/// The document that shows each step of the judicial procedure, in order.
const STAGE_DOCUMENTS: [(JudicialStage, DocumentType); 4] = [
    (JudicialStage::Filing, DocumentType::JudicialFiling),
    (JudicialStage::Hearing, DocumentType::HearingRecord),
    (JudicialStage::Ruling, DocumentType::CourtRuling),
    (
        JudicialStage::Enforcement,
        DocumentType::LawEnforcementRecord,
    ),
];

/// The steps of the judicial procedure of this episode shown by their documents, in order,
/// each with the day of its first document.
fn steps(h: &CaseHistory) -> Vec<(JudicialStage, NaiveDate)> {
    STAGE_DOCUMENTS
        .iter()
        .filter_map(|(stage, doc_type)| h.first_document(*doc_type).map(|d| (*stage, d.on)))
        .collect()
}

/// The first step of the judicial procedure no document shows yet, if any.
pub fn next_judicial_step(h: &CaseHistory) -> Option<JudicialStage> {
    STAGE_DOCUMENTS
        .iter()
        .find(|(_, doc_type)| h.first_document(*doc_type).is_none())
        .map(|(stage, _)| *stage)
}

/// The teaching records of this episode: how many, and the day of the last.
pub fn teaching(h: &CaseHistory) -> (u32, Option<NaiveDate>) {
    let days: Vec<NaiveDate> = h
        .documents_of(DocumentType::TeachingRecord)
        .map(|d| d.on)
        .collect();
    (
        u32::try_from(days.len()).unwrap_or(u32::MAX),
        days.iter().max().copied(),
    )
}

/// The measure of this episode and its progress: the last one the row entered since the
/// episode began, if any.
pub fn progress(h: &CaseHistory) -> Option<Progress> {
    let start = h.episode_start();
    let (measure, since) = h.moves.iter().rev().find_map(|m| {
        let measure = match m.to {
            CaseStatus::CompulsoryReturn => Measure::CompulsoryReturn,
            CaseStatus::VocationalSchool => Measure::VocationalSchool,
            _ => return None,
        };
        (m.on >= start).then_some((measure, m.on))
    })?;
    let compulsory = measure == Measure::CompulsoryReturn;
    Some(Progress {
        measure,
        since,
        steps: if compulsory { steps(h) } else { Vec::new() },
        teaching: if compulsory { teaching(h) } else { (0, None) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::history::{DocumentFact, Moved};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).expect("a March day")
    }

    fn moved(from: CaseStatus, to: CaseStatus, d: u32) -> Moved {
        Moved {
            from,
            to,
            on: day(d),
        }
    }

    fn document(doc_type: DocumentType, d: u32) -> DocumentFact {
        DocumentFact {
            doc_type,
            on: day(d),
            approved: false,
        }
    }

    #[test]
    fn r20_a_compulsory_return_shows_its_procedure_and_teaching_in_order() {
        let mut h = CaseHistory::new(CaseStatus::CompulsoryReturn, day(1));
        assert_eq!(progress(&h), None, "no measure yet");
        h.moves = vec![
            moved(CaseStatus::Absent, CaseStatus::Suspected, 2),
            moved(
                CaseStatus::JointPersuasion,
                CaseStatus::CompulsoryReturn,
                10,
            ),
        ];
        assert_eq!(next_judicial_step(&h), Some(JudicialStage::Filing));
        h.documents = vec![
            document(DocumentType::JudicialFiling, 11),
            document(DocumentType::TeachingRecord, 12),
            document(DocumentType::CourtRuling, 20),
            document(DocumentType::TeachingRecord, 19),
        ];
        assert_eq!(
            next_judicial_step(&h),
            Some(JudicialStage::Hearing),
            "the hearing's record is still missing, whatever came after"
        );
        assert_eq!(
            progress(&h),
            Some(Progress {
                measure: Measure::CompulsoryReturn,
                since: day(10),
                steps: vec![
                    (JudicialStage::Filing, day(11)),
                    (JudicialStage::Ruling, day(20))
                ],
                teaching: (2, Some(day(19))),
            })
        );
    }

    #[test]
    fn r20_the_latest_measure_of_the_episode_is_the_rows() {
        let mut h = CaseHistory::new(CaseStatus::FollowUp, day(1));
        h.moves = vec![
            moved(CaseStatus::JointPersuasion, CaseStatus::CompulsoryReturn, 5),
            moved(
                CaseStatus::CompulsoryReturn,
                CaseStatus::VocationalSchool,
                9,
            ),
            moved(CaseStatus::VocationalSchool, CaseStatus::FollowUp, 12),
        ];
        let p = progress(&h).expect("a measure");
        assert_eq!((p.measure, p.since), (Measure::VocationalSchool, day(9)));
        // A relapse starts a new episode: the old measure is history.
        h.moves
            .push(moved(CaseStatus::FollowUp, CaseStatus::Suspected, 20));
        assert_eq!(progress(&h), None);
    }
}
