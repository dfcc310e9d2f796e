//! What is due on each case as last computed (`case_due`), kept by `crate::cases::due_store`.

use std::collections::HashMap;

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::db::CHUNK;
use crate::db::entity::case_due;

/// The stored due items of the cases `ids` that have any, by case.
pub async fn stored(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, case_due::Model>, DbErr> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows = case_due::Entity::find()
            .filter(case_due::Column::CaseId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|r| (r.case_id, r)));
    }
    Ok(out)
}

/// The basis of a row marked stale: no basis is ever empty.
const STALE: &str = "";

/// Marks the stored items of the cases `ids` stale (a row is written for a case that had none).
pub async fn mark_stale(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), DbErr> {
    let rows = ids.iter().map(|id| case_due::Model {
        case_id: *id,
        items: "[]".into(),
        basis: STALE.into(),
    });
    store(db, rows.collect()).await
}

/// How many cases' stored items are marked stale.
pub async fn count_stale(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait as _;
    case_due::Entity::find()
        .filter(case_due::Column::Basis.eq(STALE))
        .count(db)
        .await
}

/// Up to `limit` cases whose stored items are marked stale.
pub async fn stale(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<Uuid>, DbErr> {
    case_due::Entity::find()
        .select_only()
        .column(case_due::Column::CaseId)
        .filter(case_due::Column::Basis.eq(STALE))
        .limit(limit)
        .into_tuple()
        .all(db)
        .await
}

/// Stores `rows`, each replacing what was stored for its case.
pub async fn store(db: &impl ConnectionTrait, rows: Vec<case_due::Model>) -> Result<(), DbErr> {
    for chunk in rows.chunks(CHUNK) {
        let models = chunk.iter().cloned().map(case_due::ActiveModel::from);
        case_due::Entity::insert_many(models)
            .on_conflict(
                OnConflict::column(case_due::Column::CaseId)
                    .update_columns([case_due::Column::Items, case_due::Column::Basis])
                    .to_owned(),
            )
            .exec(db)
            .await?;
    }
    Ok(())
}
