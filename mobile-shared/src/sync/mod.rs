//! The sync engine: push every pending mutation (in outbox order, in batches), pull every page
//! of changes until the server has no more, then send the media queue.
//!
//! It is safe to stop at any point and run again: a mutation leaves the outbox only in the
//! transaction that records the server's answer, and the cursor moves only in the transaction
//! that writes the page it ends. Transient failures are retried per [`RetryPolicy`].

mod pace;
mod page;
mod progress;
mod retry;
mod uploads;

use std::time::Duration;

use reqwest::StatusCode;
use sync_protocol::ErrorCode;
use sync_protocol::sync::{Mutation, PROTOCOL_VERSION, PullRequest, PushRequest};

use crate::api::{Client, ClientError};
use crate::clock::Clock;
use crate::outbox;
use crate::store::meta::{self, Key};
use crate::store::{Store, StoreError};

pub use pace::ChunkPolicy;
pub use progress::{NoProgress, RetryCause, SyncEvent, SyncProgress, UploadProgress};
pub use retry::RetryPolicy;

#[cfg(test)]
pub(crate) use page::apply_page;

/// How a sync runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOptions {
    /// Most mutations in one push (the server takes up to 200).
    pub push_batch: usize,
    /// Most records in one pulled page (`None`: the server's default).
    pub pull_limit: Option<u32>,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// How large upload chunks are (a chunk lost to a cut is all that is sent twice).
    pub upload_chunk: ChunkPolicy,
    /// How long a request may go without a byte moving either way before it counts as cut.
    pub silence: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            push_batch: 200,
            pull_limit: None,
            retry: RetryPolicy::default(),
            upload_chunk: ChunkPolicy::default(),
            silence: crate::api::DEFAULT_SILENCE_LIMIT,
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Mutations the server answered.
    pub pushed: usize,
    /// Of those, applied.
    pub applied: usize,
    /// Of those, refused (see [`crate::Phone::rejections`]).
    pub rejected: usize,
    /// Of those applied, how many had their stamp pulled back because this phone's clock ran ahead.
    pub clock_clamped: usize,
    /// Records pulled (changed, added or removed).
    pub pulled: usize,
    /// Of those, conflict records (see [`crate::Phone::conflicts`]).
    pub conflicts: usize,
    /// Files of the media queue the server now has.
    pub uploaded: usize,
    /// Files the server refused (see [`crate::Phone::media_queue`]).
    pub upload_failed: usize,
}

impl SyncReport {
    /// Adds what another run did.
    pub fn absorb(&mut self, other: &SyncReport) {
        self.pushed += other.pushed;
        self.applied += other.applied;
        self.rejected += other.rejected;
        self.clock_clamped += other.clock_clamped;
        self.pulled += other.pulled;
        self.conflicts += other.conflicts;
        self.uploaded += other.uploaded;
        self.upload_failed += other.upload_failed;
    }
}

