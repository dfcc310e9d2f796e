//! What a phone call can fail with.

use sync_protocol::sync::RejectCode;
use sync_protocol::{AttemptId, CaseId, DocumentId};

use crate::api::ClientError;
use crate::media::PrepareError;
use crate::outbox::EnqueueError;
use crate::store::StoreError;
use crate::sync::SyncError;

/// What a phone call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    /// Nobody is signed in on this phone.
    #[error("not signed in")]
    NotSignedIn,
    /// The case is not held on this phone.
    #[error("no case {0} on this phone")]
    UnknownCase(CaseId),
    /// The pupil's case held on this phone has not ended: record on it instead of reporting the
    /// absence again.
    #[error("the pupil's case {0} is open on this phone: record on it")]
    CaseOpen(CaseId),
    /// The attempt is not held on this phone.
    #[error("no attempt {0} on this phone")]
    UnknownAttempt(AttemptId),
    /// No signing key is registered for this account on this phone (R21): register one while
    /// online first.
    #[error("no signing key is registered for this account on this phone; register one online")]
    NoSigningKey,
    /// Only the participants of an attempt sign it; the signed-in account is not one (R21).
    #[error("you are not a participant of attempt {0}: only its participants sign it")]
    NotParticipant(AttemptId),
    /// The document is not held on this phone.
    #[error("no document {0} on this phone")]
    UnknownDocument(DocumentId),
    /// The merge rules refuse the change (an illegal status move, an empty edit); nothing was
    /// queued. The reason is the words the server would answer with.
    #[error("{reason}")]
    Refused {
        /// Why, as a code.
        code: RejectCode,
        /// Why, in words.
        reason: String,
    },
    /// Changes made by another account are waiting: signing in as someone else would send them
    /// under the wrong name.
    #[error(
        "{pending} changes by {owner} are not synced yet; sign in as {owner} and sync them first"
    )]
    OtherAccountPending {
        /// The username whose changes wait.
        owner: String,
        /// How many.
        pending: usize,
    },
    /// A call to the server failed.
    #[error(transparent)]
    Api(#[from] ClientError),
    /// A sync stopped.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be prepared for the media queue.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
}

impl From<EnqueueError> for PhoneError {
    fn from(e: EnqueueError) -> Self {
        match e {
            EnqueueError::Refused(r) => Self::Refused {
                code: r.code,
                reason: r.reason,
            },
            EnqueueError::Store(e) => Self::Store(e),
        }
    }
}
