//! Queries of the web console: its sessions, and the counts its Today page shows, in the
//! caller's scope.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use sync_protocol::cases::CaseStatus;
use uuid::Uuid;

use crate::db::Scope;
use crate::db::entity::{case, console_session};

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
/// a closure reason on a row that has not ended.
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
        .all(db)
        .await
}
