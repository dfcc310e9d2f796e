//! Queries on sessions: refresh tokens (a session is a family of them) and the devices accounts
//! sign in on. Only SHA-256 hashes of refresh tokens are stored.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::db::entity::{device, refresh_token};

/// Whether account `user` has signed in on `device` before.
pub async fn device_known(
    db: &impl ConnectionTrait,
    device: Uuid,
    user: Uuid,
) -> Result<bool, DbErr> {
    Ok(device::Entity::find_by_id(device)
        .filter(device::Column::UserId.eq(user))
        .one(db)
        .await?
        .is_some())
}

/// Records that `user` signs in on `device` now.
pub async fn record_device(
    db: &impl ConnectionTrait,
    device: Uuid,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    device::Entity::insert(device::ActiveModel {
        id: Set(device),
        user_id: Set(user),
        first_seen_at: Set(now),
        last_seen_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(device::Column::Id)
            .update_columns([device::Column::UserId, device::Column::LastSeenAt])
            .to_owned(),
    )
    .exec(db)
    .await
    .map(|_| ())
}

/// A refresh token to store.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The session.
    pub family: Uuid,
    /// The account.
    pub user: Uuid,
    /// The device it was issued to.
    pub device: Uuid,
    /// SHA-256 of the token, in hex.
    pub hash: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Stores `token`, unused.
pub async fn insert(db: &impl ConnectionTrait, token: NewToken) -> Result<(), DbErr> {
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        family_id: Set(token.family),
        user_id: Set(token.user),
        device_id: Set(token.device),
        token_hash: Set(token.hash),
        created_at: Set(token.created_at),
        expires_at: Set(token.expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
        reissue: Set(None),
    })
    .exec(db)
    .await
    .map(|_| ())
}

/// The token whose hash is `hash`.
pub async fn by_hash(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<refresh_token::Model>, DbErr> {
    refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .one(db)
        .await
}

/// The token `id`.
pub async fn by_id(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<refresh_token::Model>, DbErr> {
    refresh_token::Entity::find_by_id(id).one(db).await
}

/// Spends the token `id` if it is unused; whether this call spent it (the `used_at IS NULL`
/// guard makes two concurrent refreshes race safely).
pub async fn spend(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(spent.rows_affected == 1)
}

/// Keeps `sealed` (the pair a refresh of token `id` issued) on the spent token, or forgets it.
pub async fn keep_pair(
    db: &impl ConnectionTrait,
    id: Uuid,
    sealed: Option<String>,
) -> Result<(), DbErr> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::Reissue, Expr::value(sealed))
        .filter(refresh_token::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Forgets every pair kept in session `family`.
pub async fn forget_kept_pairs(db: &impl ConnectionTrait, family: Uuid) -> Result<(), DbErr> {
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::Reissue,
            Expr::value(Option::<String>::None),
        )
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::Reissue.is_not_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// Revokes every live token of session `family`.
pub async fn revoke_family(
    db: &impl ConnectionTrait,
    family: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}

/// Ends every session of account `user`: its live tokens are revoked and their kept pairs
/// forgotten, so its access tokens stop too (a request checks that its session is live). Used on
/// a password reset and on disabling.
pub async fn revoke_user(
    db: &impl ConnectionTrait,
    user: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .col_expr(
            refresh_token::Column::Reissue,
            Expr::value(Option::<String>::None),
        )
        .filter(refresh_token::Column::UserId.eq(user))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map(|_| ())
}
