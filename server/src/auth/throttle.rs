//! Slowing repeated failed logins, per account and per client address. Counters live in the
//! database, so every server instance behind a load balancer sees the same ones.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, TransactionTrait,
};

use crate::db::entity::login_throttle;
use crate::error::ApiError;

/// How failures turn into delays for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed before any delay.
    pub free_failures: i32,
    /// Longest delay.
    pub max_delay: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
}

/// Accounts: five tries, then 1 s, 2 s, 4 s … up to 15 minutes.
pub const ACCOUNT: Policy = Policy {
    free_failures: 5,
    max_delay: Duration::minutes(15),
    window: Duration::hours(1),
};

/// Client addresses: a whole school may share one address, so more tries before slowing.
pub const ADDRESS: Policy = Policy {
    free_failures: 30,
    max_delay: Duration::minutes(15),
    window: Duration::hours(1),
};

/// The throttle key of an account.
pub fn account_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
}

/// The throttle key of a client address.
pub fn address_key(addr: std::net::IpAddr) -> String {
    format!("addr:{addr}")
}

/// The delay after `failures` failures under `policy`, if any.
pub fn delay_after(policy: Policy, failures: i32) -> Option<Duration> {
    let over = failures - policy.free_failures;
    if over <= 0 {
        return None;
    }
    // 2^20 s is far past any sensible cap; stopping there keeps the arithmetic in range.
    let doubling = u32::try_from(over - 1).unwrap_or(u32::MAX).min(20);
    Some(Duration::seconds(1i64 << doubling).min(policy.max_delay))
}

/// Refuses with 429 if any of `keys` is blocked now.
pub async fn check(
    db: &impl ConnectionTrait,
    keys: &[String],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    for key in keys {
        let row = login_throttle::Entity::find_by_id(key.clone())
            .one(db)
            .await?;
        if let Some(until) = row
            .and_then(|r| r.blocked_until)
            .filter(|until| *until > now)
        {
            let retry_after_secs = u64::try_from((until - now).num_seconds().max(1)).unwrap_or(1);
            return Err(ApiError::TooManyAttempts { retry_after_secs });
        }
    }
    Ok(())
}

/// Counts one failure against `key`, blocking it for the policy's delay.
pub async fn record_failure(
    db: &DatabaseConnection,
    key: String,
    policy: Policy,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let txn = db.begin().await?;
    let previous = login_throttle::Entity::find_by_id(key.clone())
        .one(&txn)
        .await?;
    let failures = match previous {
        Some(row) if now - row.last_failure_at < policy.window => row.failures + 1,
        _ => 1,
    };
    let row = login_throttle::ActiveModel {
        key: Set(key),
        failures: Set(failures),
        last_failure_at: Set(now),
        blocked_until: Set(delay_after(policy, failures).map(|d| now + d)),
    };
    login_throttle::Entity::insert(row)
        .on_conflict(
            OnConflict::column(login_throttle::Column::Key)
                .update_columns([
                    login_throttle::Column::Failures,
                    login_throttle::Column::LastFailureAt,
                    login_throttle::Column::BlockedUntil,
                ])
                .to_owned(),
        )
        .exec(&txn)
        .await?;
    txn.commit().await
}

/// Forgets the failures of `key` after a successful login.
pub async fn clear(db: &impl ConnectionTrait, key: String) -> Result<(), sea_orm::DbErr> {
    login_throttle::Entity::delete_by_id(key)
        .exec(db)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_the_free_failures_and_double_up_to_the_cap() {
        assert_eq!(delay_after(ACCOUNT, 5), None);
        assert_eq!(delay_after(ACCOUNT, 6), Some(Duration::seconds(1)));
        assert_eq!(delay_after(ACCOUNT, 8), Some(Duration::seconds(4)));
        assert_eq!(delay_after(ACCOUNT, 500), Some(Duration::minutes(15)));
    }
}
