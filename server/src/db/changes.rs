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
    QuerySelect, QueryTrait as _,
};
use sync_protocol::sync::EntityKind;
use uuid::Uuid;

use crate::db::Scope;
use crate::db::chain::{ChainKind, KnownContent};
use crate::db::entity::{attempt, case, change_log, document, media_object, review};

/// The org units a record belongs to, which decide who pulls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordScope {
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
    /// the transaction, right before commit.
    pub async fn append(self, txn: &impl ConnectionTrait) -> Result<(), DbErr> {
        let (ledger, known) = (self.ledger, self.known);
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
            return Ok(());
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
            });
            change_log::Entity::insert_many(rows).exec(txn).await?;
        }
        // The counter row is locked until commit: no other writer extends a chain meanwhile.
        crate::db::chain::append(txn, &ledger, known, chrono::Utc::now()).await
    }
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

/// Of `cases`, those with an attempt, document, review or media object changed after `seq` in
/// `scope`: what a later page of that scope's pull will carry (the log's rows of other scopes,
/// which that pull never sends, are not read; the scope's `(unit, seq)` index bounds the read).
pub async fn cases_touched_after<'a>(
    db: &impl ConnectionTrait,
    scope: Scope,
    cases: impl Iterator<Item = &'a Uuid> + Clone,
    seq: i64,
) -> Result<HashSet<Uuid>, DbErr> {
    let later = |kind: EntityKind| {
        change_log::Entity::find()
            .select_only()
            .column(change_log::Column::EntityId)
            .filter(scope.condition::<change_log::Entity>())
            .filter(change_log::Column::Seq.gt(seq))
            .filter(change_log::Column::EntityKind.eq(kind.as_str()))
            .into_query()
    };
    let ids = || cases.clone().copied();
    macro_rules! case_ids {
        ($entity:ident, $kind:expr) => {
            $entity::Entity::find()
                .select_only()
                .column($entity::Column::CaseId)
                .distinct()
                .filter($entity::Column::CaseId.is_in(ids()))
                .filter($entity::Column::Id.in_subquery(later($kind)))
                .into_tuple::<Uuid>()
                .all(db)
                .await?
        };
    }
    let mut out = HashSet::new();
    out.extend(case_ids!(attempt, EntityKind::Attempt));
    out.extend(case_ids!(document, EntityKind::Document));
    out.extend(case_ids!(review, EntityKind::Review));
    out.extend(case_ids!(media_object, EntityKind::Media));
    Ok(out)
}
