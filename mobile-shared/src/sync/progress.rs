//! What a sync tells the app while it runs, so the app can draw a progress bar. The library
//! itself never prints; the words a field worker reads come with their stable codes.

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
    /// A queued photo is being prepared (scaled to the server's media profile) before it goes.
    Preparing {
        /// The file's name.
        file_name: String,
    },
    /// A queued file is going up: sent about every half second from the bytes written to the
    /// connection, and when the server confirms a chunk.
    Uploading(UploadProgress),
    /// A sync run until done ([`crate::Phone::sync_until_done`]) could not reach the server and
    /// waits before it tries again; what is left stays on the phone.
    Waiting {
        /// The wait.
        delay: Duration,
        /// What is still to send.
        left: crate::phone::Left,
    },
    /// A call failed for a passing reason and will be made again.
    Retrying {
        /// Calls failed in a row so far.
        failures: u32,
        /// The wait before the next call.
        delay: Duration,
        /// What went wrong, as a stable code with words for the field worker.
        cause: RetryCause,
        /// What went wrong, in the transport's words (for logs).
        error: String,
    },
}

/// Where the upload of the media queue stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadProgress {
    /// The file's name.
    pub file_name: String,
    /// Which file this is (1 for the first of this sync).
    pub file: usize,
    /// Files to send in this sync.
    pub files: usize,
    /// Bytes of this file written to the connection (confirmed ones and those on their way).
    pub sent: u64,
    /// Bytes of this file the server has confirmed.
    pub confirmed: u64,
    /// Bytes of this file.
    pub size: u64,
    /// Bytes of every file of this sync written so far.
    pub total_sent: u64,
    /// Bytes of every file of this sync.
    pub total_size: u64,
    /// Time left at the pace measured, once there is one.
    pub time_left: Option<Duration>,
}

/// Why a call is made again, as a field worker reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryCause {
    /// The connection broke (signal lost, reset on the way).
    ConnectionLost,
    /// Nothing moved on the connection for the silence limit.
    LinkSilent,
    /// The server asked to wait (busy, or still keeping what a cut connection sent).
    ServerBusy,
    /// The server failed (5xx).
    ServerError,
}

impl RetryCause {
    /// The stable code, for tools and logs.
    pub fn code(self) -> &'static str {
        match self {
            Self::ConnectionLost => "connection_lost",
            Self::LinkSilent => "link_silent",
            Self::ServerBusy => "server_busy",
            Self::ServerError => "server_error",
        }
    }

    /// What the field worker reads: what happened, that nothing is lost, what happens next.
    pub fn message_zh(self) -> &'static str {
        match self {
            Self::ConnectionLost => "连接中断，已发送的部分已保存，正在重试",
            Self::LinkSilent => "网络无响应，已发送的部分已保存，正在重试",
            Self::ServerBusy => "服务器忙，已发送的部分已保存，稍后重试",
            Self::ServerError => "服务器暂时出错，已发送的部分已保存，稍后重试",
        }
    }
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
