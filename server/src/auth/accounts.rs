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
    anyhow::ensure!(
        password_plain.chars().count() >= 8,
        "a password needs at least 8 characters"
    );
    let hash = password::hash(password_plain)?;
    let txn = db.begin().await?;
    let account = by_username(&txn, username).await?;
    db::users::set_password_hash(&txn, account.id, hash, Utc::now()).await?;
    db::sessions::revoke_user(&txn, account.id, Utc::now()).await?;
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
    db::users::set_disabled(txn, id, disabled, now).await?;
    if disabled {
        db::sessions::revoke_user(txn, id, now).await?;
    }
    Ok(())
}
