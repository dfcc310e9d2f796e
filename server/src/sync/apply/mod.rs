//! Applying one mutation inside a push's transaction, with the caller's scope and role, through
//! the merge rules of `sync_protocol::merge`: the batch and what every kind shares here, each
//! record kind in a file of its own (`cases`, `attempts`, `documents`, `reviews`, `signatures`).

mod attempts;
mod cases;
mod documents;
mod opening;
mod reviews;
mod signatures;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use sync_protocol::merge::{FieldLoss, Rejection};
use sync_protocol::sync::{Change, EntityKind, FieldValue, Mutation, RejectCode};
use sync_protocol::{ConflictId, hlc::HlcStamp};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::entity::{attempt, attempt_participant, case, conflict};
use crate::db::{
    self,
    changes::{ChangeSet, RecordScope},
};
use crate::personal_data::Sealer;
use crate::plausibility::raise::Arrival;

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

/// A record made by the mutation, at version 1.
fn created() -> Outcome {
    Ok(Applied {
        version: 1,
        conflicts: Vec::new(),
    })
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
    /// The configured over-age leaving age the case machine judges deferred rows by.
    leaving_age: u32,
    /// Changes to append to the log before commit.
    pub changes: ChangeSet,
    cases: HashMap<Uuid, Option<case::Model>>,
    /// Phone-made case ids of this batch's mutations joined to the row that was open already.
    aliases: HashMap<Uuid, Uuid>,
    /// Attempts of this push that exist already (looked up once for the whole batch).
    existing_attempts: HashSet<Uuid>,
    /// New attempts waiting to be inserted together.
    pending: Pending,
    /// The attempts this batch created: what the plausibility flags check once the batch is
    /// written.
    pub arrived: Vec<Arrival>,
}

/// New attempts held back to be inserted many rows per statement. Anything that might read
/// them (any mutation other than a plain new attempt) flushes them first.
#[derive(Default)]
struct Pending {
    ids: HashSet<Uuid>,
    attempts: Vec<attempt::Model>,
    participants: Vec<attempt_participant::Model>,
}

impl<'a, C: ConnectionTrait + TransactionTrait> Batch<'a, C> {
    /// A batch in `txn` for `user` at `now`, sealing attempts' free text with `sealer`, judging
    /// deferred rows by the over-age `leaving_age`.
    pub fn new(
        txn: &'a C,
        sealer: &'a Sealer,
        user: &'a AuthUser,
        now: DateTime<Utc>,
        leaving_age: u32,
    ) -> Self {
        Self {
            txn,
            sealer,
            user,
            now,
            leaving_age,
            changes: ChangeSet::default(),
            cases: HashMap::new(),
            aliases: HashMap::new(),
            existing_attempts: HashSet::new(),
            pending: Pending::default(),
            arrived: Vec::new(),
        }
    }

    /// Looks up, a few queries for the whole batch, which attempts its creations name exist
    /// already, the cases its mutations name (in the caller's scope), and which of those are
    /// phone-made ids joined to another row.
    pub async fn prefetch(&mut self, mutations: &[&Mutation]) -> Result<(), DbErr> {
        let case_ids: HashSet<Uuid> = mutations
            .iter()
            .filter_map(|m| match &m.change {
                Change::OpenCase { case } => Some(case.id),
                change => change.named_case(),
            })
            .map(|id| id.0)
            .collect();
        self.aliases = db::cases::aliases(self.txn, case_ids.iter().copied()).await?;
        let case_ids: Vec<Uuid> = case_ids.into_iter().collect();
        for chunk in case_ids.chunks(db::CHUNK) {
            for id in chunk {
                self.cases.insert(*id, None);
            }
            let ids = chunk.iter().copied();
            for (id, row) in db::cases::by_id_in_scope(self.txn, self.user.scope(), ids).await? {
                self.cases.insert(id, Some(row));
            }
        }
        let ids: Vec<Uuid> = mutations
            .iter()
            .filter_map(|m| match &m.change {
                Change::CreateAttempt { attempt } => Some(attempt.id.0),
                _ => None,
            })
            .collect();
        let found = db::attempts::existing(self.txn, &ids).await?;
        self.existing_attempts.extend(found);
        Ok(())
    }

    /// Inserts the attempts held back. Must run before anything reads attempts, and before commit.
    pub async fn flush(&mut self) -> Result<(), DbErr> {
        let pending = std::mem::take(&mut self.pending);
        self.existing_attempts.extend(pending.ids);
        crate::db::attempts::insert_rows(self.txn, pending.attempts, pending.participants).await
    }

    /// The case `id` if it is in the caller's scope (looked up once per batch).
    async fn case(&mut self, id: Uuid) -> Result<Option<case::Model>, DbErr> {
        if let Some(cached) = self.cases.get(&id) {
            return Ok(cached.clone());
        }
        let found = db::cases::find(self.txn, self.user.scope(), id).await?;
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
        let joined;
        let m = match m.change.named_case().and_then(|c| self.aliases.get(&c.0)) {
            Some(&row) => {
                joined = Mutation {
                    change: m.change.clone().on_case(sync_protocol::CaseId(row)),
                    ..m.clone()
                };
                &joined
            }
            None => m,
        };
        match &m.change {
            Change::OpenCase { case } => self.open_case(m, case).await,
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
            Change::SignAttempt { signature } => self.sign_attempt(signature).await,
        }
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
            let row = conflict::Model {
                id: id.0,
                entity_kind: kind.as_str().to_owned(),
                entity_id,
                case_id,
                field: loss.field.to_owned(),
                winning_value: keep("winning_value", json(&wrap(loss.winning))),
                winning_hlc: json(&loss.winning_hlc),
                losing_value: keep("losing_value", json(&wrap(loss.losing))),
                losing_hlc: json(&loss.losing_hlc),
                losing_mutation_id: loss.incoming_lost.then_some(m.id.0),
                losing_device_id: loss.losing_hlc.device.0,
                created_at: self.now,
            };
            db::conflicts::insert(self.txn, row).await?;
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
