//! Queries on the phones' signing keys (`signing_keys`) and the participants' signatures of
//! attempts (`attempt_signatures`, never changed once written).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel as _,
    QueryFilter, QueryOrder as _, Set,
};
use uuid::Uuid;

use crate::db::entity::{attempt_signature, signing_key};

/// The key `id`.
pub async fn key(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<signing_key::Model>, DbErr> {
    signing_key::Entity::find_by_id(id).one(db).await
}

/// The keys `ids`, by id.
pub async fn keys(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, signing_key::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(signing_key::Entity::find()
        .filter(signing_key::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|k| (k.id, k))
        .collect())
}

/// The keys of `user`, oldest first.
pub async fn keys_of(
    db: &impl ConnectionTrait,
    user: Uuid,
) -> Result<Vec<signing_key::Model>, DbErr> {
    signing_key::Entity::find()
        .filter(signing_key::Column::UserId.eq(user))
        .order_by_asc(signing_key::Column::RegisteredAt)
        .order_by_asc(signing_key::Column::Id)
        .all(db)
        .await
}

/// Stores the key `row`, revoking at its registration the keys `user` still holds on its device.
pub async fn register(db: &impl ConnectionTrait, row: signing_key::Model) -> Result<(), DbErr> {
    signing_key::Entity::update_many()
        .col_expr(
            signing_key::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Some(row.registered_at)),
        )
        .filter(signing_key::Column::UserId.eq(row.user_id))
        .filter(signing_key::Column::DeviceId.eq(row.device_id))
        .filter(signing_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    signing_key::Entity::insert(signing_key::ActiveModel::from(row))
        .exec(db)
        .await
        .map(|_| ())
}

/// Marks `key` revoked at `at`, unless it already is.
pub async fn revoke(
    db: &impl ConnectionTrait,
    key: signing_key::Model,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    if key.revoked_at.is_some() {
        return Ok(());
    }
    let mut active = key.into_active_model();
    active.revoked_at = Set(Some(at));
    active.update(db).await.map(|_| ())
}

/// The signature `id`.
pub async fn signature(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<attempt_signature::Model>, DbErr> {
    attempt_signature::Entity::find_by_id(id).one(db).await
}

/// The signatures of the cases `cases`, oldest first.
pub async fn signatures_of(
    db: &impl ConnectionTrait,
    cases: Vec<Uuid>,
) -> Result<Vec<attempt_signature::Model>, DbErr> {
    attempt_signature::Entity::find()
        .filter(attempt_signature::Column::CaseId.is_in(cases))
        .order_by_asc(attempt_signature::Column::ReceivedAt)
        .order_by_asc(attempt_signature::Column::Id)
        .all(db)
        .await
}

/// Stores the signature `row`.
pub async fn insert_signature(
    db: &impl ConnectionTrait,
    row: attempt_signature::Model,
) -> Result<(), DbErr> {
    attempt_signature::Entity::insert(attempt_signature::ActiveModel::from(row))
        .exec(db)
        .await
        .map(|_| ())
}
