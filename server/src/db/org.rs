//! Queries on org units and users by id: the names documents and pages show.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use sync_protocol::org::OrgUnitKind;
use uuid::Uuid;

use crate::db::entity::{org_unit, user};

/// The `name` column of the rows of `E` with ids `ids`, by id.
async fn names<E: EntityTrait>(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
    id: E::Column,
    name: E::Column,
) -> Result<HashMap<Uuid, String>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
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

/// Every org unit of `district` (the district itself included), by code.
pub async fn of_district(
    db: &impl ConnectionTrait,
    district: Uuid,
) -> Result<Vec<org_unit::Model>, DbErr> {
    org_unit::Entity::find()
        .filter(org_unit::Column::DistrictId.eq(district))
        .order_by_asc(org_unit::Column::Code)
        .all(db)
        .await
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

/// The org units `ids`, by id.
pub async fn units(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, org_unit::Model>, DbErr> {
    Ok(org_unit::Entity::find()
        .filter(org_unit::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

/// The org unit `id` if it is of `kind` and inside `district`.
pub async fn unit_in_district(
    db: &impl ConnectionTrait,
    id: Uuid,
    kind: OrgUnitKind,
    district: Uuid,
) -> Result<Option<org_unit::Model>, DbErr> {
    org_unit::Entity::find_by_id(id)
        .filter(org_unit::Column::Kind.eq(kind.as_str()))
        .filter(org_unit::Column::DistrictId.eq(district))
        .one(db)
        .await
}

/// The villages of `district`, by id.
pub async fn villages_of(
    db: &impl ConnectionTrait,
    district: Uuid,
) -> Result<HashMap<Uuid, org_unit::Model>, DbErr> {
    Ok(org_unit::Entity::find()
        .filter(org_unit::Column::DistrictId.eq(district))
        .filter(org_unit::Column::Kind.eq(OrgUnitKind::Village.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect())
}

/// Stores the new org unit `unit`.
pub async fn insert_unit(
    db: &impl ConnectionTrait,
    unit: org_unit::Model,
) -> Result<org_unit::Model, DbErr> {
    org_unit::Entity::insert(org_unit::ActiveModel::from(unit))
        .exec_with_returning(db)
        .await
}

/// The org unit with `code`.
pub async fn unit_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<org_unit::Model>, DbErr> {
    org_unit::Entity::find()
        .filter(org_unit::Column::Code.eq(code))
        .one(db)
        .await
}
