//! Queries on evidence files (`media_objects`).

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::db::Scope;
use crate::db::entity::{case, media_object};

/// The media object `id` if its case is in `scope`.
pub async fn find_in_scope(
    db: &impl ConnectionTrait,
    scope: Scope,
    id: Uuid,
) -> Result<Option<media_object::Model>, DbErr> {
    let Some(media) = media_object::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let case = case::Entity::find_by_id(media.case_id)
        .filter(scope.condition::<case::Entity>())
        .one(db)
        .await?;
    Ok(case.map(|_| media))
}

/// The media objects of `case_id`.
pub async fn of_case(
    db: &impl ConnectionTrait,
    case_id: Uuid,
) -> Result<Vec<media_object::Model>, DbErr> {
    media_object::Entity::find()
        .filter(media_object::Column::CaseId.eq(case_id))
        .all(db)
        .await
}
