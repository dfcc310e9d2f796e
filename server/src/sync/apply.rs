//! Applying one mutation inside a push's transaction, with the caller's scope and role, through
//! the merge rules of `sync_protocol::merge`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QuerySelect, TransactionTrait, TryIntoModel as _,
};
use sync_protocol::cases::CaseStatus;
use sync_protocol::evidence::{ReviewTarget, Verdict};
use sync_protocol::merge::{
    self, AttemptFields, CaseFields, DocumentFields, FieldLoss, Mergeable, Rejection,
    unite_participants,
};
use sync_protocol::org::Role;
use sync_protocol::sync::{
    AttemptField, CaseField, Change, DocumentField, EntityKind, FieldStamp, FieldStamps,
    FieldValue, Mutation, NewAttempt, NewDocument, NewReview, RejectCode,
};
use sync_protocol::{ConflictId, hlc::HlcStamp};
use uuid::Uuid;

use crate::audit;
use crate::auth::AuthUser;
use crate::cases::{history, machine, rights};
use crate::db::attempts::{parse_stamps, stamps_text};
use crate::db::chain::{self, LedgerKind};
use crate::db::changes::{ChangeSet, RecordScope};
use crate::db::entity::{
    attempt, attempt_participant, case, case_move, conflict, document, review, user,
};
use crate::db::{attempts, documents};
use crate::personal_data::Sealer;

/// What an applied mutation left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The record's version after it.
    pub version: i64,
    /// The conflict records it made.
    pub conflicts: Vec<ConflictId>,
}

/// A mutation's result before it is sent: applied, or refused by the rules.
pub type Outcome = Result<Applied, Rejection>;

fn reject(code: RejectCode, reason: impl Into<String>) -> Outcome {
    Err(Rejection {
        code,
        reason: reason.into(),
    })
}

fn not_found(what: &str) -> Outcome {
    reject(RejectCode::NotFound, format!("no such {what}"))
}

fn forbidden_evidence() -> Outcome {
    reject(
        RejectCode::Forbidden,
        "an administrator manages accounts and calendars; attempts and documents are recorded by case workers",
    )
}

/// The state of one push: its transaction, caller, time, the changes it made, and the cases it
/// already looked up in the caller's scope.
pub struct Batch<'a, C> {
    txn: &'a C,
    sealer: &'a Sealer,
    user: &'a AuthUser,
    now: DateTime<Utc>,
    /// Changes to append to the log before commit.
    pub changes: ChangeSet,
    cases: HashMap<Uuid, Option<case::Model>>,
    /// Attempts of this push that exist already (looked up once for the whole batch).
    existing_attempts: HashSet<Uuid>,
    /// New attempts waiting to be inserted together.
    pending: Pending,
}

/// New attempts held back to be inserted many rows per statement. Anything that might read
/// them (any mutation other than a plain new attempt) flushes them first.
#[derive(Default)]
struct Pending {
    ids: HashSet<Uuid>,
    attempts: Vec<attempt::ActiveModel>,
    participants: Vec<attempt_participant::ActiveModel>,
}

/// A field clock where every named field was written at `hlc` by version 1.
fn initial_stamps(names: &[&str], hlc: HlcStamp) -> FieldStamps {
    names
        .iter()
        .map(|n| ((*n).to_owned(), FieldStamp { version: 1, hlc }))
        .collect()
}

/// The last-writer-wins fields of a new attempt, as field values.
fn attempt_scalars(new: &NewAttempt) -> Vec<AttemptField> {
    vec![
        AttemptField::MetWhom(new.met_whom.clone()),
        AttemptField::GuardianStatement(new.guardian_statement.clone()),
        AttemptField::Outcome(new.outcome),
        AttemptField::NextStep(new.next_step.clone()),
        AttemptField::Notes(new.notes.clone()),
        AttemptField::Location(new.location),
    ]
}

/// The last-writer-wins fields of a new document, as field values.
fn document_scalars(new: &NewDocument) -> Vec<DocumentField> {
    vec![
        DocumentField::Title(new.title.clone()),
        DocumentField::IssuedBy(new.issued_by.clone()),
        DocumentField::IssuedOn(new.issued_on),
        DocumentField::Notes(new.notes.clone()),
    ]
}

fn field_names<E: Mergeable>(fields: &[E::Field]) -> Vec<&'static str> {
    fields.iter().map(E::name).collect()
}

