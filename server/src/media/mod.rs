//! Media evidence: resumable uploads (tus 1.0.0: creation, creation-with-upload, checksum,
//! termination, expiration) into the object store, linked to an attempt or document of a case;
//! and the profile the phones prepare photos by.

pub mod declaration;
pub mod derive;
pub mod download;
pub mod generated;
pub mod probe;
pub mod profile;
pub mod routes;
pub mod sniff;
pub mod upload_hash;
pub mod uploads;

use std::sync::Arc;
use std::time::Duration;

use sync_protocol::media::MediaProfile;

use crate::config::MediaLimits;
use crate::db::Db;
use crate::instance::Instance;
use crate::storage::Storage;

/// What the media handlers and functions share: the part of the server's state they need, which
/// the server's state hands out by `axum::extract::FromRef`; cheap to clone.
#[derive(Debug, Clone)]
pub struct MediaState {
    /// Database connections.
    pub db: Db,
    /// Media objects.
    pub storage: Storage,
    /// The largest file taken, per kind.
    pub limits: MediaLimits,
    /// How the phones prepare photos before they go up.
    pub profile: MediaProfile,
    /// How long a body may be silent before it counts as cut.
    pub upload_idle: Duration,
    /// The limits of the plausibility flags raised on files as they arrive.
    pub flags: crate::config::Thresholds,
    /// Permits for heavy work (image decoding) run off the async threads, one per core.
    pub heavy: Arc<tokio::sync::Semaphore>,
    /// Background work (thumbnails of finished uploads): one at a time, once uploads pause.
    pub background: Arc<derive::Background>,
    /// This process among the instances on the database (who holds an upload).
    pub instance: Arc<Instance>,
}
