//! A demo case's story: what its school, township and the bureau did, day by day, from the
//! reported absence to where the case stands, played through the same code a phone's push goes
//! through (`sync::apply::Batch`), on the days it happened. A step the rules refuse stops the
//! load with the rule's words, so the demo shows only histories the rules allow, with the
//! evidence and reviews each move needs.

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Utc};
use sea_orm::DatabaseTransaction;
use sync_protocol::cases::{
    AttemptKind, AttemptOutcome, CaseStatus, ClosureReason, FoundBy, GeoPoint, ReasonCategory,
};
use sync_protocol::evidence::{DocumentType, ReviewTarget, Verdict};
use sync_protocol::hlc::HlcStamp;
use sync_protocol::media::MediaKind;
use sync_protocol::signing::Vouched;
use sync_protocol::sync::{
    CaseField, Change, Mutation, NewAttempt, NewCase, NewDocument, NewReview,
};
use sync_protocol::{AttemptId, CaseId, DocumentId, MutationId, ReviewId};

use super::crew::{Crew, Member, POLICE_OFFICER, VILLAGE_HEAD, Who};
use crate::db::entity::{case, media_object};
use crate::media::generated::{self, Generated};
use crate::media::uploads::record_media;
use crate::state::AppState;
use crate::sync::apply::Batch;

/// What a step does.
#[derive(Debug, Clone)]
enum Act {
    /// A change, pushed as a phone would.
    Push(Change),
    /// A file kept as the attempt's evidence: a photo of the visit, or a recording of the talk
    /// (R20 asks for one of every attempt).
    Evidence(AttemptId, MediaKind),
    /// The attempt signed on the doer's phone, with a drawn signature kept for each participant
    /// without an account named here, which the signature vouches for (R21).
    Sign(AttemptId, &'static [&'static str]),
}

/// One step: on `day`, `who` does `act`.
#[derive(Debug, Clone)]
struct Step {
    day: NaiveDate,
    who: Who,
    act: Act,
}

/// Who a case is of and how its story starts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Casting {
    /// The student.
    pub(super) student: uuid::Uuid,
    /// The student's school.
    pub(super) school: uuid::Uuid,
    /// The student's township.
    pub(super) township: uuid::Uuid,
    /// Where the story ends.
    pub(super) status: CaseStatus,
    /// How the absence was found.
    pub(super) found_by: FoundBy,
    /// The reason the school records on day 4.
    pub(super) reason: ReasonCategory,
    /// The first day of the absence.
    pub(super) opened: NaiveDate,
}

/// A case's story, step by step.
#[derive(Debug, Clone)]
pub(super) struct Script {
    case: CaseId,
    casting: Casting,
    steps: Vec<Step>,
}

impl Script {
    /// The story of `casting`, from the reported absence to its status, with `crew`'s names on
    /// the attempts.
    pub(super) fn of(casting: Casting, crew: &Crew) -> Self {
        let mut script = Self {
            case: CaseId::new(),
            casting,
            steps: Vec::new(),
        };
        script.tell(crew);
        script
    }

    fn push(&mut self, after: i64, who: Who, change: Change) {
        self.steps.push(Step {
            day: self.casting.opened + Duration::days(after),
            who,
            act: Act::Push(change),
        });
    }

    fn move_to(&mut self, after: i64, who: Who, to: CaseStatus) {
        let fields = vec![CaseField::Status(to)];
        self.set(after, who, fields);
    }

    fn set(&mut self, after: i64, who: Who, fields: Vec<CaseField>) {
        let case_id = self.case;
        self.push(after, who, Change::UpdateCase { case_id, fields });
    }

    fn attempt(
        &mut self,
        after: i64,
        who: Who,
        (kind, outcome): (AttemptKind, AttemptOutcome),
        crew: &Crew,
    ) -> AttemptId {
        let c = self.casting;
        let id = AttemptId::new();
        let occurred_at = at(self.casting.opened + Duration::days(after), 0);
        let participants = crew.team(who, c.school, c.township);
        let statement = match outcome {
            AttemptOutcome::AgreedToReturn => "家长同意送孩子返校。",
            AttemptOutcome::NotReached => "家中无人，电话未接通。",
            _ => "家长表示孩子不愿上学，会再做工作。",
        };
        let attempt = NewAttempt {
            id,
            case_id: self.case,
            kind,
            occurred_at,
            location: Some(GeoPoint {
                lat: 25.04,
                lon: 102.71,
                accuracy_m: Some(15.0),
            }),
            participants,
            met_whom: "监护人".into(),
            guardian_statement: statement.into(),
            outcome,
            next_step: "三日内再次家访".into(),
            notes: String::new(),
        };
        self.push(after, who, Change::CreateAttempt { attempt });
        id
    }

