//! Queries of the web console: its sessions, and the counts its Today page shows, in the
//! caller's scope.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use sync_protocol::cases::CaseStatus;
use sync_protocol::evidence::ReviewTarget;
use uuid::Uuid;

use crate::db::Scope;
use crate::db::entity::{attempt, case, console_session, document, review};

/// A record of evidence no review has judged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreviewed {
    /// An attempt or a document.
    pub target: ReviewTarget,
    /// The record's id.
    pub id: Uuid,
    /// Its case.
    pub case_id: Uuid,
    /// When the server received it.
    pub received_at: DateTime<Utc>,
    /// The attempt's kind or the document's type, as stored.
    pub what: String,
}

/// Stores a new console session.
pub async fn insert_session(
    db: &impl ConnectionTrait,
    row: console_session::Model,
) -> Result<(), DbErr> {
    console_session::Entity::insert(console_session::ActiveModel::from(row))
        .exec_without_returning(db)
        .await
        .map(|_| ())
}

/// The session whose cookie secret hashes to `hash`, if it has not expired at `now`.
pub async fn session(
    db: &impl ConnectionTrait,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<console_session::Model>, DbErr> {
    console_session::Entity::find_by_id(hash.to_owned())
        .filter(console_session::Column::ExpiresAt.gt(now))
        .one(db)
        .await
}

/// Ends the session whose cookie secret hashes to `hash`.
pub async fn end_session(db: &impl ConnectionTrait, hash: &str) -> Result<(), DbErr> {
    console_session::Entity::delete_by_id(hash.to_owned())
        .exec(db)
        .await
        .map(|_| ())
}

/// How many rows of `scope` have not ended, by school.
pub async fn open_by_school(
    db: &impl ConnectionTrait,
    scope: Scope,
) -> Result<HashMap<Uuid, u64>, DbErr> {
    let ended = CaseStatus::ENDED.iter().map(|s| s.as_str());
    let rows: Vec<(Uuid, i64)> = case::Entity::find()
        .select_only()
        .column(case::Column::SchoolId)
        .column_as(case::Column::Id.count(), "n")
        .filter(scope.condition::<case::Entity>())
        .filter(case::Column::Status.is_not_in(ended))
        .group_by(case::Column::SchoolId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(school, n)| (school, u64::try_from(n).unwrap_or(0)))
        .collect())
}

/// The rows of `scope` that ask for a write-off (or deferral) the bureau has not approved yet:
/// a closure reason on a row that has not ended; the longest unchanged first.
pub async fn closures_waiting(
    db: &impl ConnectionTrait,
    scope: Scope,
) -> Result<Vec<case::Model>, DbErr> {
    let ended = CaseStatus::ENDED.iter().map(|s| s.as_str());
    case::Entity::find()
        .filter(scope.condition::<case::Entity>())
        .filter(case::Column::ClosureReason.is_not_null())
        .filter(case::Column::Status.is_not_in(ended))
        .filter(case::Column::Status.ne(CaseStatus::Deferred.as_str()))
        .order_by_asc(case::Column::UpdatedAt)
        .all(db)
        .await
}

/// The evidence of `scope`'s rows that have not ended which no review has judged yet: the
/// oldest `limit` attempts and documents by when they were received, and how many wait in all.
pub async fn unreviewed(
    db: &impl ConnectionTrait,
    scope: Scope,
    limit: u64,
) -> Result<(Vec<Unreviewed>, u64), DbErr> {
    let attempts = unreviewed_of::<attempt::Entity>(
        db,
        scope,
        [
            attempt::Column::Id,
            attempt::Column::CaseId,
            attempt::Column::CreatedAt,
            attempt::Column::Kind,
        ],
        limit,
    )
    .await?;
    let documents = unreviewed_of::<document::Entity>(
        db,
        scope,
        [
            document::Column::Id,
            document::Column::CaseId,
            document::Column::CreatedAt,
            document::Column::DocType,
        ],
        limit,
    )
    .await?;
    let total = attempts.1 + documents.1;
    let tagged = |target: ReviewTarget, rows: Vec<(Uuid, Uuid, DateTime<Utc>, String)>| {
        rows.into_iter()
            .map(move |(id, case_id, received_at, what)| Unreviewed {
                target,
                id,
                case_id,
                received_at,
                what,
            })
    };
    let mut all: Vec<Unreviewed> = tagged(ReviewTarget::Attempt, attempts.0)
        .chain(tagged(ReviewTarget::Document, documents.0))
        .collect();
    all.sort_by_key(|u| (u.received_at, u.id));
    all.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok((all, total))
}

/// The oldest `limit` unreviewed rows of table `E` on `scope`'s rows that have not ended, as
/// (id, case, received, what) from `columns` in that order, and how many there are.
async fn unreviewed_of<E>(
    db: &impl ConnectionTrait,
    scope: Scope,
    columns: [E::Column; 4],
    limit: u64,
) -> Result<(Vec<(Uuid, Uuid, DateTime<Utc>, String)>, u64), DbErr>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let [id, case_id, received, _] = columns;
    let ended = CaseStatus::ENDED.iter().map(|s| s.as_str());
    let cases = Query::select()
        .column(case::Column::Id)
        .from(case::Entity)
        .cond_where(scope.condition::<case::Entity>())
        .and_where(case::Column::Status.is_not_in(ended))
        .to_owned();
    let reviewed = Query::select()
        .column(review::Column::TargetId)
        .from(review::Entity)
        .to_owned();
    let waiting = E::find()
        .filter(case_id.in_subquery(cases))
        .filter(id.not_in_subquery(reviewed));
    let total = waiting.clone().count(db).await?;
    let rows = waiting
        .select_only()
        .columns(columns)
        .order_by_asc(received)
        .order_by_asc(id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok((rows, total))
}
