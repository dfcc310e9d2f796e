//! The parts of cases (attempts, documents, reviews, conflicts, evidence files, signatures): read by id
//! (what a pull page names), or every id of one kind in a case.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect as _};
use sync_protocol::sync::EntityKind;
use uuid::Uuid;

use crate::db::entity::{attempt, attempt_signature, conflict, document, media_object, review};

/// The parts a page names, by kind.
#[derive(Debug, Default)]
pub struct CaseParts {
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
    /// Participants' signatures of attempts.
    pub signatures: Vec<attempt_signature::Model>,
}

/// The records whose ids `ids` gives for each kind (a record that is gone is absent).
pub async fn by_id(
    db: &impl ConnectionTrait,
    ids: impl Fn(EntityKind) -> Vec<Uuid>,
) -> Result<CaseParts, DbErr> {
    Ok(CaseParts {
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
        signatures: attempt_signature::Entity::find()
            .filter(attempt_signature::Column::Id.is_in(ids(EntityKind::Signature)))
            .all(db)
            .await?,
    })
}

/// The ids of the rows of the entity module `$entity` that belong to case `$case_id`.
macro_rules! case_ids {
    ($db:expr, $entity:ident, $case_id:expr) => {
        $entity::Entity::find()
            .select_only()
            .column($entity::Column::Id)
            .filter($entity::Column::CaseId.eq($case_id))
            .into_tuple::<Uuid>()
            .all($db)
            .await
    };
}
pub(crate) use case_ids;

/// The ids of every record of `case_id`, by kind, the case first.
pub async fn of_case(
    db: &impl ConnectionTrait,
    case_id: Uuid,
) -> Result<Vec<(EntityKind, Uuid)>, DbErr> {
    let mut out = vec![(EntityKind::Case, case_id)];
    let kinds = [
        (EntityKind::Attempt, case_ids!(db, attempt, case_id)?),
        (EntityKind::Document, case_ids!(db, document, case_id)?),
        (EntityKind::Review, case_ids!(db, review, case_id)?),
        (EntityKind::Conflict, case_ids!(db, conflict, case_id)?),
        (EntityKind::Media, case_ids!(db, media_object, case_id)?),
        (
            EntityKind::Signature,
            case_ids!(db, attempt_signature, case_id)?,
        ),
    ];
    for (kind, ids) in kinds {
        out.extend(ids.into_iter().map(|id| (kind, id)));
    }
    Ok(out)
}