    fn document(
        &mut self,
        after: i64,
        who: Who,
        doc_type: DocumentType,
        title: &str,
    ) -> DocumentId {
        let id = DocumentId::new();
        let document = NewDocument {
            id,
            case_id: self.case,
            doc_type,
            title: title.into(),
            issued_by: String::new(),
            issued_on: Some(self.casting.opened + Duration::days(after)),
            notes: String::new(),
        };
        self.push(after, who, Change::CreateDocument { document });
        id
    }

    /// The bureau approves `target_id` (an attempt, a document, or the case's closure request).
    fn approve(&mut self, after: i64, target: ReviewTarget, target_id: uuid::Uuid) {
        let review = NewReview {
            id: ReviewId::new(),
            case_id: self.case,
            target,
            target_id,
            verdict: Verdict::Approved,
            reason: String::new(),
        };
        self.push(after, Who::Supervisor, Change::CreateReview { review });
    }

    /// Papers recorded by `who` on `after` and approved by the bureau the day after.
    fn approved_papers(&mut self, after: i64, who: Who, papers: &[(DocumentType, &str)]) {
        for (doc_type, title) in papers {
            let id = self.document(after, who, *doc_type, title);
            self.approve(after + 1, ReviewTarget::Document, id.0);
        }
    }

    /// The school asks for `reason` with its approved papers, and the bureau approves it.
    fn write_off(&mut self, after: i64, reason: ClosureReason, papers: &[(DocumentType, &str)]) {
        self.approved_papers(after, Who::Lead, papers);
        self.set(after + 1, Who::Lead, vec![CaseField::ClosureReason(reason)]);
        self.approve(after + 2, ReviewTarget::Closure, self.case.0);
    }

    /// The reported absence, and its end if it ended: whether the story ends there.
    fn absence(&mut self, crew: &Crew) -> bool {
        use AttemptKind as K;
        use AttemptOutcome as O;
        let target = self.casting.status;
        let case = NewCase {
            id: self.case,
            student_id: self.casting.student.into(),
            found_by: self.casting.found_by,
            first_absent_on: self.casting.opened,
        };
        self.push(0, Who::Teacher, Change::OpenCase { case });
        // The family is phoned the day the child is missed (R2).
        match target {
            CaseStatus::AbsenceEnded | CaseStatus::Excused => {
                self.attempt(0, Who::Teacher, (K::PhoneCall, O::AgreedToReturn), crew);
                self.move_to(1, Who::Teacher, target);
                true
            }
            _ => {
                self.attempt(0, Who::Teacher, (K::PhoneCall, O::Undecided), crew);
                target == CaseStatus::Absent
            }
        }
    }

    /// Writes the story down, stage by stage, stopping where the case stands.
    fn tell(&mut self, crew: &Crew) {
        use AttemptKind as K;
        use AttemptOutcome as O;
        use CaseStatus as S;
        use DocumentType as D;
        let target = self.casting.status;
        if self.absence(crew) {
            return;
        }
        self.document(
            2,
            Who::Lead,
            D::TownshipNotice,
            "关于学生未到校情况的书面通知",
        );
        self.document(
            2,
            Who::Teacher,
            D::DropoutNotice,
            "辍学通报（家长签字确认）",
        );
        self.set(
            4,
            Who::Teacher,
            vec![CaseField::Reason(self.casting.reason)],
        );
        self.move_to(4, Who::Teacher, S::Suspected);
        self.document(5, Who::Lead, D::BureauReport, "关于学生疑似辍学的书面报告");
        if target == S::Suspected {
            return;
        }
        self.move_to(5, Who::Teacher, S::SchoolPersuasion);
        let recorded = target == S::VocationalSchool;
        for day in [6, 9, 12] {
            let visit = self.attempt(day, Who::Teacher, (K::HomeVisit, O::Refused), crew);
            if day == 6 {
                self.evidence(day, Who::Teacher, visit, MediaKind::Photo);
            }
            if recorded {
                self.evidence(day, Who::Teacher, visit, MediaKind::Audio);
                self.sign(day, Who::Teacher, visit, &[]);
            }
        }
        match target {
            S::SchoolPersuasion => return,
            S::Deferred => {
                let papers = [
                    (D::GuardianApplication, "休学申请"),
                    (D::HospitalCertificate, "县人民医院诊断证明"),
                    (D::SuspensionApproval, "休学审批表"),
                ];
                return self.write_off(13, ClosureReason::DeferredForIllness, &papers);
            }
            S::Closed => {
                let papers = [(D::DeregistrationRecord, "重复学籍注销记录")];
                return self.write_off(13, ClosureReason::DuplicateRegistration, &papers);
            }
            _ => {}
        }
        self.move_to(13, Who::Lead, S::Reported);
        if target == S::Reported {
            return;
        }
        self.document(15, Who::Officer, D::ReturnNotice, "限期返校通知书");
        self.move_to(16, Who::Officer, S::JointPersuasion);
        for day in [18, 22, 26] {
            let joint = self.attempt(day, Who::Officer, (K::JointPersuasion, O::Refused), crew);
            if recorded {
                self.evidence(day, Who::Officer, joint, MediaKind::Audio);
                self.sign(day, Who::Officer, joint, &[POLICE_OFFICER, VILLAGE_HEAD]);
            }
            if day == 18 {
                self.approve(19, ReviewTarget::Attempt, joint.0);
            }
        }
        self.measures(target, crew);
    }

