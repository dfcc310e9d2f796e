//! Queries on supervisors' reviews (`reviews`): never changed once written.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use crate::db::entity::review;

/// The review `id`.
pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<review::Model>, DbErr> {
    review::Entity::find_by_id(id).one(db).await
}

/// Stores the review `row`.
pub async fn insert(db: &impl ConnectionTrait, row: review::Model) -> Result<(), DbErr> {
    review::Entity::insert(review::ActiveModel::from(row))
        .exec(db)
        .await
        .map(|_| ())
}
