//! Account changes an administrator makes: a new password, disabling and enabling. Each ends
//! every session of the account at once.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use super::{password, sessions};
use crate::db::Scope;
use crate::db::entity::{org_unit, user};

/// The account called `username`.
pub async fn by_username(db: &impl ConnectionTrait, username: &str) -> anyhow::Result<user::Model> {
    user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user `{username}`"))
}

/// The account `id`, if it belongs to an org unit inside `scope` (an administrator's district).
pub async fn in_scope(
    db: &impl ConnectionTrait,
    id: Uuid,
    scope: Scope,
) -> Result<Option<user::Model>, sea_orm::DbErr> {
    let Scope::District(district) = scope else {
        return Ok(None);
    };
    let Some(account) = user::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let unit = org_unit::Entity::find_by_id(account.org_unit_id)
        .filter(org_unit::Column::DistrictId.eq(district))
        .one(db)
        .await?;
    Ok(unit.map(|_| account))
}

/// Sets a new password for `username` and ends every session the account has.
pub async fn reset_password(
    db: &DatabaseConnection,
    username: &str,
    password_plain: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        password_plain.chars().count() >= 8,
        "a password needs at least 8 characters"
    );
    let hash = password::hash(password_plain)?;
    let txn = db.begin().await?;
    let account = by_username(&txn, username).await?;
    let id = account.id;
    let mut row: user::ActiveModel = account.into();
    row.password_hash = Set(hash);
    row.updated_at = Set(Utc::now());
    row.update(&txn).await?;
    sessions::end_all(&txn, id, Utc::now()).await?;
    txn.commit().await?;
    Ok(())
}

/// Disables (or enables again) the account `id`; call it inside a transaction. Disabling ends
/// every session at once; enabling lets the account sign in again, without reviving any session.
pub async fn set_disabled(
    txn: &impl ConnectionTrait,
    id: Uuid,
    disabled: bool,
) -> Result<(), sea_orm::DbErr> {
    let now = Utc::now();
    user::Entity::update_many()
        .col_expr(user::Column::Disabled, disabled.into())
        .col_expr(user::Column::UpdatedAt, now.into())
        .filter(user::Column::Id.eq(id))
        .exec(txn)
        .await?;
    if disabled {
        sessions::end_all(txn, id, now).await?;
    }
    Ok(())
}
