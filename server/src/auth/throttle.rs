//! Slowing repeated failed logins: per account and per client address for devices the account
//! has not used, per device for those it has. Counters live in the database, so every server
//! instance behind a load balancer sees the same ones.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};

use crate::db::throttle::{clear, locked};
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

/// The throttle key of an account, for sign-ins from devices it has not used before.
pub fn account_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
}

/// The throttle key of a client address, for sign-ins from devices unknown to the account.
pub fn address_key(addr: std::net::IpAddr) -> String {
    format!("addr:{addr}")
}

/// The throttle key of a device the account has signed in on before: its own counter, so that
/// failures from elsewhere never lock the user out of their own phone.
pub fn device_key(user: uuid::Uuid, device: uuid::Uuid) -> String {
    format!("device:{user}:{device}")
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

/// Admits one sign-in attempt under every key of `keys`, or refuses with 429 if one is blocked.
///
/// The attempt is counted as a failure before its password is checked, in one transaction with
/// the row of each key locked, so a burst of parallel attempts cannot all be checked: once the
/// free tries are taken, the rest wait. A success gives the count back ([`succeeded`]).
pub async fn admit(
    db: &DatabaseConnection,
    keys: &[(String, Policy)],
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let txn = db.begin().await?;
    for (key, policy) in keys {
        let row = locked(&txn, key, now).await?;
        if let Some(until) = row.blocked_until.filter(|until| *until > now) {
            // Nothing is counted for an attempt that is not checked.
            txn.rollback().await?;
            let retry_after_secs = u64::try_from((until - now).num_seconds().max(1)).unwrap_or(1);
            return Err(ApiError::TooManyAttempts { retry_after_secs });
        }
        let failures = if now - row.last_failure_at < policy.window {
            row.failures + 1
        } else {
            1
        };
        store(&txn, key, failures, now, delay_after(*policy, failures)).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Gives back what [`admit`] counted for a sign-in that succeeded: the first key (the account's
/// or the device's) is cleared, the others (the shared address) get their one count back.
pub async fn succeeded(
    db: &DatabaseConnection,
    keys: &[(String, Policy)],
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let txn = db.begin().await?;
    for (n, (key, policy)) in keys.iter().enumerate() {
        if n == 0 {
            clear(&txn, key).await?;
            continue;
        }
        let row = locked(&txn, key, now).await?;
        let failures = (row.failures - 1).max(0);
        let delay = delay_after(*policy, failures);
        store(&txn, key, failures, row.last_failure_at, delay).await?;
    }
    txn.commit().await
}

/// Writes the count of `key`, blocked for `delay` from `at`.
async fn store(
    txn: &sea_orm::DatabaseTransaction,
    key: &str,
    failures: i32,
    at: DateTime<Utc>,
    delay: Option<Duration>,
) -> Result<(), sea_orm::DbErr> {
    crate::db::throttle::store(txn, key, failures, at, delay.map(|d| at + d)).await
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
