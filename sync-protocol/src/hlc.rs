//! The hybrid logical clock. A stamp orders by wall-clock milliseconds, then a counter that
//! breaks ties within a millisecond, then the device id, so two stamps from different devices are
//! never equal and every replica orders them the same way.

use serde::{Deserialize, Serialize};

use crate::ids::DeviceId;

/// One HLC stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HlcStamp {
    /// Milliseconds since the Unix epoch, as the clock saw them.
    pub millis: i64,
    /// Tie-breaker within one millisecond.
    pub counter: u32,
    /// The device that made the stamp: the last tie-breaker.
    pub device: DeviceId,
}

/// A device's clock: hands out stamps that always grow, and moves forward past every stamp it
/// observes from others (so an edit made after seeing another always orders after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hlc {
    last_millis: i64,
    last_counter: u32,
    device: DeviceId,
}

impl Hlc {
    /// A clock for `device` that has seen nothing yet.
    pub fn new(device: DeviceId) -> Self {
        Self {
            last_millis: 0,
            last_counter: 0,
            device,
        }
    }

    /// The next stamp, given the physical time now in milliseconds.
    pub fn tick(&mut self, physical_millis: i64) -> HlcStamp {
        if physical_millis > self.last_millis {
            self.last_millis = physical_millis;
            self.last_counter = 0;
        } else {
            self.last_counter = self.last_counter.saturating_add(1);
        }
        HlcStamp {
            millis: self.last_millis,
            counter: self.last_counter,
            device: self.device,
        }
    }

    /// Moves the clock past `remote`, so the next stamp orders after it.
    pub fn observe(&mut self, remote: &HlcStamp) {
        if (remote.millis, remote.counter) > (self.last_millis, self.last_counter) {
            self.last_millis = remote.millis;
            self.last_counter = remote.counter;
        }
    }

    /// The latest stamp handed out or observed, without ticking.
    pub fn peek(&self) -> HlcStamp {
        HlcStamp {
            millis: self.last_millis,
            counter: self.last_counter,
            device: self.device,
        }
    }
}

/// Clamps a stamp from a device whose clock runs ahead: a stamp more than `max_ahead_millis` past
/// `now_millis` is pulled back to `now_millis`. Returns the stamp to use and whether it was clamped.
pub fn clamp(stamp: HlcStamp, now_millis: i64, max_ahead_millis: i64) -> (HlcStamp, bool) {
    if stamp.millis > now_millis.saturating_add(max_ahead_millis) {
        (
            HlcStamp {
                millis: now_millis,
                ..stamp
            },
            true,
        )
    } else {
        (stamp, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_grow_even_when_the_wall_clock_stalls_or_steps_back() {
        let mut clock = Hlc::new(DeviceId::new());
        let a = clock.tick(1_000);
        let b = clock.tick(1_000);
        let c = clock.tick(900);
        assert!(a < b && b < c);
    }

    #[test]
    fn observing_a_later_stamp_moves_the_clock_past_it() {
        let mut mine = Hlc::new(DeviceId::new());
        let theirs = HlcStamp {
            millis: 5_000,
            counter: 3,
            device: DeviceId::new(),
        };
        mine.observe(&theirs);
        let next = mine.tick(1_000);
        assert!((next.millis, next.counter) > (theirs.millis, theirs.counter));
    }

    #[test]
    fn equal_times_are_ordered_by_device() {
        let (d1, d2) = (DeviceId::new(), DeviceId::new());
        let a = HlcStamp {
            millis: 1,
            counter: 0,
            device: d1,
        };
        let b = HlcStamp {
            millis: 1,
            counter: 0,
            device: d2,
        };
        assert_eq!(a < b, d1 < d2);
    }

    #[test]
    fn stamps_far_ahead_are_clamped_and_near_ones_kept() {
        let stamp = HlcStamp {
            millis: 10_000_000,
            counter: 0,
            device: DeviceId::new(),
        };
        assert_eq!(
            clamp(stamp, 1_000, 60_000),
            (
                HlcStamp {
                    millis: 1_000,
                    ..stamp
                },
                true
            )
        );
        assert_eq!(clamp(stamp, 9_999_000, 60_000), (stamp, false));
    }
}
