//! The change log pull reads, and how writes add to it without ever letting a cursor skip one.
//!
//! Every writing transaction collects its changes in a [`ChangeSet`] and appends them last, just
//! before commit: it bumps the single counter row (`sync_counter`) by the number of changes and
//! numbers its rows with the values it got. The counter row stays locked until the transaction
//! ends, so transactions take numbers in commit order: a reader that has seen number N has seen
//! every change numbered below N, and a transaction that commits late gets a higher number
//! instead of slipping in behind a cursor. (On SQLite, with one writer at a time, this holds
//! trivially.) Earlier rows of the same record are deleted as newer ones are added (a removal
//! only replaces the removal from the same scope), so the log stays about as long as the number
//! of records and the scopes they left.

use crate::db::CHUNK;
use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, ExprTrait as _, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use sync_protocol::sync::EntityKind;
use uuid::Uuid;

use crate::db::Scope;
use crate::db::chain::{ChainKind, KnownContent};
use crate::db::entity::{case, change_log};

/// Where a record belongs: its case, and the org units that decide who pulls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordScope {
    /// The case (a case's own id for the case row).
    pub case_id: Uuid,
    /// School.
    pub school_id: Uuid,
    /// Village of residence.
    pub village_id: Uuid,
    /// Township of residence.
    pub township_id: Uuid,
    /// District.
    pub district_id: Uuid,
}

impl From<&case::Model> for RecordScope {
    fn from(c: &case::Model) -> Self {
        Self {
            case_id: c.id,
            school_id: c.school_id,
            village_id: c.village_id,
            township_id: c.township_id,
            district_id: c.district_id,
        }
    }
}

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Created or changed: pull sends its current state.
    Upsert,
    /// Left this scope: pull tells the phones of the scope to drop it.
    Remove,
}

impl Op {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upsert => "upsert",
            Self::Remove => "remove",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    kind: EntityKind,
    id: Uuid,
    op: Op,
    scope: RecordScope,
    created: bool,
}

/// The changes of one transaction, appended to the log by [`ChangeSet::append`], with the
/// ledger events they make (see [`crate::db::chain`]).
#[derive(Debug, Default)]
pub struct ChangeSet {
    entries: Vec<Entry>,
    ledger: Vec<(ChainKind, Uuid)>,
    known: KnownContent,
}

impl ChangeSet {
    /// Records that `id` was changed; `created` when this transaction made it (nothing to compact).
    /// Attempts, documents, reviews and media are ledger events too.
    pub fn upsert(&mut self, kind: EntityKind, id: Uuid, scope: RecordScope, created: bool) {
        let event = match kind {
            EntityKind::Attempt => Some(ChainKind::Attempt),
            EntityKind::Document => Some(ChainKind::Document),
            EntityKind::Review => Some(ChainKind::Review),
            EntityKind::Media => Some(ChainKind::Media),
            // A signature carries its own proof (checked again by anyone with the key).
            EntityKind::Case | EntityKind::Conflict | EntityKind::Signature => None,
        };
        if let Some(event) = event {
            self.ledger.push((event, id));
            if !created {
                // Changed after it was written: its content is read when the events are made.
                self.known.remove(&(event, id));
            }
        }
        self.entries.push(Entry {
            kind,
            id,
            op: Op::Upsert,
            scope,
            created,
        });
    }

    /// Keeps the content SHA-256 of the record `id` of `case_id` this transaction just wrote
    /// (after [`ChangeSet::upsert`]), so the ledger need not read it back.
    pub fn known_content(&mut self, kind: ChainKind, id: Uuid, case_id: Uuid, sha256: String) {
        self.known.insert((kind, id), (case_id, sha256));
    }

    /// Records the status move `id` (a row of `case_moves`) as a ledger event.
    pub fn record_move(&mut self, id: Uuid) {
        self.ledger.push((ChainKind::Move, id));
    }

