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

/// The records whose ids `ids` gives for each kind (a record that is gone is absent). A kind
/// without ids costs no query.
pub async fn by_id(
    db: &impl ConnectionTrait,
    ids: impl Fn(EntityKind) -> Vec<Uuid>,
) -> Result<CaseParts, DbErr> {
    Ok(CaseParts {
        attempts: rows_in::<attempt::Entity>(db, attempt::Column::Id, ids(EntityKind::Attempt))
            .await?,
        documents: rows_in::<document::Entity>(db, document::Column::Id, ids(EntityKind::Document))
            .await?,
        reviews: rows_in::<review::Entity>(db, review::Column::Id, ids(EntityKind::Review)).await?,
        conflicts: rows_in::<conflict::Entity>(db, conflict::Column::Id, ids(EntityKind::Conflict))
            .await?,
        media: rows_in::<media_object::Entity>(
            db,
            media_object::Column::Id,
            ids(EntityKind::Media),
        )
        .await?,
        signatures: rows_in::<attempt_signature::Entity>(
            db,
            attempt_signature::Column::Id,
            ids(EntityKind::Signature),
        )
        .await?,
    })
}

/// The rows of `E` whose `column` is one of `ids`; no query when there are none.
async fn rows_in<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    ids: Vec<Uuid>,
) -> Result<Vec<E::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    E::find().filter(column.is_in(ids)).all(db).await
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