    /// What follows joint persuasion: a return (followed up), a compulsory return or a
    /// vocational placement (R14, R20).
    fn measures(&mut self, target: CaseStatus, crew: &Crew) {
        use CaseStatus as S;
        use DocumentType as D;
        match target {
            S::Returned | S::FollowUp => {
                let agreed = (AttemptKind::JointPersuasion, AttemptOutcome::AgreedToReturn);
                self.attempt(28, Who::Officer, agreed, crew);
                self.move_to(30, Who::Teacher, S::Returned);
                if target == S::FollowUp {
                    self.document(31, Who::Teacher, D::PlacementPlan, "返校安置与帮扶计划");
                    self.move_to(32, Who::Teacher, S::FollowUp);
                    let visit = (AttemptKind::HomeVisit, AttemptOutcome::AgreedToReturn);
                    self.attempt(40, Who::Teacher, visit, crew);
                }
            }
            S::CompulsoryReturn => {
                self.document(
                    28,
                    Who::Officer,
                    D::JudicialFiling,
                    "督促监护人履行义务立案材料",
                );
                self.move_to(29, Who::Officer, S::CompulsoryReturn);
                self.document(35, Who::Teacher, D::TeachingRecord, "送教上门记录");
                self.document(40, Who::Officer, D::HearingRecord, "庭审笔录");
            }
            S::VocationalSchool => {
                let papers = [
                    (D::GuardianConsent, "监护人同意书"),
                    (D::ChildConsent, "学生本人同意书"),
                    (D::EducationPlan, "个别化教育方案"),
                    (D::AcceptanceLetter, "职业学校接收函"),
                ];
                self.approved_papers(28, Who::Officer, &papers);
                self.move_to(30, Who::Supervisor, S::VocationalSchool);
            }
            _ => {}
        }
    }

    /// A `kind` file kept with `attempt`, `after` days in.
    fn evidence(&mut self, after: i64, who: Who, attempt: AttemptId, kind: MediaKind) {
        self.steps.push(Step {
            day: self.casting.opened + Duration::days(after),
            who,
            act: Act::Evidence(attempt, kind),
        });
    }

    /// `who` signs `attempt`, `after` days in, vouching for the drawn signatures of `drawn`.
    fn sign(&mut self, after: i64, who: Who, attempt: AttemptId, drawn: &'static [&'static str]) {
        self.steps.push(Step {
            day: self.casting.opened + Duration::days(after),
            who,
            act: Act::Sign(attempt, drawn),
        });
    }

    /// Plays the story in `txn`, step by step, each on its day; answers the case as it ends.
    pub(super) async fn play(
        &self,
        state: &AppState,
        txn: &DatabaseTransaction,
        crew: &Crew,
    ) -> anyhow::Result<case::Model> {
        let c = self.casting;
        for (seq, step) in self.steps.iter().enumerate() {
            let when = at(step.day, seq);
            let member = crew.member(step.who, c.school, c.township)?;
            let row = crate::db::cases::by_id(txn, self.case.0).await?;
            let version = row.as_ref().map_or(0, |r| r.version);
            match &step.act {
                Act::Push(change) => {
                    self.push_as(state, txn, member, (version, when), change.clone())
                        .await?;
                }
                Act::Evidence(attempt, kind) => {
                    let row = row.ok_or_else(|| anyhow::anyhow!("case {} not open", self.case))?;
                    let file = demo_file(*kind, step.day, seq)?;
                    keep(state, txn, member, &row, attempt, file).await?;
                }
                Act::Sign(attempt, drawn) => {
                    let row = row.ok_or_else(|| anyhow::anyhow!("case {} not open", self.case))?;
                    let mut vouched = Vec::new();
                    for name in *drawn {
                        let file = drawing(name, step.day)?;
                        let kept = keep(state, txn, member, &row, attempt, file).await?;
                        vouched.push(Vouched {
                            name: (*name).into(),
                            drawing_sha256: kept.sha256,
                        });
                    }
                    let signature = member
                        .signature(txn, &state.sealer, row.id, *attempt, (vouched, when))
                        .await?;
                    let change = Change::SignAttempt { signature };
                    self.push_as(state, txn, member, (version, when), change)
                        .await?;
                }
            }
        }
        crate::db::cases::by_id(txn, self.case.0)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the demo's case {} was not opened", self.case))
    }

    /// Applies `change` as `member`'s phone would push it on the case's `version`, `when`.
    async fn push_as(
        &self,
        state: &AppState,
        txn: &DatabaseTransaction,
        member: &Member,
        (version, when): (i64, DateTime<Utc>),
        change: Change,
    ) -> anyhow::Result<()> {
        let m = Mutation {
            id: MutationId::new(),
            base_version: version,
            hlc: HlcStamp {
                millis: when.timestamp_millis(),
                counter: 0,
                device: member.user.device_id.into(),
            },
            change,
        };
        let leaving_age = state.config.leaving_age;
        let mut batch = Batch::new(txn, &state.sealer, &member.user, when, leaving_age);
        batch.prefetch(&[&m]).await?;
        let outcome = batch.apply(&m, m.hlc).await?;
        batch.flush().await?;
        crate::cases::due_store::append(txn, batch.changes).await?;
        if let Err(refused) = outcome {
            anyhow::bail!(
                "the demo's case {} was refused on {}: {}",
                self.case,
                when.date_naive(),
                refused.reason
            );
        }
        Ok(())
    }
}

