//! Queries on unenrolled children (`unenrolled_children`): on the household register, on no
//! school's roll (R6).

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::db::Scope;
use crate::db::entity::unenrolled_child;
use crate::personal_data::{Sealer, seal_context};

/// The children whose name an older server stored in the clear.
pub async fn names_in_the_clear(
    db: &impl ConnectionTrait,
) -> Result<Vec<unenrolled_child::Model>, DbErr> {
    unenrolled_child::Entity::find()
        .filter(unenrolled_child::Column::NameEnc.is_null())
        .all(db)
        .await
}

/// Stores the sealed name of child `id` and clears the plain one.
pub async fn store_sealed_name(
    db: &impl ConnectionTrait,
    id: Uuid,
    sealed: String,
) -> Result<(), DbErr> {
    unenrolled_child::Entity::update_many()
        .col_expr(unenrolled_child::Column::NameEnc, Expr::value(Some(sealed)))
        .col_expr(unenrolled_child::Column::Name, Expr::value(""))
        .filter(unenrolled_child::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Whether a child with ID-number lookup `lookup` is listed in `district` already.
pub async fn listed(
    db: &impl ConnectionTrait,
    lookup: &str,
    district: Uuid,
) -> Result<bool, DbErr> {
    Ok(unenrolled_child::Entity::find()
        .filter(unenrolled_child::Column::IdNumberLookup.eq(lookup))
        .filter(unenrolled_child::Column::DistrictId.eq(district))
        .one(db)
        .await?
        .is_some())
}

/// Lists `child`.
pub async fn insert(
    db: &impl ConnectionTrait,
    child: unenrolled_child::Model,
) -> Result<unenrolled_child::Model, DbErr> {
    let row: unenrolled_child::ActiveModel = child.into();
    unenrolled_child::Entity::insert(row)
        .exec_with_returning(db)
        .await
}

/// The children listed in `scope` (a township, village or district; a school has none), oldest
/// finding first.
pub async fn in_scope(
    db: &impl ConnectionTrait,
    scope: Scope,
) -> Result<Vec<unenrolled_child::Model>, DbErr> {
    let column = match scope {
        Scope::Township(id) => unenrolled_child::Column::TownshipId.eq(id),
        Scope::Village(id) => unenrolled_child::Column::VillageId.eq(id),
        Scope::District(id) => unenrolled_child::Column::DistrictId.eq(id),
        Scope::School(_) => return Ok(Vec::new()),
    };
    unenrolled_child::Entity::find()
        .filter(column)
        .order_by_asc(unenrolled_child::Column::Id)
        .all(db)
        .await
}

/// The sealing context of the name of unenrolled child `id`.
pub fn name_context(id: Uuid) -> String {
    seal_context("unenrolled_children", "name", id)
}

/// Seals the names of unenrolled children written before names were sealed (the migration
/// that added `name_enc` holds no key); run at start. Returns how many it sealed.
pub async fn seal_names_left_in_the_clear(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
) -> Result<usize, DbErr> {
    let plain = names_in_the_clear(db).await?;
    for row in &plain {
        let sealed = sealer.seal(&row.name, &name_context(row.id));
        store_sealed_name(db, row.id, sealed).await?;
    }
    Ok(plain.len())
}
