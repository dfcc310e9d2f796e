//! A case's history as the rules read it: its moves along the case machine, its attempts, its
//! documents and the verdicts on them, each dated in China's calendar. The rules
//! ([`super::machine`], [`super::due`]) are plain functions over this; [`load`] reads it.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DbErr};
use sync_protocol::cases::{
    AttemptKind, AttemptOutcome, CaseStatus, ClosureReason, Department, ReasonCategory,
};
use sync_protocol::detail::AttemptConfirmations;
use sync_protocol::evidence::{DocumentType, Verdict};
use sync_protocol::media::MediaKind;
use sync_protocol::signing::ParticipantConfirmation;
use uuid::Uuid;

use super::parse_stored;
use crate::calendar::{china_date, over_age_on};
use crate::db::entity::{attempt_participant, case};
use crate::db::{self, history::HistoryRows};
use crate::personal_data::Sealer;

/// One move along the case machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    /// The status it left.
    pub from: CaseStatus,
    /// The status it entered.
    pub to: CaseStatus,
    /// The day it was made.
    pub on: NaiveDate,
}

/// One attempt, as the rules count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFact {
    /// The kind of contact.
    pub kind: AttemptKind,
    /// The day it happened.
    pub on: NaiveDate,
    /// What came of it.
    pub outcome: AttemptOutcome,
    /// Whether a recording of it is kept (R20: recordings of every earlier attempt).
    pub recorded: bool,
    /// Whether every participant confirmed it as it stands (R20, R21): signed with their own
    /// key or, without an account, vouched for; an attempt naming nobody is not confirmed.
    pub confirmed: bool,
    /// How each participant stands, once anyone signed it (empty: nobody signed it).
    pub standing: Vec<ParticipantConfirmation>,
    /// The partner departments that took part (R12).
    pub departments: Vec<Department>,
}

/// One evidence document, as the rules count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentFact {
    /// Its type.
    pub doc_type: DocumentType,
    /// The day it was recorded.
    pub on: NaiveDate,
    /// Whether the latest review of it approves it.
    pub approved: bool,
}

/// Everything the rules need to know of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseHistory {
    /// Where it stands.
    pub status: CaseStatus,
    /// The day the row was opened.
    pub opened_on: NaiveDate,
    /// The reason category, once known.
    pub reason: Option<ReasonCategory>,
    /// Why closing is asked for, once asked.
    pub closure_reason: Option<ClosureReason>,
    /// Whether a responsible person (专人) is named.
    pub responsible: bool,
    /// How often the student dropped out again after returning (反复辍学).
    pub relapse_count: i32,
    /// The student's birth date.
    pub birth_date: Option<NaiveDate>,
    /// The day the child leaves compulsory education over-age (超龄离校, R15–R17), from the
    /// birth date and the configured leaving age.
    pub over_age_on: Option<NaiveDate>,
    /// Moves, oldest first.
    pub moves: Vec<Moved>,
    /// Attempts, oldest first.
    pub attempts: Vec<AttemptFact>,
    /// Documents, oldest first.
    pub documents: Vec<DocumentFact>,
}

impl CaseHistory {
    /// A case at `status`, opened on `opened_on`, with a responsible person and nothing else
    /// yet: where the rules' tests start.
    #[cfg(test)]
    pub fn new(status: CaseStatus, opened_on: NaiveDate) -> Self {
        Self {
            status,
            opened_on,
            reason: None,
            closure_reason: None,
            responsible: true,
            relapse_count: 0,
            birth_date: None,
            over_age_on: None,
            moves: Vec::new(),
            attempts: Vec::new(),
            documents: Vec::new(),
        }
    }

    /// The last day the case entered `status`, if it ever did by a move.
    pub fn entered(&self, status: CaseStatus) -> Option<NaiveDate> {
        self.moves
            .iter()
            .rev()
            .find(|m| m.to == status)
            .map(|m| m.on)
    }

    /// The day the child last came back to education: the last move into `returned` or
    /// `vocational_school` (R14, R20 (1)).
    pub fn returned_on(&self) -> Option<NaiveDate> {
        self.moves
            .iter()
            .rev()
            .find(|m| matches!(m.to, CaseStatus::Returned | CaseStatus::VocationalSchool))
            .map(|m| m.on)
    }

    /// Whether the row opened as an absence (R1) rather than from the roll comparison or a
    /// report: it stands at `absent` or its first move left `absent`.
    pub fn began_as_absence(&self) -> bool {
        self.moves
            .first()
            .map_or(self.status == CaseStatus::Absent, |m| {
                m.from == CaseStatus::Absent
            })
    }

    /// Where the row stood at the end of `day`: the status the first later move left, or the
    /// status now if none came later (R22 counts as things stood at a period's end).
    pub fn status_on(&self, day: NaiveDate) -> CaseStatus {
        self.moves
            .iter()
            .find(|m| m.on > day)
            .map_or(self.status, |m| m.from)
    }

    /// The day the current status began: the last move, or the opening.
    pub fn in_status_since(&self) -> NaiveDate {
        self.moves.last().map_or(self.opened_on, |m| m.on)
    }

