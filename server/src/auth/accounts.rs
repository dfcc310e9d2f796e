//! Account changes an administrator makes: a new password, disabling and enabling. Each ends
//! every session of the account at once.

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use uuid::Uuid;

use super::password;
use crate::db;
use crate::db::entity::user;

/// The account called `username`.
pub async fn by_username(db: &impl ConnectionTrait, username: &str) -> anyhow::Result<user::Model> {
    db::users::by_username(db, username)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user `{username}`"))
}

/// Sets a new password for `username` and ends every session the account has.
pub async fn reset_password(
    db: &DatabaseConnection,
    username: &str,
    password_plain: &str,
) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    let account = by_username(&txn, username).await?;
    set_password(&txn, account.id, password_plain).await?;
    txn.commit().await?;
    Ok(())
}

/// Sets `password_plain` as the password of account `id` and ends every session it has; call
/// it inside a transaction. A password too short is refused with [`password::TooShort`].
pub async fn set_password(
    txn: &impl ConnectionTrait,
    id: Uuid,
    password_plain: &str,
) -> anyhow::Result<()> {
    password::long_enough(password_plain)?;
    let hash = password::hash(password_plain)?;
    let now = Utc::now();
    db::users::set_password_hash(txn, id, hash, now).await?;
    db::sessions::revoke_user(txn, id, now).await?;
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
    db::users::set_disabled(txn, id, disabled, now).await?;
    if disabled {
        db::sessions::revoke_user(txn, id, now).await?;
    }
    Ok(())
}
