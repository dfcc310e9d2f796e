//! Queries on the login throttle's counters (`login_throttle`), one row per key.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QuerySelect,
};

use crate::db::entity::login_throttle;

/// The counter of `key`, made if missing, locked to the end of the transaction (on SQLite, the
/// one writer connection serialises these transactions).
pub async fn locked(
    txn: &DatabaseTransaction,
    key: &str,
    now: DateTime<Utc>,
) -> Result<login_throttle::Model, DbErr> {
    login_throttle::Entity::insert(login_throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(0),
        last_failure_at: Set(now),
        blocked_until: Set(None),
    })
    .on_conflict_do_nothing_on([login_throttle::Column::Key])
    .exec(txn)
    .await?;
    login_throttle::Entity::find_by_id(key.to_owned())
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("login_throttle {key}")))
}

/// Writes the count of `key`: `failures`, the last at `at`, blocked until `blocked_until`.
pub async fn store(
    txn: &DatabaseTransaction,
    key: &str,
    failures: i32,
    at: DateTime<Utc>,
    blocked_until: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    login_throttle::Entity::update(login_throttle::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(failures),
        last_failure_at: Set(at),
        blocked_until: Set(blocked_until),
    })
    .exec(txn)
    .await
    .map(|_| ())
}

/// Forgets the counter of `key`.
pub async fn clear(db: &impl ConnectionTrait, key: &str) -> Result<(), DbErr> {
    login_throttle::Entity::delete_by_id(key.to_owned())
        .exec(db)
        .await
        .map(|_| ())
}
