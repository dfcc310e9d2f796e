//! Records of every kind a case holds, read by id (what a pull page names).

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use sync_protocol::sync::EntityKind;
use uuid::Uuid;

use crate::db::entity::{attempt, conflict, document, media_object, review};

/// The records of a page, by kind.
#[derive(Debug, Default)]
pub struct Records {
    /// Attempts.
    pub attempts: Vec<attempt::Model>,
    /// Documents.
    pub documents: Vec<document::Model>,
    /// Reviews.
    pub reviews: Vec<review::Model>,
    /// Conflicts sync kept.
    pub conflicts: Vec<conflict::Model>,
    /// Evidence files.
    pub media: Vec<media_object::Model>,
}

/// The records whose ids `ids` gives for each kind (a record that is gone is absent).
pub async fn by_id(
    db: &impl ConnectionTrait,
    ids: impl Fn(EntityKind) -> Vec<Uuid>,
) -> Result<Records, DbErr> {
    Ok(Records {
        attempts: attempt::Entity::find()
            .filter(attempt::Column::Id.is_in(ids(EntityKind::Attempt)))
            .all(db)
            .await?,
        documents: document::Entity::find()
            .filter(document::Column::Id.is_in(ids(EntityKind::Document)))
            .all(db)
            .await?,
        reviews: review::Entity::find()
            .filter(review::Column::Id.is_in(ids(EntityKind::Review)))
            .all(db)
            .await?,
        conflicts: conflict::Entity::find()
            .filter(conflict::Column::Id.is_in(ids(EntityKind::Conflict)))
            .all(db)
            .await?,
        media: media_object::Entity::find()
            .filter(media_object::Column::Id.is_in(ids(EntityKind::Media)))
            .all(db)
            .await?,
    })
}
