//! Queries on the mutations a push applied (`applied_mutations`): what makes a replay answer the
//! first result instead of applying again.

use crate::db::CHUNK;
use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::db::entity::applied_mutation;

/// Those of the mutations `ids` applied before, by id.
pub async fn applied(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, applied_mutation::Model>, DbErr> {
    Ok(applied_mutation::Entity::find()
        .filter(applied_mutation::Column::MutationId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.mutation_id, row))
        .collect())
}

/// Records the mutations `rows` as applied, with their results.
pub async fn record(
    db: &impl ConnectionTrait,
    rows: &[applied_mutation::Model],
) -> Result<(), DbErr> {
    for chunk in rows.chunks(CHUNK) {
        let rows = chunk
            .iter()
            .cloned()
            .map(applied_mutation::ActiveModel::from);
        applied_mutation::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}