/// Keeps `file` as evidence of `attempt` of the case `row`, by `member`.
async fn keep(
    state: &AppState,
    txn: &DatabaseTransaction,
    member: &Member,
    row: &case::Model,
    attempt: &AttemptId,
    file: Generated,
) -> anyhow::Result<media_object::Model> {
    let target = ("attempt", attempt.0);
    let media = generated::store(&state.storage, row, target, member.user.id, file)
        .await
        .map_err(|e| anyhow::anyhow!("keeping a demo file: {e}"))?;
    record_media(txn, &media, row)
        .await
        .map_err(|e| anyhow::anyhow!("linking a demo file: {e}"))?;
    Ok(media)
}

/// The instant of the `seq`-th step of a story on `day`: from 09:00 in China, a minute apart.
fn at(day: NaiveDate, seq: usize) -> DateTime<Utc> {
    let nine = day.and_hms_opt(1, 0, 0).unwrap_or_default().and_utc();
    nine + Duration::minutes(i64::try_from(seq).unwrap_or(0))
}

/// The demo's `kind` file of a step on `day`, told apart by `seed`: a recording or a photo.
fn demo_file(kind: MediaKind, day: NaiveDate, seed: usize) -> anyhow::Result<Generated> {
    Ok(match kind {
        MediaKind::Photo => Generated {
            bytes: photo(seed)?.into(),
            content_type: "image/jpeg",
            file_name: format!("家访照片-{day}.jpg"),
            kind,
        },
        _ => Generated {
            bytes: silence(seed).into(),
            content_type: "audio/wav",
            file_name: format!("劝返录音-{day}.wav"),
            kind: MediaKind::Audio,
        },
    })
}

/// A 320×240 JPEG of a sky over a field, its colours told apart by `seed`.
fn photo(seed: usize) -> anyhow::Result<Vec<u8>> {
    let tint = u8::try_from(seed % 64).unwrap_or(0);
    let picture = image::RgbImage::from_fn(320, 240, |x, y| {
        let shade = u8::try_from((x + y) % 64).unwrap_or(0);
        if y < 140 {
            image::Rgb([120 + shade, 170 + tint, 230])
        } else {
            image::Rgb([60 + tint, 130 + shade, 50])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, image::ImageFormat::Jpeg)?;
    Ok(out.into_inner())
}

/// A second of silence as an 8 kHz, 8-bit mono WAV file, told apart by `seed` in its last byte.
fn silence(seed: usize) -> Vec<u8> {
    const RATE: u32 = 8000;
    let mut wav = Vec::with_capacity(44 + RATE as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + RATE).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.resize(44 + RATE as usize, 128);
    if let Some(last) = wav.last_mut() {
        *last = u8::try_from(seed % 256).unwrap_or(0);
    }
    wav
}

/// `name`'s signature drawn on a phone's screen on `day`: a black stroke on white, as a PNG.
fn drawing(name: &str, day: NaiveDate) -> anyhow::Result<Generated> {
    let seed = name.chars().map(u32::from).sum::<u32>() + day.ordinal();
    let picture = image::GrayImage::from_fn(240, 80, |x, y| {
        let wave = 40.0 + 25.0 * ((x as f32 + seed as f32) / 17.0).sin();
        if (y as f32 - wave).abs() < 2.0 {
            image::Luma([0])
        } else {
            image::Luma([255])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(Generated {
        bytes: out.into_inner().into(),
        content_type: "image/png",
        file_name: format!("{name}签字-{day}.png"),
        kind: MediaKind::Photo,
    })
}
