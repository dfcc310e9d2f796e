//! The upload pace: bytes a second measured on the chunks the server confirmed, and the chunk
//! size that follows from it (a chunk every few seconds: tens of KiB at 64 kbit/s, MiBs on
//! Wi-Fi), so a cut costs seconds of sending, not minutes, and a fast link is not slowed by
//! round trips.

use std::time::Duration;

/// How large upload chunks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPolicy {
    /// The smallest chunk (and the first, before any pace is known).
    pub min: usize,
    /// The largest chunk.
    pub max: usize,
    /// How long a chunk should take at the pace measured.
    pub target: Duration,
}

impl Default for ChunkPolicy {
    /// 16 KiB to 8 MiB (the server's segment), a chunk every 4 s.
    fn default() -> Self {
        Self {
            min: 16 * 1024,
            max: 8 * 1024 * 1024,
            target: Duration::from_secs(4),
        }
    }
}

impl ChunkPolicy {
    /// Chunks of always `bytes`.
    pub fn fixed(bytes: usize) -> Self {
        Self {
            min: bytes,
            max: bytes,
            ..Self::default()
        }
    }
}

/// The pace measured so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Pace {
    bytes_per_sec: Option<f64>,
}

impl Pace {
    /// A pace that starts from one measured before (say, by the last sync).
    pub(crate) fn starting_at(bytes_per_sec: Option<f64>) -> Self {
        Self {
            bytes_per_sec: bytes_per_sec.filter(|b| b.is_finite() && *b > 0.0),
        }
    }

    /// Bytes a second, once measured.
    pub(crate) fn bytes_per_sec(&self) -> Option<f64> {
        self.bytes_per_sec
    }

    /// Takes in that `bytes` went up in `took` (a confirmed chunk, its round trip included).
    /// Recent chunks weigh more, since a link's pace changes as a phone moves.
    pub(crate) fn observe(&mut self, bytes: u64, took: Duration) {
        let seconds = took.as_secs_f64();
        if bytes == 0 || seconds <= 0.0 {
            return;
        }
        let now = bytes as f64 / seconds;
        self.bytes_per_sec = Some(match self.bytes_per_sec {
            Some(before) => 0.5 * before + 0.5 * now,
            None => now,
        });
    }

    /// The next chunk's size: what the pace sends in the policy's target time, within its
    /// bounds, and at most four times the last chunk (a chunk's round trip makes a small one
    /// look slower than the link is; growing step by step finds the link's real pace).
    pub(crate) fn chunk(&self, policy: &ChunkPolicy, last: Option<usize>) -> usize {
        let (min, max) = (policy.min.max(1), policy.max.max(policy.min.max(1)));
        let Some(rate) = self.bytes_per_sec else {
            return min;
        };
        let wanted = (rate * policy.target.as_secs_f64()) as usize;
        let ceiling = last.map_or(max, |l| l.saturating_mul(4));
        wanted.min(ceiling).clamp(min, max)
    }

    /// How long `bytes` take at this pace.
    pub(crate) fn time_for(&self, bytes: u64) -> Option<Duration> {
        self.bytes_per_sec
            .map(|rate| Duration::from_secs_f64(bytes as f64 / rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: usize = 1024;

    #[test]
    fn chunks_follow_the_pace_a_few_seconds_each_within_bounds() {
        let policy = ChunkPolicy::default();
        let mut pace = Pace::default();
        assert_eq!(pace.chunk(&policy, None), 16 * KIB, "first: the smallest");
        // 64 kbit/s: 8,000 bytes a second, so 32,000 bytes for 4 s.
        pace.observe(16_000, Duration::from_secs(2));
        assert_eq!(pace.chunk(&policy, Some(16 * KIB)), 32_000);
        // Wi-Fi: 10 MB/s, so the largest chunk, reached by steps of four.
        let mut wifi = Pace::default();
        wifi.observe(16 * 1024, Duration::from_millis(5));
        assert_eq!(wifi.chunk(&policy, Some(16 * KIB)), 64 * KIB);
        assert_eq!(wifi.chunk(&policy, Some(4 * 1024 * KIB)), 8 * 1024 * KIB);
        assert_eq!(pace.time_for(8_000), Some(Duration::from_secs(1)));
    }

    #[test]
    fn a_fixed_policy_ignores_the_pace() {
        let mut pace = Pace::starting_at(Some(1e9));
        pace.observe(1, Duration::from_secs(100));
        assert_eq!(pace.chunk(&ChunkPolicy::fixed(5000), Some(5000)), 5000);
        assert_eq!(Pace::starting_at(Some(f64::NAN)).bytes_per_sec(), None);
    }
}
