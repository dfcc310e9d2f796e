//! Queries on students and guardians, filtered by the caller's scope inside the SQL.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
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