/// Why a sync stopped. What was done before the failure is kept; running again resumes.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Nobody is signed in on this phone.
    #[error("not signed in")]
    NotSignedIn,
    /// The session ended (expired, revoked, or signed out elsewhere): sign in again.
    #[error("the session has ended; sign in again")]
    SessionExpired(#[source] ClientError),
    /// The server no longer speaks this app's protocol: the app must be updated.
    #[error("this app is too old for the server; update it")]
    ClientTooOld(#[source] ClientError),
    /// The server saw a mutation id again with a different body. This is a bug in the app; the
    /// outbox is left as it is for someone to look at, and the sync is not retried.
    #[error("a mutation id was reused with a different body (an app bug); sync stopped")]
    MutationIdReused(#[source] ClientError),
    /// The server stayed unreachable or failing through every retry.
    #[error("the server could not be reached after {attempts} attempts")]
    Unreachable {
        /// Calls made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: ClientError,
    },
    /// The server refused the request.
    #[error("the server refused the sync request")]
    Refused(#[source] ClientError),
    /// The server's answer breaks the protocol.
    #[error("the server's answer breaks the sync protocol: {0}")]
    Protocol(String),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// Whether the sync stopped for a passing reason (the link or the server), so that running
    /// it again later will go on from where it stopped.
    pub fn is_passing(&self) -> bool {
        matches!(self, Self::Unreachable { .. })
    }

    /// Sorts out a failure that retrying will not mend.
    fn from_client(error: ClientError) -> Self {
        let code = error.code();
        let status = error.status();
        if matches!(error, ClientError::NotSignedIn) {
            Self::NotSignedIn
        } else if code == Some(ErrorCode::MutationIdReused) || status == Some(StatusCode::CONFLICT)
        {
            Self::MutationIdReused(error)
        } else if code == Some(ErrorCode::ClientTooOld)
            || status == Some(StatusCode::UPGRADE_REQUIRED)
        {
            Self::ClientTooOld(error)
        } else if status == Some(StatusCode::UNAUTHORIZED)
            || code == Some(ErrorCode::InvalidRefreshToken)
        {
            Self::SessionExpired(error)
        } else {
            Self::Refused(error)
        }
    }
}

/// One run of the engine over a signed-in client and the store.
pub(crate) struct Engine<'a> {
    /// The signed-in client.
    pub(crate) client: &'a mut Client,
    /// The store.
    pub(crate) store: &'a Store,
    /// How to run.
    pub(crate) options: &'a SyncOptions,
    /// The phone's clock.
    pub(crate) clock: Clock,
    /// Where events go.
    pub(crate) progress: &'a mut dyn SyncProgress,
}

impl Engine<'_> {
    /// Decides what a failed call leads to: a wait before calling again, or the end of the sync.
    fn after_failure(
        &mut self,
        failures: &mut u32,
        error: ClientError,
    ) -> Result<Duration, SyncError> {
        if !retry::is_transient(&error) {
            *failures += 1;
            return Err(SyncError::from_client(error));
        }
        self.retry_delay(failures, error)
    }

    /// The wait before a failed call is made again, or the end of the sync when the retry
    /// budget is spent (the budget counts failures in a row: any progress renews it).
    fn retry_delay(
        &mut self,
        failures: &mut u32,
        error: ClientError,
    ) -> Result<Duration, SyncError> {
        *failures += 1;
        match self.options.retry.delay_after(*failures) {
            Some(delay) => {
                self.progress.event(SyncEvent::Retrying {
                    failures: *failures,
                    delay,
                    cause: retry::cause(&error),
                    error: error.to_string(),
                });
                Ok(delay)
            }
            None => Err(SyncError::Unreachable {
                attempts: *failures,
                source: error,
            }),
        }
    }

    /// Pushes every pending mutation, oldest first, and records the answers.
    pub(crate) async fn push_all(&mut self, report: &mut SyncReport) -> Result<(), SyncError> {
        let mut total = self.store.read(outbox::count)?;
        self.progress.event(SyncEvent::Pushing { total });
        let batch_size = self.options.push_batch.max(1);
        let mut done = 0;
        let mut applied_unpulled: Vec<Mutation> = Vec::new();
        loop {
            let batch = self
                .store
                .read(|conn| outbox::pending(conn, Some(batch_size)))?;
            if batch.is_empty() {
                return Ok(());
            }
            let request = PushRequest {
                protocol_version: PROTOCOL_VERSION,
                mutations: batch.into_iter().map(|p| p.mutation).collect(),
            };
            let mut failures = 0;
            let response = loop {
                match self.client.push(&request).await {
                    Ok(response) => break response,
                    Err(e) => {
                        let delay = self.after_failure(&mut failures, e)?;
                        tokio::time::sleep(delay).await;
                    }
                }
            };
            let answered = response.results.len() == request.mutations.len()
                && response
                    .results
                    .iter()
                    .zip(&request.mutations)
                    .all(|(r, m)| r.mutation_id == m.id);
            if !answered {
                return Err(SyncError::Protocol(format!(
                    "{} results for {} mutations, or not in their order",
                    response.results.len(),
                    request.mutations.len()
                )));
            }
            let now = self.clock.now();
            let session = self.client.session();
            let acknowledged = self.store.write(|tx| {
                let acknowledged = outbox::acknowledge(
                    tx,
                    &request.mutations,
                    &response.results,
                    &mut applied_unpulled,
                    now,
                )?;
                meta::observe(tx, [&response.server_hlc])?;
                meta::save_session(tx, session)?;
                Ok::<_, StoreError>(acknowledged)
            })?;
            report.pushed += request.mutations.len();
            report.applied += acknowledged.applied;
            report.rejected += acknowledged.rejected;
            report.clock_clamped += acknowledged.clock_clamped;
            done += request.mutations.len();
            total = total.max(done);
            self.progress.event(SyncEvent::Pushed { done, total });
        }
    }

    /// Pulls and applies pages until the server has no more.
    pub(crate) async fn pull_all(&mut self, report: &mut SyncReport) -> Result<(), SyncError> {
        loop {
            let cursor: Option<String> = self.store.read(|conn| meta::get(conn, Key::Cursor))?;
            let request = PullRequest {
                protocol_version: PROTOCOL_VERSION,
                cursor,
                limit: self.options.pull_limit,
            };
            let mut failures = 0;
            let page = loop {
                match self.client.pull(&request).await {
                    Ok(page) => break page,
                    Err(e) => {
                        let delay = self.after_failure(&mut failures, e)?;
                        tokio::time::sleep(delay).await;
                    }
                }
            };
            let session = self.client.session();
            let applied = self.store.write(|tx| {
                let applied = page::apply_page(tx, &page)?;
                meta::save_session(tx, session)?;
                Ok::<_, StoreError>(applied)
            })?;
            report.pulled += applied.records;
            report.conflicts += applied.conflicts;
            self.progress.event(SyncEvent::Pulled {
                records: report.pulled,
                more: page.more,
            });
            if !page.more {
                return Ok(());
            }
            if page.records.is_empty() && request.cursor.as_deref() == Some(page.cursor.as_str()) {
                return Err(SyncError::Protocol(
                    "more pages announced, but the cursor did not move".into(),
                ));
            }
        }
    }
}