    /// The day the current episode began: the last move into `suspected` (the suspected case
    /// opening, R5, or a relapse), or the opening of the row.
    pub fn episode_start(&self) -> NaiveDate {
        self.entered(CaseStatus::Suspected)
            .unwrap_or(self.opened_on)
    }

    /// Attempts of this episode of `kind`s matching `select`.
    fn attempts_since(
        &self,
        since: NaiveDate,
        select: impl Fn(&AttemptFact) -> bool,
    ) -> impl Iterator<Item = &AttemptFact> {
        self.attempts
            .iter()
            .filter(move |a| a.on >= since && select(a))
    }

    /// School persuasion attempts (not joint ones) of this episode (R8).
    pub fn school_attempts(&self) -> u32 {
        count(self.attempts_since(self.episode_start(), |a| {
            a.kind != AttemptKind::JointPersuasion
        }))
    }

    /// Joint persuasion attempts since the case was reported (R12).
    pub fn joint_attempts(&self) -> u32 {
        let since = self
            .entered(CaseStatus::Reported)
            .unwrap_or_else(|| self.episode_start());
        count(self.attempts_since(since, |a| a.kind == AttemptKind::JointPersuasion))
    }

    /// The departments that took part in a joint attempt since the report (R12).
    pub fn joint_departments(&self) -> Vec<Department> {
        let since = self
            .entered(CaseStatus::Reported)
            .unwrap_or_else(|| self.episode_start());
        let mut joined: Vec<Department> = self
            .attempts_since(since, |a| a.kind == AttemptKind::JointPersuasion)
            .flat_map(|a| a.departments.iter().copied())
            .collect();
        joined.sort_by_key(|d| d.as_str());
        joined.dedup();
        joined
    }

    /// Attempts of any kind on or after `since`.
    pub fn attempts_on_or_after(&self, since: NaiveDate) -> u32 {
        count(self.attempts_since(since, |_| true))
    }

    /// Whether an attempt of this episode found nobody (a recorded lost contact).
    pub fn contact_lost(&self) -> bool {
        self.attempts_since(self.episode_start(), |a| {
            a.outcome == AttemptOutcome::NotReached
        })
        .next()
        .is_some()
    }

    /// Whether every attempt of this episode has a recording (R20).
    pub fn every_attempt_recorded(&self) -> bool {
        self.attempts_since(self.episode_start(), |a| !a.recorded)
            .next()
            .is_none()
    }

    /// The attempts of this episode not yet confirmed by every participant (R20, R21).
    pub fn unconfirmed_attempts(&self) -> u32 {
        count(self.attempts_since(self.episode_start(), |a| !a.confirmed))
    }

    /// Documents of `doc_type` recorded in this episode.
    pub fn documents_of(&self, doc_type: DocumentType) -> impl Iterator<Item = &DocumentFact> {
        let since = self.episode_start();
        self.documents
            .iter()
            .filter(move |d| d.doc_type == doc_type && d.on >= since)
    }

    /// The first document of `doc_type` of this episode, if any.
    pub fn first_document(&self, doc_type: DocumentType) -> Option<&DocumentFact> {
        self.documents_of(doc_type).next()
    }
}

fn count<'a>(attempts: impl Iterator<Item = &'a AttemptFact>) -> u32 {
    u32::try_from(attempts.count()).unwrap_or(u32::MAX)
}

fn corrupt(e: anyhow::Error) -> DbErr {
    DbErr::Custom(e.to_string())
}

/// The histories of `cases`, by case id, each child leaving over-age at `leaving_age` (the
/// configuration's `leaving_age`), signed attempts opened with `sealer` to check their
/// signatures still cover them: a few queries per 500 cases.
pub async fn load(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    cases: &[case::Model],
    leaving_age: u32,
) -> Result<HashMap<Uuid, CaseHistory>, DbErr> {
    load_with(db, Some(sealer), cases, leaving_age).await
}

/// The histories of `cases` as [`load`] reads them, but without the attempts' files and
/// signatures: every attempt's `recorded` and `confirmed` are false. What is due reads nothing
/// else ([`super::due`]); the case machine does, so give it [`load`]'s.
pub async fn load_for_due(
    db: &impl ConnectionTrait,
    cases: &[case::Model],
    leaving_age: u32,
) -> Result<HashMap<Uuid, CaseHistory>, DbErr> {
    load_with(db, None, cases, leaving_age).await
}

