//! What a sync tells the app while it runs, so the app can draw a progress bar. The library
//! itself never prints.

use std::time::Duration;

/// One step of a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// Pushing starts with this many mutations waiting.
    Pushing {
        /// Mutations waiting.
        total: usize,
    },
    /// A batch was answered.
    Pushed {
        /// Mutations answered so far.
        done: usize,
        /// Mutations to push in all (grows if more were queued meanwhile).
        total: usize,
    },
    /// A page of changes was applied.
    Pulled {
        /// Records applied so far in this sync.
        records: usize,
        /// Whether more pages are waiting.
        more: bool,
    },
    /// The server confirmed more of a queued file.
    Uploading {
        /// The file's name.
        file_name: String,
        /// Bytes the server has.
        sent: u64,
        /// Bytes in all.
        size: u64,
    },
    /// A call failed for a passing reason and will be made again.
    Retrying {
        /// Calls failed in a row so far.
        failures: u32,
        /// The wait before the next call.
        delay: Duration,
        /// What went wrong, in words.
        error: String,
    },
}

/// Receives the events of a sync. Any `FnMut(SyncEvent) + Send` closure is one.
pub trait SyncProgress: Send {
    /// Called for each step, in order.
    fn event(&mut self, event: SyncEvent);
}

impl<F: FnMut(SyncEvent) + Send> SyncProgress for F {
    fn event(&mut self, event: SyncEvent) {
        self(event);
    }
}

/// Ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl SyncProgress for NoProgress {
    fn event(&mut self, _event: SyncEvent) {}
}
