//! Queries on students and guardians, filtered by the caller's scope inside the SQL.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::db::Scope;
use crate::db::entity::{guardian, student};

/// The student `id` if in `scope`, with their guardians in order.
pub async fn find(
    db: &impl ConnectionTrait,
    scope: Scope,
    id: Uuid,
) -> Result<Option<(student::Model, Vec<guardian::Model>)>, DbErr> {
    let Some(student) = student::Entity::find_by_id(id)
        .filter(scope.condition::<student::Entity>())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let guardians = guardian::Entity::find()
        .filter(guardian::Column::StudentId.eq(id))
        .order_by_asc(guardian::Column::Position)
        .all(db)
        .await?;
    Ok(Some((student, guardians)))
}

/// The students `ids`, by id (no scope: the ids come from cases already read in scope).
pub async fn by_id(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, student::Model>, DbErr> {
    Ok(student::Entity::find()
        .filter(student::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect())
}

/// How many students are in `scope`, under `unit` if given.
pub async fn count(
    db: &impl ConnectionTrait,
    scope: Scope,
    unit: Option<Uuid>,
) -> Result<u64, DbErr> {
    let mut students = student::Entity::find().filter(scope.condition::<student::Entity>());
    if let Some(unit) = unit {
        students = students.filter(crate::db::scope::under::<student::Entity>(unit));
    }
    students.count(db).await
}