/// [`load`] with evidence when given the `sealer` to check signatures with.
async fn load_with(
    db: &impl ConnectionTrait,
    sealer: Option<&Sealer>,
    cases: &[case::Model],
    leaving_age: u32,
) -> Result<HashMap<Uuid, CaseHistory>, DbErr> {
    let mut out = HashMap::with_capacity(cases.len());
    for row in cases {
        out.insert(
            row.id,
            CaseHistory {
                status: parse_stored(&row.status).map_err(corrupt)?,
                opened_on: row.opened_on,
                reason: row
                    .reason
                    .as_deref()
                    .map(parse_stored)
                    .transpose()
                    .map_err(corrupt)?,
                closure_reason: row
                    .closure_reason
                    .as_deref()
                    .map(parse_stored)
                    .transpose()
                    .map_err(corrupt)?,
                responsible: row.responsible_user_id.is_some(),
                relapse_count: row.relapse_count,
                birth_date: None,
                over_age_on: None,
                moves: Vec::new(),
                attempts: Vec::new(),
                documents: Vec::new(),
            },
        );
    }
    for chunk in cases.chunks(crate::db::CHUNK) {
        let ids: Vec<Uuid> = chunk.iter().map(|c| c.id).collect();
        load_chunk(db, sealer, &ids, &mut out).await?;
        let births = db::students::birth_dates(db, chunk.iter().map(|c| c.student_id)).await?;
        for c in chunk {
            if let Some(h) = out.get_mut(&c.id) {
                h.birth_date = births.get(&c.student_id).copied();
                h.over_age_on = h.birth_date.and_then(|born| over_age_on(born, leaving_age));
            }
        }
    }
    Ok(out)
}

async fn load_chunk(
    db: &impl ConnectionTrait,
    sealer: Option<&Sealer>,
    ids: &[Uuid],
    out: &mut HashMap<Uuid, CaseHistory>,
) -> Result<(), DbErr> {
    let mut rows = db::history::of_cases(db, ids, sealer.is_some()).await?;
    let mut standing = standing(sealer, &mut rows)?;
    let HistoryRows {
        moves,
        attempts,
        documents,
        document_reviews: reviews,
        attempt_files,
        departments_joined: joined,
        ..
    } = rows;
    let mut departments: HashMap<Uuid, Vec<Department>> = HashMap::new();
    for p in joined {
        if let Some(d) = p.department.as_deref() {
            departments
                .entry(p.attempt_id)
                .or_default()
                .push(parse_stored(d).map_err(corrupt)?);
        }
    }
    let recorded: HashSet<Uuid> = attempt_files
        .into_iter()
        .filter(|m| m.kind == MediaKind::Audio.as_str())
        .map(|m| m.target_id)
        .collect();
    // The latest verdict on each document wins.
    let mut verdicts: HashMap<Uuid, bool> = HashMap::new();
    for r in reviews {
        verdicts.insert(r.target_id, r.verdict == Verdict::Approved.as_str());
    }
    for m in moves {
        if let Some(h) = out.get_mut(&m.case_id) {
            h.moves.push(Moved {
                from: parse_stored(&m.from_status).map_err(corrupt)?,
                to: parse_stored(&m.to_status).map_err(corrupt)?,
                on: china_date(m.moved_at),
            });
        }
    }
    for a in attempts {
        if let Some(h) = out.get_mut(&a.case_id) {
            h.attempts.push(AttemptFact {
                kind: parse_stored(&a.kind).map_err(corrupt)?,
                on: china_date(a.occurred_at),
                outcome: parse_stored(&a.outcome).map_err(corrupt)?,
                recorded: recorded.contains(&a.id),
                confirmed: standing
                    .get(&a.id)
                    .is_some_and(|s| !s.is_empty() && s.iter().all(|p| p.confirmation.holds())),
                standing: standing.remove(&a.id).unwrap_or_default(),
                departments: departments.remove(&a.id).unwrap_or_default(),
            });
        }
    }
    for d in documents {
        if let Some(h) = out.get_mut(&d.case_id) {
            h.documents.push(DocumentFact {
                doc_type: parse_stored(&d.doc_type).map_err(corrupt)?,
                on: china_date(d.created_at),
                approved: verdicts.get(&d.id).copied().unwrap_or(false),
            });
        }
    }
    Ok(())
}

/// How the participants of the signed attempts of `rows` stand (R21), by attempt, when given
/// the `sealer` (none: nobody stands anywhere): only the signed attempts are read whole, opened
/// and their content digested.
fn standing(
    sealer: Option<&Sealer>,
    rows: &mut HistoryRows,
) -> Result<HashMap<Uuid, Vec<ParticipantConfirmation>>, DbErr> {
    let Some(sealer) = sealer else {
        return Ok(HashMap::new());
    };
    let (attempts, files) = (&rows.signed_attempts, &rows.attempt_files);
    let participants = std::mem::take(&mut rows.signed_participants);
    let signatures: Vec<_> = std::mem::take(&mut rows.signatures)
        .into_iter()
        .map(|row| crate::signing::signature(row, &HashMap::new(), &HashMap::new()))
        .collect::<Result<_, _>>()?;
    let mut people: HashMap<Uuid, Vec<attempt_participant::Model>> = HashMap::new();
    for p in participants {
        people.entry(p.attempt_id).or_default().push(p);
    }
    let mut out = HashMap::new();
    for row in attempts {
        let Some(taking_part) = people.remove(&row.id) else {
            continue;
        };
        let attempt = super::attempt_view(sealer, row.clone(), taking_part).map_err(corrupt)?;
        let hashes: Vec<&str> = files
            .iter()
            .filter(|f| f.target_id == row.id)
            .map(|f| f.sha256.as_str())
            .collect();
        let standing = AttemptConfirmations::of(&attempt, &signatures, &hashes);
        out.insert(row.id, standing.participants);
    }
    Ok(out)
}
