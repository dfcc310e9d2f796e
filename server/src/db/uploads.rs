//! Queries on resumable uploads (`uploads`): their rows, the lease a request holds while it
//! writes one, the offset it reaches, and the record's case it is for.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, Condition, ConnectionTrait, DbErr, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use uuid::Uuid;

use crate::db::Scope;
use crate::db::entity::{attempt, case, document, upload};

/// The case of the attempt (`target_kind` `attempt`) or document `target_id`, if it is in
/// `scope`; in one query.
pub async fn target_case(
    db: &impl ConnectionTrait,
    scope: Scope,
    target_kind: &str,
    target_id: Uuid,
) -> Result<Option<case::Model>, DbErr> {
    let owner = match target_kind {
        "attempt" => Query::select()
            .column(attempt::Column::CaseId)
            .from(attempt::Entity)
            .and_where(attempt::Column::Id.eq(target_id))
            .to_owned(),
        _ => Query::select()
            .column(document::Column::CaseId)
            .from(document::Entity)
            .and_where(document::Column::Id.eq(target_id))
            .to_owned(),
    };
    case::Entity::find()
        .filter(case::Column::Id.in_subquery(owner))
        .filter(scope.condition::<case::Entity>())
        .one(db)
        .await
}

/// Writes the row of an upload not saved before.
pub async fn insert(db: &impl ConnectionTrait, row: &upload::Model) -> Result<(), DbErr> {
    upload::ActiveModel::from(row.clone())
        .reset_all()
        .insert(db)
        .await?;
    Ok(())
}

/// The upload `id`.
pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<upload::Model>, DbErr> {
    upload::Entity::find_by_id(id).one(db).await
}

/// The upload `id` of the user `user_id` if it has not expired at `now`.
pub async fn find_unexpired(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<upload::Model>, DbErr> {
    upload::Entity::find_by_id(id)
        .filter(upload::Column::UserId.eq(user_id))
        .filter(upload::Column::ExpiresAt.gt(now))
        .one(db)
        .await
}

/// What a creation declares of its file and record, by which a repeated creation finds the
/// upload made before.
#[derive(Debug, Clone, Copy)]
pub struct SameFile<'a> {
    /// The caller.
    pub user_id: Uuid,
    /// The phone's own key for the file.
    pub client_key: &'a str,
    /// The file's SHA-256, lowercase hex.
    pub sha256: &'a str,
    /// The file's length.
    pub length: i64,
    /// The media kind.
    pub kind: &'a str,
    /// `attempt` or `document`.
    pub target_kind: &'a str,
    /// The record.
    pub target_id: Uuid,
}

/// The unexpired upload made for `same` (found by the index `uploads_user_client_key`); of
/// several, the one furthest along.
pub async fn repeated(
    db: &impl ConnectionTrait,
    same: SameFile<'_>,
    now: DateTime<Utc>,
) -> Result<Option<upload::Model>, DbErr> {
    upload::Entity::find()
        .filter(upload::Column::UserId.eq(same.user_id))
        .filter(upload::Column::ClientKey.eq(same.client_key))
        .filter(upload::Column::Sha256.eq(same.sha256))
        .filter(upload::Column::Length.eq(same.length))
        .filter(upload::Column::Kind.eq(same.kind))
        .filter(upload::Column::TargetKind.eq(same.target_kind))
        .filter(upload::Column::TargetId.eq(same.target_id))
        .filter(upload::Column::ExpiresAt.gt(now))
        .order_by_desc(upload::Column::Offset)
        .one(db)
        .await
}

/// Holds upload `id` for instance `holder` until `until`, or lets it go (`None`).
pub async fn hold(
    db: &impl ConnectionTrait,
    id: Uuid,
    lease: Option<(DateTime<Utc>, Uuid)>,
) -> Result<(), DbErr> {
    upload::Entity::update_many()
        .col_expr(upload::Column::BusyUntil, Expr::value(lease.map(|l| l.0)))
        .col_expr(upload::Column::BusyBy, Expr::value(lease.map(|l| l.1)))
        .filter(upload::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Moves the offset of upload `id` to `offset`, with `hash_state`, the hash of the bytes up to
/// it; its lease is renewed to `lease` (until when, by which instance), or let go (`None`).
pub async fn set_offset(
    db: &impl ConnectionTrait,
    id: Uuid,
    offset: i64,
    hash_state: Vec<u8>,
    lease: Option<(DateTime<Utc>, Uuid)>,
) -> Result<(), DbErr> {
    upload::Entity::update_many()
        .col_expr(upload::Column::BusyBy, Expr::value(lease.map(|l| l.1)))
        .col_expr(upload::Column::Offset, Expr::value(offset))
        .col_expr(upload::Column::HashState, Expr::value(Some(hash_state)))
        .col_expr(upload::Column::BusyUntil, Expr::value(lease.map(|l| l.0)))
        .filter(upload::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Which lease a request may take over.
#[derive(Debug, Clone, Copy)]
pub enum Free {
    /// One nobody holds, or whose time ran out before `now`.
    At(DateTime<Utc>),
    /// One held by the instance `holder` (which no longer runs).
    From(Uuid),
}

/// Leases upload `id` to instance `holder` until `until` if it stands at `offset` and its lease
/// is `free`; whether it did.
pub async fn take(
    db: &impl ConnectionTrait,
    id: Uuid,
    offset: i64,
    (until, holder): (DateTime<Utc>, Uuid),
    free: Free,
) -> Result<bool, DbErr> {
    let free = match free {
        Free::At(now) => Condition::any()
            .add(upload::Column::BusyUntil.is_null())
            .add(upload::Column::BusyUntil.lt(now)),
        Free::From(gone) => Condition::all().add(upload::Column::BusyBy.eq(gone)),
    };
    let taken = upload::Entity::update_many()
        .col_expr(upload::Column::BusyUntil, Expr::value(Some(until)))
        .col_expr(upload::Column::BusyBy, Expr::value(Some(holder)))
        .filter(upload::Column::Id.eq(id))
        .filter(upload::Column::Offset.eq(offset))
        .filter(free)
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Marks upload `id` done: its offset at its `length`, its lease's time cleared.
pub async fn mark_done(db: &impl ConnectionTrait, id: Uuid, length: i64) -> Result<(), DbErr> {
    upload::Entity::update_many()
        .col_expr(upload::Column::Offset, Expr::value(length))
        .col_expr(
            upload::Column::BusyUntil,
            Expr::value(None::<DateTime<Utc>>),
        )
        .filter(upload::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes the row of upload `id`.
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    upload::Entity::delete_by_id(id).exec(db).await?;
    Ok(())
}

/// Every upload expired at `now`.
pub async fn expired(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<Vec<upload::Model>, DbErr> {
    upload::Entity::find()
        .filter(upload::Column::ExpiresAt.lte(now))
        .all(db)
        .await
}

/// Which of `ids` name an upload.
pub async fn known(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashSet<Uuid>, DbErr> {
    let known: Vec<Uuid> = upload::Entity::find()
        .select_only()
        .column(upload::Column::Id)
        .filter(upload::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(known.into_iter().collect())
}
