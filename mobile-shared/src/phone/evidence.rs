//! Evidence files on the phone: attaching a file to an attempt or document (copied into the
//! media queue at once), the queue as it stands, and preparing an attempt's files ahead of the
//! sync when a signature must cover them.

use std::path::{Path, PathBuf};

use sync_protocol::cases::Attempt;
use sync_protocol::evidence::Document;
use sync_protocol::media::MediaKind;
use sync_protocol::{AttemptId, DocumentId};

use super::{Phone, PhoneError};
use crate::media::{self, EvidenceOf, MediaState, PrepareError, QueuedMedia};
use crate::store::records;

impl Phone {
    /// Sets the long side photos are scaled down to, instead of the server's media profile.
    pub fn set_photo_long_side(&mut self, pixels: u32) {
        self.photo_long_side = Some(pixels.max(1));
    }

    /// Attaches the file at `path` to an attempt held here, as evidence of `kind`: it is copied
    /// into the phone's directory (so the original may go) and queued, and this returns at once.
    /// The next [`Phone::sync`] prepares it (a photo scaled down to the server's media profile,
    /// keeping its EXIF) and sends it.
    pub fn attach(
        &self,
        attempt_id: AttemptId,
        kind: MediaKind,
        path: &Path,
    ) -> Result<QueuedMedia, PhoneError> {
        self.store
            .read(|conn| records::view::<Attempt>(conn, attempt_id.0))?
            .ok_or(PhoneError::UnknownAttempt(attempt_id))?;
        self.queue_file(EvidenceOf::Attempt(attempt_id), kind, path)
    }

    /// Attaches the file at `path` (a photo or scan of the paper) to a document held here, as
    /// [`Phone::attach`] does to an attempt.
    pub fn attach_to_document(
        &self,
        document_id: DocumentId,
        kind: MediaKind,
        path: &Path,
    ) -> Result<QueuedMedia, PhoneError> {
        self.store
            .read(|conn| records::view::<Document>(conn, document_id.0))?
            .ok_or(PhoneError::UnknownDocument(document_id))?;
        self.queue_file(EvidenceOf::Document(document_id), kind, path)
    }

    /// Copies the file at `path` into the phone's directory and queues it as evidence of `of`.
    fn queue_file(
        &self,
        of: EvidenceOf,
        kind: MediaKind,
        path: &Path,
    ) -> Result<QueuedMedia, PhoneError> {
        let id = uuid::Uuid::now_v7();
        let copy = media::original_path(&self.media_dir(), id);
        let size = std::fs::create_dir_all(self.media_dir())
            .and_then(|()| std::fs::copy(path, &copy))
            .map_err(|source| PrepareError::Io {
                path: path.display().to_string(),
                source,
            })?;
        let file_name = path
            .file_name()
            .map_or_else(|| id.to_string(), |n| n.to_string_lossy().into_owned());
        let entry = QueuedMedia {
            id,
            of,
            kind,
            file_name,
            size,
            sha256: String::new(),
            sent: 0,
            state: MediaState::Queued,
            failure: None,
            prepared: false,
            preview_of: None,
        };
        let now = self.clock.now();
        self.store.write(|tx| media::queue::add(tx, &entry, now))?;
        Ok(entry)
    }

    /// The media queue, oldest first: what is waiting, sent, or refused and why.
    pub fn media_queue(&self) -> Result<Vec<QueuedMedia>, PhoneError> {
        Ok(self.store.read(media::queue::all)?)
    }

    /// Where the queued files are kept.
    pub(super) fn media_dir(&self) -> PathBuf {
        self.dir.join("media")
    }

    /// Prepares the files attached to `attempt_id` and not yet prepared, here and now (offline:
    /// for the server's media profile as last heard), as the sync would before sending them, so
    /// their SHA-256s are known. A file that cannot be prepared is marked refused, as the sync
    /// would mark it.
    pub(super) fn prepare_files_of(&self, attempt_id: AttemptId) -> Result<(), PhoneError> {
        let waiting: Vec<QueuedMedia> = self
            .store
            .read(media::queue::unprepared)?
            .into_iter()
            .filter(|m| m.of == EvidenceOf::Attempt(attempt_id))
            .collect();
        if waiting.is_empty() {
            return Ok(());
        }
        let profile = self
            .store
            .read(|c| media::profile(c, self.photo_long_side))?;
        let dir = self.media_dir();
        for entry in &waiting {
            let outcome = media::prepare_entry(&dir, entry, profile);
            let _failure = media::settle(&self.store, &dir, entry, outcome, self.clock.now())?;
        }
        Ok(())
    }
}