    /// Records that `id` left `scope`.
    pub fn remove(&mut self, kind: EntityKind, id: Uuid, scope: RecordScope) {
        self.entries.push(Entry {
            kind,
            id,
            op: Op::Remove,
            scope,
            created: false,
        });
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends the changes to the log, then the ledger events to their chains. Call it last in
    /// the transaction, right before commit. Answers the cases whose history the transaction
    /// changed (see [`Appended`]); until it commits, no other writer appends.
    pub async fn append(self, txn: &impl ConnectionTrait) -> Result<Appended, DbErr> {
        let (ledger, known) = (self.ledger, self.known);
        let mut cases: HashSet<Uuid> = self
            .entries
            .iter()
            .filter(|e| e.kind == EntityKind::Case && e.op == Op::Upsert)
            .map(|e| e.id)
            .collect();
        // Keep the last entry of each (record, op, scope).
        let mut seen = HashSet::new();
        let mut entries: Vec<Entry> = self
            .entries
            .into_iter()
            .rev()
            .filter(|e| seen.insert((e.id, e.op, e.scope.school_id, e.scope.village_id)))
            .collect();
        entries.reverse();
        if entries.is_empty() {
            return Ok(Appended::default());
        }
        // A newer upsert replaces every earlier one (pull sends the current state wherever the
        // record is now); a newer removal replaces only the earlier removal from the same scope,
        // since each scope it left is owed its own.
        let stale: Vec<Uuid> = entries
            .iter()
            .filter(|e| e.op == Op::Upsert && !e.created)
            .map(|e| e.id)
            .collect();
        for ids in stale.chunks(CHUNK) {
            change_log::Entity::delete_many()
                .filter(change_log::Column::EntityId.is_in(ids.iter().copied()))
                .filter(change_log::Column::Op.eq(Op::Upsert.as_str()))
                .exec(txn)
                .await?;
        }
        let mut removed: HashMap<(Uuid, Uuid), Vec<Uuid>> = HashMap::new();
        for e in entries.iter().filter(|e| e.op == Op::Remove) {
            let left = (e.scope.school_id, e.scope.village_id);
            removed.entry(left).or_default().push(e.id);
        }
        for ((school, village), ids) in removed {
            for ids in ids.chunks(CHUNK) {
                change_log::Entity::delete_many()
                    .filter(change_log::Column::EntityId.is_in(ids.iter().copied()))
                    .filter(change_log::Column::Op.eq(Op::Remove.as_str()))
                    .filter(change_log::Column::SchoolId.eq(school))
                    .filter(change_log::Column::VillageId.eq(village))
                    .exec(txn)
                    .await?;
            }
        }
        let count = i64::try_from(entries.len()).map_err(|e| DbErr::Custom(e.to_string()))?;
        let last = take_numbers(txn, count).await?;
        let first = last - count + 1;
        for (chunk_index, chunk) in entries.chunks(CHUNK).enumerate() {
            let offset = i64::try_from(chunk_index * CHUNK).unwrap_or(i64::MAX);
            let rows = chunk.iter().zip(0..).map(|(e, i)| change_log::ActiveModel {
                seq: Set(first + offset + i),
                entity_kind: Set(e.kind.as_str().to_owned()),
                entity_id: Set(e.id),
                op: Set(e.op.as_str().to_owned()),
                school_id: Set(e.scope.school_id),
                village_id: Set(e.scope.village_id),
                township_id: Set(e.scope.township_id),
                district_id: Set(e.scope.district_id),
                case_id: Set(Some(e.scope.case_id)),
            });
            change_log::Entity::insert_many(rows).exec(txn).await?;
        }
        // The counter row is locked until commit: no other writer extends a chain meanwhile.
        let chained = crate::db::chain::append(txn, &ledger, known, chrono::Utc::now()).await?;
        // A file linked changes no count or date the rules read.
        cases.extend(
            chained
                .into_iter()
                .filter(|(kind, _)| *kind != ChainKind::Media)
                .map(|(_, case)| case),
        );
        Ok(Appended { cases })
    }
}

/// What [`ChangeSet::append`] wrote that the caller may have to follow up in the same
/// transaction.
#[derive(Debug, Default)]
#[must_use = "what is due on the cases it names may have changed"]
pub struct Appended {
    /// The cases whose row, moves, attempts, documents or reviews changed: what is due on them
    /// may have changed (`crate::cases::due_store`).
    pub cases: HashSet<Uuid>,
}

/// Holds the counter row until the end of `txn`: from here on no other writer appends changes,
/// as if `txn` were about to append its own.
pub async fn hold_writers(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    take_numbers(txn, 0).await.map(|_| ())
}

/// Takes `count` numbers from the counter row, returning the last; the row stays locked to the
/// end of the transaction.
async fn take_numbers(txn: &impl ConnectionTrait, count: i64) -> Result<i64, DbErr> {
    let update = Query::update()
        .table("sync_counter")
        .value("value", Expr::col("value").add(count))
        .and_where(Expr::col("id").eq(1))
        .returning(Query::returning().column("value"))
        .to_owned();
    let row = txn
        .query_one(&update)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("sync_counter row 1".into()))?;
    row.try_get::<i64>("", "value")
}

/// The next `limit` rows of the log in `scope` after number `after`, in order.
pub async fn page(
    db: &impl ConnectionTrait,
    scope: Scope,
    after: i64,
    limit: u64,
) -> Result<Vec<change_log::Model>, DbErr> {
    change_log::Entity::find()
        .filter(scope.condition::<change_log::Entity>())
        .filter(change_log::Column::Seq.gt(after))
        .order_by_asc(change_log::Column::Seq)
        .limit(limit)
        .all(db)
        .await
}

/// Of `cases`, those with a record changed after `seq`: a later page of a pull carries each
/// such change in the caller's scope, and the case with it; a change in another scope means the
/// case left the caller's, and a later page carries its removal. Only the cases' own later
/// changes are read, from the log's `(case_id, seq)` index alone.
pub async fn cases_touched_after(
    db: &impl ConnectionTrait,
    cases: &[Uuid],
    seq: i64,
) -> Result<HashSet<Uuid>, DbErr> {
    let mut out = HashSet::new();
    for chunk in cases.chunks(CHUNK) {
        let touched: Vec<Option<Uuid>> = change_log::Entity::find()
            .select_only()
            .column(change_log::Column::CaseId)
            .distinct()
            .filter(change_log::Column::CaseId.is_in(chunk.iter().copied()))
            .filter(change_log::Column::Seq.gt(seq))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(touched.into_iter().flatten());
    }
    Ok(out)
}
