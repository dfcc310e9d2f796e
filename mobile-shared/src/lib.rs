//! The offline-first core a phone app embeds: a local SQLite store, an outbox of mutations made
//! offline, and a sync engine that pushes them and pulls every change, merging with the same
//! rules as the server. [`Phone`] is the door the app uses; [`Client`] is the typed HTTP client
//! underneath.

pub mod api;
mod apply;
mod clock;
mod drafts;
pub mod media;
mod outbox;
mod phone;
mod store;
pub mod sync;
#[cfg(test)]
mod testing;

pub use api::{Client, ClientError};
pub use drafts::{AttemptDraft, DocumentDraft};
pub use media::{EvidenceOf, MediaFailure, MediaState, QueuedMedia};
pub use outbox::{Pending, Rejected};
pub use phone::{Left, NextStep, Phone, PhoneError};
pub use store::StoreError;
pub use sync::{
    ChunkPolicy, NoProgress, RetryCause, RetryPolicy, SyncError, SyncEvent, SyncOptions,
    SyncProgress, SyncReport, UploadProgress,
};
