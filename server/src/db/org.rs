//! Queries on org units and users by id: the names documents and pages show.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::db::entity::{org_unit, user};

/// The `name` column of the rows of `E` with ids `ids`, by id.
async fn names<E: EntityTrait>(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
    id: E::Column,
    name: E::Column,
) -> Result<HashMap<Uuid, String>, DbErr> {
    let pairs: Vec<(Uuid, String)> = E::find()
        .select_only()
        .column(id)
        .column(name)
        .filter(id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(pairs.into_iter().collect())
}

/// The names of the org units `ids`, by id.
pub async fn unit_names(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, String>, DbErr> {
    names::<org_unit::Entity>(db, ids, org_unit::Column::Id, org_unit::Column::Name).await
}

/// The display names of the users `ids`, by id.
pub async fn user_names(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, String>, DbErr> {
    names::<user::Entity>(db, ids, user::Column::Id, user::Column::DisplayName).await
}
