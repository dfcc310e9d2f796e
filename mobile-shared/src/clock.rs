//! The phone's wall clock: the system time plus an offset, so a test can play a phone whose
//! clock is wrong (years ahead, say). Every HLC tick and local timestamp reads it.

use chrono::{DateTime, TimeDelta, Utc};

/// The system clock shifted by `offset`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Clock {
    /// How far this phone's clock is off the real time.
    pub(crate) offset: TimeDelta,
}

impl Clock {
    /// The time as this phone sees it.
    pub(crate) fn now(self) -> DateTime<Utc> {
        let real = Utc::now();
        real.checked_add_signed(self.offset)
            .unwrap_or(if self.offset < TimeDelta::zero() {
                DateTime::<Utc>::MIN_UTC
            } else {
                DateTime::<Utc>::MAX_UTC
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_moves_the_phone_s_time() {
        let ahead = Clock {
            offset: TimeDelta::days(3 * 365),
        };
        let gap = ahead.now() - Utc::now();
        assert!(gap > TimeDelta::days(3 * 365 - 1) && gap <= TimeDelta::days(3 * 365));
        let far = Clock {
            offset: TimeDelta::MAX,
        };
        assert_eq!(far.now(), DateTime::<Utc>::MAX_UTC);
    }
}
