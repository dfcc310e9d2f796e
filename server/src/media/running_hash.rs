//! The SHA-256 of uploads being received, carried from one PATCH to the next in this process, so
//! that a finished upload need not be read back to be hashed. It is only a shortcut: an upload
//! this process did not see from its first byte (after a restart, or on another instance) is read
//! back and hashed at completion instead.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// At most this many uploads are followed at once; beyond, uploads are hashed at completion.
const MAX_FOLLOWED: usize = 10_000;

/// The running hashes of uploads in progress, by upload id.
#[derive(Debug, Default)]
pub struct RunningHashes {
    hashes: Mutex<HashMap<Uuid, (u64, Sha256)>>,
}

impl RunningHashes {
    /// The hash of the first `offset` bytes of `upload`, to continue with the bytes from
    /// `offset` on, if this process saw them all; taken out until [`RunningHashes::keep`].
    pub fn take(&self, upload: Uuid, offset: u64) -> Option<Sha256> {
        let held = self.lock().remove(&upload);
        match held {
            _ if offset == 0 => Some(Sha256::new()),
            Some((upto, hasher)) if upto == offset => Some(hasher),
            _ => None,
        }
    }

    /// Keeps `hasher`, the hash of the first `upto` bytes of `upload`, for its next PATCH.
    pub fn keep(&self, upload: Uuid, upto: u64, hasher: Sha256) {
        let mut hashes = self.lock();
        if hashes.len() < MAX_FOLLOWED {
            hashes.insert(upload, (upto, hasher));
        }
    }

    /// Stops following `upload` (finished, terminated or expired).
    pub fn forget(&self, upload: Uuid) {
        self.lock().remove(&upload);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (u64, Sha256)>> {
        self.hashes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_continues_only_from_the_offset_it_reached() {
        let hashes = RunningHashes::default();
        let upload = Uuid::now_v7();
        let mut first = hashes.take(upload, 0).expect("a new upload starts a hash");
        first.update(b"abc");
        hashes.keep(upload, 3, first);
        assert!(
            hashes.take(upload, 2).is_none(),
            "offset 2 is not where it stood"
        );
        assert!(hashes.take(upload, 3).is_none(), "a failed take forgets it");

        let mut again = hashes
            .take(upload, 0)
            .expect("from 0 there is always a hash");
        again.update(b"abc");
        hashes.keep(upload, 3, again);
        let mut rest = hashes.take(upload, 3).expect("it continues from 3");
        rest.update(b"def");
        assert_eq!(rest.finalize(), Sha256::digest(b"abcdef"));
    }
}