impl<'a, C: ConnectionTrait + TransactionTrait> Batch<'a, C> {
    /// A batch in `txn` for `user` at `now`, sealing attempts' free text with `sealer`.
    pub fn new(txn: &'a C, sealer: &'a Sealer, user: &'a AuthUser, now: DateTime<Utc>) -> Self {
        Self {
            txn,
            sealer,
            user,
            now,
            changes: ChangeSet::default(),
            cases: HashMap::new(),
            existing_attempts: HashSet::new(),
            pending: Pending::default(),
        }
    }

    /// Looks up, a few queries for the whole batch, which attempts its creations name exist
    /// already and the cases they belong to (in the caller's scope).
    pub async fn prefetch(&mut self, mutations: &[&Mutation]) -> Result<(), DbErr> {
        let case_ids: HashSet<Uuid> = mutations
            .iter()
            .filter_map(|m| match &m.change {
                Change::CreateAttempt { attempt } => Some(attempt.case_id.0),
                Change::UpdateCase { case_id, .. } => Some(case_id.0),
                _ => None,
            })
            .collect();
        let case_ids: Vec<Uuid> = case_ids.into_iter().collect();
        for chunk in case_ids.chunks(500) {
            for id in chunk {
                self.cases.insert(*id, None);
            }
            let found = case::Entity::find()
                .filter(case::Column::Id.is_in(chunk.iter().copied()))
                .filter(self.user.scope().condition::<case::Entity>())
                .all(self.txn)
                .await?;
            for row in found {
                self.cases.insert(row.id, Some(row));
            }
        }
        let ids: Vec<Uuid> = mutations
            .iter()
            .filter_map(|m| match &m.change {
                Change::CreateAttempt { attempt } => Some(attempt.id.0),
                _ => None,
            })
            .collect();
        for chunk in ids.chunks(500) {
            let found: Vec<Uuid> = attempt::Entity::find()
                .select_only()
                .column(attempt::Column::Id)
                .filter(attempt::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(self.txn)
                .await?;
            self.existing_attempts.extend(found);
        }
        Ok(())
    }

    /// Inserts the attempts held back. Must run before anything reads attempts, and before commit.
    pub async fn flush(&mut self) -> Result<(), DbErr> {
        let pending = std::mem::take(&mut self.pending);
        self.existing_attempts.extend(pending.ids);
        attempts::insert_rows(self.txn, pending.attempts, pending.participants).await
    }

    /// The case `id` if it is in the caller's scope (looked up once per batch).
    async fn case(&mut self, id: Uuid) -> Result<Option<case::Model>, DbErr> {
        if let Some(cached) = self.cases.get(&id) {
            return Ok(cached.clone());
        }
        let found = case::Entity::find_by_id(id)
            .filter(self.user.scope().condition::<case::Entity>())
            .one(self.txn)
            .await?;
        self.cases.insert(id, found.clone());
        Ok(found)
    }

    /// Applies `m`, whose stamp (after clamping) is `hlc`.
    pub async fn apply(&mut self, m: &Mutation, hlc: HlcStamp) -> Result<Outcome, DbErr> {
        let now = chrono::Utc::now();
        if let Some(reason) = m.change.implausible(now, crate::calendar::china_date(now)) {
            return Ok(reject(RejectCode::Invalid, reason));
        }
        let plain_new_attempt = matches!(&m.change, Change::CreateAttempt { attempt }
            if !self.existing_attempts.contains(&attempt.id.0) && !self.pending.ids.contains(&attempt.id.0));
        if !plain_new_attempt {
            self.flush().await?;
        }
        match &m.change {
            Change::UpdateCase { case_id, fields } => {
                self.update_case(m, hlc, case_id.0, fields).await
            }
            Change::CreateAttempt { attempt } => self.create_attempt(m, hlc, attempt).await,
            Change::UpdateAttempt {
                attempt_id,
                fields,
                add_participants,
            } => {
                self.update_attempt(m, hlc, attempt_id.0, fields, add_participants, None)
                    .await
            }
            Change::CreateDocument { document } => self.create_document(m, hlc, document).await,
            Change::UpdateDocument {
                document_id,
                fields,
            } => self.update_document(m, hlc, document_id.0, fields).await,
            Change::CreateReview { review } => self.create_review(m, hlc, review).await,
        }
    }

    async fn update_case(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        id: Uuid,
        fields: &[CaseField],
    ) -> Result<Outcome, DbErr> {
        let Some(row) = self.case(id).await? else {
            return Ok(not_found("case"));
        };
        if !rights::edits_cases(self.user.role) {
            return Ok(reject(
                RejectCode::Forbidden,
                "a village committee member or an administrator changes no field of a ledger row",
            ));
        }
        let asks_closure = fields
            .iter()
            .any(|f| matches!(f, CaseField::ClosureReason(_)));
        if asks_closure && !machine::CLOSURE_REQUESTERS.contains(&self.user.role) {
            return Ok(reject(
                RejectCode::Forbidden,
                "only a school lead, a township officer or the bureau asks for a row to be closed",
            ));
        }
        for field in fields {
            if let CaseField::ResponsibleUserId(person) = field
                && !self.staff_of(&row, person.0).await?
            {
                return Ok(reject(
                    RejectCode::Invalid,
                    "the responsible person must be staff of the case's school, village, township or district",
                ));
            }
        }
        let corrupt = |e: String| DbErr::Custom(format!("corrupt case {id}: {e}"));
        let mut state = CaseFields {
            status: row.status.parse().map_err(corrupt)?,
            reason: row
                .reason
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(corrupt)?,
            responsible_user_id: row.responsible_user_id.map(Into::into),
            relapse_count: row.relapse_count,
            closure_reason: row
                .closure_reason
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(corrupt)?,
        };
        let mut stamps = parse_stamps(&row.field_stamps)?;
        let version = row.version + 1;
        let losses = match merge::apply_case_update(
            &mut state,
            &mut stamps,
            m.base_version,
            hlc,
            fields,
            version,
        ) {
            Ok(losses) => losses,
            Err(rejection) => return Ok(Err(rejection)),
        };
        let from: CaseStatus = row.status.parse().map_err(corrupt)?;
        if state.status != from {
            if let Err(refusal) = self.check_move(&row, &state).await? {
                return Ok(Err(refusal));
            }
            let move_id = Uuid::now_v7();
            case_move::ActiveModel {
                id: Set(move_id),
                case_id: Set(id),
                from_status: Set(from.as_str().to_owned()),
                to_status: Set(state.status.as_str().to_owned()),
                moved_by: Set(self.user.id),
                moved_at: Set(self.move_date(id, hlc).await?),
                recorded_at: Set(self.now),
                mutation_id: Set(m.id.0),
            }
            .insert(self.txn)
            .await?;
            self.changes.record_move(move_id);
            audit::record(
                self.txn,
                self.user,
                None,
                audit::Action::MoveCase,
                Some(id),
                serde_json::json!({ "from": from, "to": state.status, "mutation_id": m.id }),
            )
            .await?;
        }
        let mut active: case::ActiveModel = row.clone().into();
        active.status = Set(state.status.as_str().to_owned());
        active.reason = Set(state.reason.map(|r| r.as_str().to_owned()));
        active.responsible_user_id = Set(state.responsible_user_id.map(|u| u.0));
        active.relapse_count = Set(state.relapse_count);
        active.closure_reason = Set(state.closure_reason.map(|r| r.as_str().to_owned()));
        active.version = Set(version);
        active.field_stamps = Set(stamps_text(&stamps));
        active.updated_at = Set(self.now);
        let updated = active.update(self.txn).await?;
        self.cases.insert(id, Some(updated.clone()));
        self.finish_update(
            EntityKind::Case,
            id,
            &updated,
            m,
            losses,
            FieldValue::Case,
            version,
        )
        .await
    }

    /// When a move of case `id` stamped `hlc` counts as made: the stamp, but no earlier than
    /// [`machine::MOVE_BACKDATE_LIMIT`] before now, nor than the case's previous move.
    async fn move_date(&self, id: Uuid, hlc: HlcStamp) -> Result<DateTime<Utc>, DbErr> {
        let stamped = DateTime::from_timestamp_millis(hlc.millis).unwrap_or(self.now);
        let previous: Option<DateTime<Utc>> = case_move::Entity::find()
            .select_only()
            .column_as(case_move::Column::MovedAt.max(), "latest")
            .filter(case_move::Column::CaseId.eq(id))
            .into_tuple()
            .one(self.txn)
            .await?
            .flatten();
        let floor = previous.map_or(self.now - machine::MOVE_BACKDATE_LIMIT, |p| {
            p.max(self.now - machine::MOVE_BACKDATE_LIMIT)
        });
        Ok(stamped.max(floor).min(self.now))
    }

    /// Whether the account `person` belongs to the case's school, village, township or district.
    async fn staff_of(&self, case: &case::Model, person: Uuid) -> Result<bool, DbErr> {
        let units = [
            case.school_id,
            case.village_id,
            case.township_id,
            case.district_id,
        ];
        Ok(user::Entity::find_by_id(person)
            .one(self.txn)
            .await?
            .is_some_and(|p| units.contains(&p.org_unit_id)))
    }

    /// Checks the caller may move the case `row` to the merged `state`'s status now: role and
    /// requirements over the case's history, with the mutation's other fields already applied.
    async fn check_move(
        &self,
        row: &case::Model,
        state: &CaseFields,
    ) -> Result<Result<(), Rejection>, DbErr> {
        let mut history = history::load(self.txn, std::slice::from_ref(row))
            .await?
            .remove(&row.id)
            .ok_or_else(|| DbErr::Custom(format!("no history for case {}", row.id)))?;
        history.reason = state.reason;
        history.closure_reason = state.closure_reason;
        history.responsible = state.responsible_user_id.is_some();
        Ok(machine::check_move(
            self.user.role,
            &history,
            state.status,
            crate::calendar::china_date(self.now),
        )
        .map_err(|refusal| {
            let code = match refusal {
                machine::Refusal::Illegal(_) => RejectCode::IllegalTransition,
                machine::Refusal::Forbidden { .. } => RejectCode::Forbidden,
                machine::Refusal::Unmet { .. } => RejectCode::RequirementsUnmet,
            };
            Rejection {
                code,
                reason: refusal.to_string(),
            }
        }))
    }

    async fn create_attempt(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        new: &NewAttempt,
    ) -> Result<Outcome, DbErr> {
        let Some(case) = self.case(new.case_id.0).await? else {
            return Ok(not_found("case"));
        };
        if !rights::records_evidence(self.user.role) {
            return Ok(forbidden_evidence());
        }
        if self.existing_attempts.contains(&new.id.0) {
            let Some(existing) = attempt::Entity::find_by_id(new.id.0).one(self.txn).await? else {
                return Ok(not_found("attempt"));
            };
            let same = existing.case_id == new.case_id.0
                && existing.kind == new.kind.as_str()
                && existing.occurred_at.timestamp_micros() == new.occurred_at.timestamp_micros()
                && existing.author_id == self.user.id;
            if !same {
                return Ok(reject(
                    RejectCode::ImmutableField,
                    "an attempt with this id exists with another case, kind, time or author",
                ));
            }
            // The same attempt recorded again (say, after a reinstall): merge it as an edit.
            return self
                .update_attempt(
                    m,
                    hlc,
                    new.id.0,
                    &attempt_scalars(new),
                    &new.participants,
                    Some(existing),
                )
                .await;
        }
        let scalars = attempt_scalars(new);
        let stamps = initial_stamps(&field_names::<AttemptFields>(&scalars), hlc);
        let (row, participants) = attempts::rows(self.sealer, new, self.user.id, &stamps, self.now);
        let content = chain::attempt_content(
            &row.clone().try_into_model()?,
            &participants
                .iter()
                .map(|p| p.clone().try_into_model())
                .collect::<Result<Vec<_>, _>>()?,
        );
        self.pending.ids.insert(new.id.0);
        self.pending.attempts.push(row);
        self.pending.participants.extend(participants);
        self.changes.upsert(
            EntityKind::Attempt,
            new.id.0,
            RecordScope::from(&case),
            true,
        );
        self.changes
            .known_content(LedgerKind::Attempt, new.id.0, case.id, content);
        Ok(Ok(Applied {
            version: 1,
            conflicts: Vec::new(),
        }))
    }

    async fn update_attempt(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        id: Uuid,
        fields: &[AttemptField],
        add: &[sync_protocol::cases::Participant],
        known: Option<attempt::Model>,
    ) -> Result<Outcome, DbErr> {
        let row = match known {
            Some(row) => row,
            None => match attempt::Entity::find_by_id(id).one(self.txn).await? {
                Some(row) => row,
                None => return Ok(not_found("attempt")),
            },
        };
        let Some(case) = self.case(row.case_id).await? else {
            return Ok(not_found("attempt"));
        };
        if fields.is_empty() && add.is_empty() {
            return Ok(Err(Rejection::empty_update()));
        }
        let participants = attempts::participants(self.txn, id).await?;
        if !rights::edits_attempt(self.user.id, row.author_id, &participants) {
            return Ok(reject(
                RejectCode::Forbidden,
                "only its author and the staff listed on it change an attempt",
            ));
        }
        let mut state = attempts::fields(self.sealer, &row, participants)?;
        let mut stamps = parse_stamps(&row.field_stamps)?;
        let version = row.version + 1;
        let losses = merge::merge_scalars(
            &mut state,
            &mut stamps,
            m.base_version,
            hlc,
            fields,
            version,
        );
        let grew = unite_participants(&mut state, add);
        attempts::store(self.txn, self.sealer, row, &state, &stamps, version, grew).await?;
        self.finish_update(
            EntityKind::Attempt,
            id,
            &case,
            m,
            losses,
            FieldValue::Attempt,
            version,
        )
        .await
    }

    async fn create_document(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        new: &NewDocument,
    ) -> Result<Outcome, DbErr> {
        let Some(case) = self.case(new.case_id.0).await? else {
            return Ok(not_found("case"));
        };
        if !rights::records_evidence(self.user.role) {
            return Ok(forbidden_evidence());
        }
        if let Some(existing) = document::Entity::find_by_id(new.id.0).one(self.txn).await? {
            if existing.case_id != new.case_id.0
                || existing.doc_type != new.doc_type.as_str()
                || existing.author_id != self.user.id
            {
                return Ok(reject(
                    RejectCode::ImmutableField,
                    "a document with this id exists with another case, type or author",
                ));
            }
            return self
                .update_document(m, hlc, new.id.0, &document_scalars(new))
                .await;
        }
        let scalars = document_scalars(new);
        let stamps = initial_stamps(&field_names::<DocumentFields>(&scalars), hlc);
        documents::insert(self.txn, new, self.user.id, &stamps, self.now).await?;
        self.changes.upsert(
            EntityKind::Document,
            new.id.0,
            RecordScope::from(&case),
            true,
        );
        Ok(Ok(Applied {
            version: 1,
            conflicts: Vec::new(),
        }))
    }

    async fn update_document(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        id: Uuid,
        fields: &[DocumentField],
    ) -> Result<Outcome, DbErr> {
        let Some(row) = document::Entity::find_by_id(id).one(self.txn).await? else {
            return Ok(not_found("document"));
        };
        let Some(case) = self.case(row.case_id).await? else {
            return Ok(not_found("document"));
        };
        if !rights::edits_document(self.user.id, row.author_id) {
            return Ok(reject(
                RejectCode::Forbidden,
                "only its author changes a document",
            ));
        }
        if fields.is_empty() {
            return Ok(Err(Rejection::empty_update()));
        }
        let mut state = documents::fields(&row);
        let mut stamps = parse_stamps(&row.field_stamps)?;
        let version = row.version + 1;
        let losses = merge::merge_scalars(
            &mut state,
            &mut stamps,
            m.base_version,
            hlc,
            fields,
            version,
        );
        documents::store(self.txn, row, &state, &stamps, version).await?;
        self.finish_update(
            EntityKind::Document,
            id,
            &case,
            m,
            losses,
            FieldValue::Document,
            version,
        )
        .await
    }

    /// Records a supervisor's review. Approving a closure request closes the row, through the
    /// same move check as any other status move: it is refused, listing what is missing, until
    /// the closure reason's evidence is attached and approved.
    async fn create_review(
        &mut self,
        m: &Mutation,
        hlc: HlcStamp,
        new: &NewReview,
    ) -> Result<Outcome, DbErr> {
        if self.user.role != Role::Supervisor {
            return Ok(reject(
                RejectCode::Forbidden,
                "only the bureau reviews evidence",
            ));
        }
        let Some(case) = self.case(new.case_id.0).await? else {
            return Ok(not_found("case"));
        };
        if let Some(existing) = review::Entity::find_by_id(new.id.0).one(self.txn).await? {
            let same = existing.case_id == new.case_id.0
                && existing.target_kind == new.target.as_str()
                && existing.target_id == new.target_id
                && existing.verdict == new.verdict.as_str()
                && existing.reason == new.reason
                && existing.reviewer_id == self.user.id;
            return Ok(if same {
                Ok(Applied {
                    version: 1,
                    conflicts: Vec::new(),
                })
            } else {
                reject(
                    RejectCode::ImmutableField,
                    "a review is never changed; record a new one",
                )
            });
        }
        if new.verdict != Verdict::Approved && new.reason.trim().is_empty() {
            return Ok(reject(
                RejectCode::Invalid,
                "a review that does not approve says why",
            ));
        }
        let on_case = match new.target {
            ReviewTarget::Attempt => attempt::Entity::find_by_id(new.target_id)
                .one(self.txn)
                .await?
                .is_some_and(|a| a.case_id == case.id),
            ReviewTarget::Document => document::Entity::find_by_id(new.target_id)
                .one(self.txn)
                .await?
                .is_some_and(|d| d.case_id == case.id),
            ReviewTarget::Closure => new.target_id == case.id,
        };
        if !on_case {
            return Ok(not_found(new.target.as_str()));
        }
        if new.target == ReviewTarget::Closure && new.verdict == Verdict::Approved {
            let close = [CaseField::Status(CaseStatus::Closed)];
            if let Err(refusal) = self.update_case(m, hlc, case.id, &close).await? {
                return Ok(Err(refusal));
            }
        }
        review::ActiveModel {
            id: Set(new.id.0),
            case_id: Set(new.case_id.0),
            target_kind: Set(new.target.as_str().to_owned()),
            target_id: Set(new.target_id),
            verdict: Set(new.verdict.as_str().to_owned()),
            reason: Set(new.reason.clone()),
            reviewer_id: Set(self.user.id),
            created_at: Set(self.now),
        }
        .insert(self.txn)
        .await?;
        audit::record(
            self.txn,
            self.user,
            None,
            audit::Action::Review,
            Some(case.id),
            serde_json::json!({
                "review_id": new.id, "target": new.target, "target_id": new.target_id,
                "verdict": new.verdict, "reason": new.reason,
            }),
        )
        .await?;
        self.changes
            .upsert(EntityKind::Review, new.id.0, RecordScope::from(&case), true);
        Ok(Ok(Applied {
            version: 1,
            conflicts: Vec::new(),
        }))
    }

    /// Ends an update of record `entity_id` of `case` to `version`: logs the change and keeps
    /// each lost value in a conflict record, visible to the case's scope.
    #[allow(clippy::too_many_arguments)]
    async fn finish_update<F>(
        &mut self,
        kind: EntityKind,
        entity_id: Uuid,
        case: &case::Model,
        m: &Mutation,
        losses: Vec<FieldLoss<F>>,
        wrap: fn(F) -> FieldValue,
        version: i64,
    ) -> Result<Outcome, DbErr> {
        let (case_id, scope) = (case.id, RecordScope::from(case));
        self.changes.upsert(kind, entity_id, scope, false);
        let mut ids = Vec::new();
        for loss in losses {
            let id = ConflictId::new();
            let keep = |column: &str, value: String| match kind {
                EntityKind::Attempt => {
                    crate::db::conflicts::sealed(self.sealer, id.0, column, &value)
                }
                _ => value,
            };
            conflict::ActiveModel {
                id: Set(id.0),
                entity_kind: Set(kind.as_str().to_owned()),
                entity_id: Set(entity_id),
                case_id: Set(case_id),
                field: Set(loss.field.to_owned()),
                winning_value: Set(keep("winning_value", json(&wrap(loss.winning)))),
                winning_hlc: Set(json(&loss.winning_hlc)),
                losing_value: Set(keep("losing_value", json(&wrap(loss.losing)))),
                losing_hlc: Set(json(&loss.losing_hlc)),
                losing_mutation_id: Set(loss.incoming_lost.then_some(m.id.0)),
                losing_device_id: Set(loss.losing_hlc.device.0),
                created_at: Set(self.now),
            }
            .insert(self.txn)
            .await?;
            self.changes.upsert(EntityKind::Conflict, id.0, scope, true);
            ids.push(id);
        }
        Ok(Ok(Applied {
            version,
            conflicts: ids,
        }))
    }
}

/// JSON text of a value, as conflict rows store it.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
