//! Retrying transient failures (no network, a dropped connection, a 5xx) with exponential
//! backoff. Every push and pull is safe to resend, so a retry never doubles a change.

use std::time::Duration;

use reqwest::StatusCode;

use crate::api::ClientError;

use super::RetryCause;

/// How a sync retries a call that failed for a passing reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; each later wait doubles.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
    /// Calls made in all, the first included (1 = never retry).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 200 ms, doubling up to 5 s, for 8 calls in all (about 16 s of waiting).
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: the first failure ends the sync.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before the next call after `failures` calls in a row failed, or `None` when the
    /// budget is spent.
    pub fn delay_after(&self, failures: u32) -> Option<Duration> {
        if failures == 0 || failures >= self.max_attempts {
            return None;
        }
        let doublings = failures.saturating_sub(1).min(31);
        Some(
            self.first_delay
                .saturating_mul(1 << doublings)
                .min(self.max_delay),
        )
    }
}

/// Whether a failed call may succeed if made again unchanged.
pub(crate) fn is_transient(error: &ClientError) -> bool {
    match error {
        ClientError::Transport(e) => !e.is_builder(),
        ClientError::Silent { .. } => true,
        ClientError::Api { status, .. } | ClientError::Unexpected { status, .. } => {
            status.is_server_error()
                || *status == StatusCode::REQUEST_TIMEOUT
                || *status == StatusCode::TOO_MANY_REQUESTS
        }
        ClientError::NotSignedIn => false,
    }
}

/// Why a call that failed for a passing reason is made again, as a field worker reads it.
pub(crate) fn cause(error: &ClientError) -> RetryCause {
    match error {
        ClientError::Silent { .. } => RetryCause::LinkSilent,
        ClientError::Transport(_) | ClientError::NotSignedIn => RetryCause::ConnectionLost,
        ClientError::Api { status, .. } | ClientError::Unexpected { status, .. } => {
            if status.is_server_error() {
                RetryCause::ServerError
            } else {
                RetryCause::ServerBusy
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_and_stop_when_the_budget_is_spent() {
        let policy = RetryPolicy::default();
        let waits: Vec<_> = (1..=8).map(|n| policy.delay_after(n)).collect();
        let ms = |m| Some(Duration::from_millis(m));
        assert_eq!(
            waits,
            vec![
                ms(200),
                ms(400),
                ms(800),
                ms(1600),
                ms(3200),
                ms(5000),
                ms(5000),
                None
            ]
        );
        assert_eq!(RetryPolicy::never().delay_after(1), None);
        let huge = RetryPolicy {
            max_attempts: u32::MAX,
            ..policy
        };
        assert_eq!(huge.delay_after(1_000), ms(5000));
    }

    #[test]
    fn server_errors_are_transient_and_client_errors_are_not() {
        let unexpected = |status| ClientError::Unexpected {
            status,
            body: String::new(),
        };
        assert!(is_transient(&unexpected(StatusCode::BAD_GATEWAY)));
        assert!(is_transient(&unexpected(StatusCode::SERVICE_UNAVAILABLE)));
        assert!(!is_transient(&unexpected(StatusCode::CONFLICT)));
        assert!(!is_transient(&unexpected(StatusCode::BAD_REQUEST)));
        assert!(!is_transient(&ClientError::NotSignedIn));
    }
}
